"""RFC 4303 ESP framing: SPI, sequence number, padding, trailer.

Rule: the wire carries SPI (4), the low 32 bits of the sequence number (4),
then the transform's IV, ciphertext and ICV (§2). Padding is the default
1, 2, 3, ... so that payload+pad+2 is a multiple of lcm(block, 4) (§2.4); the
receiver checks pad length and pad bytes (§3.4.4.1). With ESN the high 32
bits feed integrity only (§2.2.1). No state here: sequence numbers and
windows belong to ``sa.py``/``replay.py``.
"""
from __future__ import annotations

import struct
from math import lcm

from .errors import DummyPacket, MalformedPacket, PaddingError
from .transforms import Transform

ESP_HEADER = struct.Struct("!II")
_U32 = struct.Struct("!I")
_PAD = bytes(range(1, 256))
NEXT_HEADER_NONE = 59  # RFC 4303 §2.6: dummy packet
MIN_SPI = 256  # RFC 4303 §2.1: 1..255 IANA-reserved, 0 never sent


def esn_high(seq64: int, esn: bool) -> bytes:
    """Bytes of the ESN high half that enter integrity (empty without ESN)."""
    return _U32.pack(seq64 >> 32) if esn else b""


def seal(transform: Transform, spi: int, seq64: int, esn: bool, iv: bytes,
         payload: bytes, next_header: int) -> bytes:
    """Build one ESP packet (from the SPI to the ICV)."""
    padlen = -(len(payload) + 2) % lcm(transform.block, 4)
    plaintext = payload + _PAD[:padlen] + bytes((padlen, next_header))
    header = ESP_HEADER.pack(spi, seq64 & 0xFFFFFFFF)
    return header + transform.seal(header, esn_high(seq64, esn), iv, plaintext)


def parse_header(packet: bytes) -> tuple[int, int]:
    """(spi, low 32 bits of the sequence number); length-checked."""
    if len(packet) < 8:
        raise MalformedPacket("ESP header truncated")
    return ESP_HEADER.unpack_from(packet)


def open_(transform: Transform, packet: bytes, seq64: int, esn: bool) -> tuple[bytes, int]:
    """Check integrity, decrypt and strip the trailer -> (payload, next header)."""
    return strip_trailer(transform.open(packet, esn_high(seq64, esn)))


def strip_trailer(plaintext: bytes) -> tuple[bytes, int]:
    """Check pad length and pad bytes, drop dummies -> (payload, next header)."""
    if len(plaintext) < 2:
        raise PaddingError("no room for pad length and next header")
    padlen = plaintext[-2]
    next_header = plaintext[-1]
    end = len(plaintext) - 2 - padlen
    if end < 0:
        raise PaddingError("pad length exceeds the payload")
    # RFC 4303 §2.4: default pad content is 1, 2, 3, ...; SHOULD be checked
    if plaintext[end:-2] != _PAD[:padlen]:
        raise PaddingError("pad bytes are not 1, 2, 3, ...")
    if next_header == NEXT_HEADER_NONE:
        raise DummyPacket("next header 59")
    return plaintext[:end], next_header
