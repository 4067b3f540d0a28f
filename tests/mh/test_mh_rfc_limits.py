"""Values the wire format can carry but the RFCs bound, decided once for decode,
encode and the JSON form (docs/mh-json.md "Value limits"); issue 14's new-user finds.

- HNP (RFC 5213 §8.3) / MNP (RFC 3963 §4.3) Prefix Length: an IPv6 prefix length,
  0..128. More is a malformed option: decode raises MhOptionError (the message is
  silently discarded, as for an option of a wrong length), encode and JSON refuse.
- Binding Error Status (RFC 6275 §6.1.9): 1 and 2 are "currently defined"; any other
  value 0..255 decodes and re-encodes as a number (no status_name); > 255 is refused.
- MN Identifier (RFC 4283 §3): Length 1 (Subtype, empty identifier) is valid: RFC
  5213 §5.3.1 puts it in a PBA with status 160; Length 0 (no Subtype) is malformed.
"""
from __future__ import annotations

import json
import subprocess
import sys
from ipaddress import IPv4Address, IPv6Address

import pytest

from p4mobility.mh import (
    BindingError,
    BindingUpdate,
    HomeNetworkPrefix,
    Ipv4AddressAcknowledgement,
    Ipv4HomeAddress,
    Ipv4HomeAddressReply,
    Ipv4HomeAddressRequest,
    MhEncodeError,
    MhJsonError,
    MhOptionError,
    MnIdentifier,
    MobileNetworkPrefix,
    decode_mh,
    encode_mh,
    message_from_json,
    message_to_json,
)

ISSUE_HEX = "3b030500000000018200000a161200c820010db8000000000000000000000001"  # HNP /200


