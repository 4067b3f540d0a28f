"""The P4 program's wire constants (p4src/include/define.p4) agree with the
codec's IntEnums/constants and with the bytes our encoder produces."""
from __future__ import annotations

import re
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from p4mobility.mh import (
    DSMIPV6_UDP_PORT,
    IPPROTO_MH,
    HomeAddressOption,
    encode_destination_options_header,
)
from p4mobility.mh.constants import TYPE2_ROUTING_TYPE

DEFINE = Path(__file__).resolve().parents[2] / "p4src" / "include" / "define.p4"


def _const(name: str) -> int:
    if not DEFINE.exists():
        pytest.skip(f"{DEFINE} not present")
    m = re.search(rf"const\s+bit<\d+>\s+{name}\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*;", DEFINE.read_text())
    if m is None:
        pytest.skip(f"{name} not defined in define.p4")
    return int(m.group(1), 0)


def test_rfc6275_6_1_proto_mh():
    assert _const("PROTO_MH") == IPPROTO_MH == 135


def test_rfc5555_udp_port():
    assert _const("DSMIPV6_UDP_PORT") == DSMIPV6_UDP_PORT


def test_rfc6275_6_4_routing_type_2():
    assert _const("IPV6_ROUTING_TYPE_2") == TYPE2_ROUTING_TYPE


def test_rfc6275_6_3_hao_layout_matches_our_destination_options_header():
    layout = _const("HAO_LAYOUT").to_bytes(6, "big")
    hdr = encode_destination_options_header(135, [HomeAddressOption(IPv6Address("2001:db8::1"))])
    assert hdr[2:8] == layout  # PadN(2), then type 201 length 16 at offset 6
