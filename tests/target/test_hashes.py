"""Hash algorithms against independent references (catalogue check values,
zlib, scapy's RFC 1071 checksum)."""

from __future__ import annotations

import zlib

from hypothesis import given, settings, strategies as st
from scapy.utils import checksum

from p4mob_switch import hashes


def crc16_arc_bitwise(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc_catalogue_check_values() -> None:
    # reveng CRC catalogue "check" = CRC of b"123456789"
    assert hashes.crc16(b"123456789") == 0xBB3D      # CRC-16/ARC
    assert hashes.crc32(b"123456789") == 0xCBF43926  # CRC-32/ISO-HDLC
    assert hashes.crc_ccitt(b"123456789") == 0x29B1  # CRC-16/IBM-3740 (CCITT-FALSE)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64))
def test_algorithms_match_references(data: bytes) -> None:
    assert hashes.crc16(data) == crc16_arc_bitwise(data)
    assert hashes.crc32(data) == zlib.crc32(data)
    assert hashes.csum16(data) == checksum(data)
    assert hashes.identity(data) == int.from_bytes(data[:8], "big")