def _with_option(type_code: int, data: bytes) -> bytes:
    """A BU (seq 1, lifetime 0x0a) whose options are PadN(2) + one option, by hand."""
    opt = bytes((type_code, len(data))) + data
    body = bytes.fromhex("0001" "8200" "000a") + b"\x01\x00" + opt
    body += bytes(-(6 + len(body)) % 8)
    return bytes((59, (6 + len(body)) // 8 - 1, 5, 0, 0, 0)) + body


@pytest.mark.parametrize("cls_code", [22, 6])
@pytest.mark.parametrize("plen", [129, 200, 255])
def test_prefix_length_over_128_is_a_malformed_option(cls_code, plen):
    wire = _with_option(cls_code, bytes((0, plen)) + IPv6Address("2001:db8::1").packed)
    with pytest.raises(MhOptionError, match="Prefix Length"):
        decode_mh(wire)


def test_the_issue_example_is_refused_by_decode():
    with pytest.raises(MhOptionError, match="Prefix Length 200"):
        decode_mh(bytes.fromhex(ISSUE_HEX))


@pytest.mark.parametrize("cls", [HomeNetworkPrefix, MobileNetworkPrefix])
@pytest.mark.parametrize("plen", [129, 200, 255, -1])
def test_prefix_length_over_128_is_refused_by_encode_and_json(cls, plen):
    with pytest.raises(MhEncodeError, match="0..128"):
        encode_mh(BindingUpdate(1, 1, options=(cls(plen, IPv6Address("2001:db8::")),)))
    name = "home_network_prefix" if cls is HomeNetworkPrefix else "mobile_network_prefix"
    doc = {"type": "binding_update", "sequence": 1, "lifetime_seconds": 4,
           "options": [{"type": name, "prefix": f"2001:db8::1/{plen}"}]}
    with pytest.raises(MhJsonError, match="prefix length"):
        message_from_json(doc)


@pytest.mark.parametrize("plen", [0, 64, 128])
def test_prefix_lengths_0_to_128_round_trip(plen):
    m = BindingUpdate(1, 1, options=(HomeNetworkPrefix(plen, IPv6Address("2001:db8::")),
                                     MobileNetworkPrefix(plen, IPv6Address("2001:db8:1::"))))
    assert decode_mh(encode_mh(m)) == m
    assert message_from_json(message_to_json(m)) == m


@pytest.mark.parametrize("status", [0, 1, 2, 9, 255])
def test_binding_error_status_is_kept_as_a_number(status):
    m = BindingError(status, IPv6Address("2001:db8:1::100"))
    assert decode_mh(encode_mh(m)) == m
    j = message_to_json(m)
    assert j["status"] == status and ("status_name" in j) == (status in (1, 2))
    assert message_from_json(j) == m


@pytest.mark.parametrize("status", [256, -1])
def test_binding_error_status_outside_8_bits_is_refused_by_encode(status):
    with pytest.raises(MhEncodeError):
        encode_mh(message_from_json({"type": "binding_error", "status": status, "home_address": "2001:db8::1"}))


def test_mn_identifier_with_only_a_subtype_decodes_and_round_trips():
    wire = _with_option(8, b"\x01")
    m = decode_mh(wire)
    assert m.option(MnIdentifier) == MnIdentifier(b"", 1)
    assert decode_mh(encode_mh(m)) == m
    j = message_to_json(m)
    assert j["options"][0]["identifier_hex"] == ""
    assert message_from_json(j) == m


def test_mn_identifier_of_length_zero_is_malformed():
    with pytest.raises(MhOptionError, match="no Subtype"):
        decode_mh(_with_option(8, b""))


def test_cli_decode_refuses_the_issue_example_and_encode_refuses_it_back():
    dec = subprocess.run([sys.executable, "-m", "p4mobility.cli", "mh", "decode", ISSUE_HEX],
                         capture_output=True, text=True, timeout=60)
    assert dec.returncode == 1 and json.loads(dec.stdout)["error"] == "MhOptionError"
    doc = {"type": "binding_update", "sequence": 1, "lifetime_seconds": 40,
           "options": [{"type": "home_network_prefix", "prefix": "2001:db8::1/200"}]}
    enc = subprocess.run([sys.executable, "-m", "p4mobility.cli", "mh", "encode"], input=json.dumps(doc),
                         capture_output=True, text=True, timeout=60)
    assert enc.returncode == 2 and "prefix length" in enc.stderr


# IPv4 prefix lengths in the 6-bit Prefix-len of RFC 5555 §3.1.1 / §3.2.1 and RFC 5844 §3.1 / §3.2:
# 0..32 (32: a single address); 33..63 fit the field but are no IPv4 prefix length.
V4_PREFIX_OPTIONS = [
    pytest.param(lambda n: Ipv4HomeAddress(n, False, IPv4Address("192.0.2.7")), 0, id="ipv4_home_address"),
    pytest.param(lambda n: Ipv4AddressAcknowledgement(0, n, IPv4Address("192.0.2.7")), 1, id="ipv4_address_ack"),
    pytest.param(lambda n: Ipv4HomeAddressRequest(n, IPv4Address("192.0.2.7")), 0, id="ipv4_hoa_request"),
    pytest.param(lambda n: Ipv4HomeAddressReply(0, n, IPv4Address("192.0.2.7")), 1, id="ipv4_hoa_reply"),
]


def _patched_prefix_len(opt, byte: int, plen: int) -> bytes:
    """The BU carrying ``opt`` with its Prefix-len (the top 6 bits of data byte ``byte``) set to
    ``plen`` on the wire, past the encoder's own check; the MH checksum is not verified here."""
    wire = bytearray(encode_mh(BindingUpdate(1, 1, options=(opt,))))
    at = wire.index(bytes((opt.type_code, 6)), 12) + 2 + byte
    wire[at] = (plen << 2) | (wire[at] & 0x03)
    return bytes(wire)


@pytest.mark.parametrize("make,byte", V4_PREFIX_OPTIONS)
@pytest.mark.parametrize("plen", [33, 40, 63])
def test_ipv4_prefix_length_over_32_is_malformed_and_refused(make, byte, plen):
    with pytest.raises(MhOptionError, match=f"Prefix Length {plen} > 32"):
        decode_mh(_patched_prefix_len(make(32), byte, plen))
    with pytest.raises(MhEncodeError, match="0..32"):
        encode_mh(BindingUpdate(1, 1, options=(make(plen),)))


@pytest.mark.parametrize("make,byte", V4_PREFIX_OPTIONS)
@pytest.mark.parametrize("plen", [0, 24, 32])
def test_ipv4_prefix_lengths_0_to_32_round_trip(make, byte, plen):
    m = BindingUpdate(1, 1, options=(make(plen),))
    assert decode_mh(encode_mh(m)) == m
    assert decode_mh(_patched_prefix_len(make(32), byte, plen)).options[-1].prefix_length == plen
    assert message_from_json(message_to_json(m)) == m
