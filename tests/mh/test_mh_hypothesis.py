"""Property tests: every valid message round-trips through bytes and JSON;
every byte string (random or a mutated valid encoding) either decodes or
raises MhDecodeError; the pcap/packet/JSON readers fail only with their own
error types."""
from __future__ import annotations

import io
import json
from ipaddress import IPv4Address, IPv6Address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p4mobility.mh import (
    OPTION_CLASSES,
    AccessTechnologyTypeOption,
    AlternateCareofAddress,
    BindingAck,
    BindingAuthorizationData,
    BindingError,
    BindingIdentifier,
    BindingRefreshAdvice,
    BindingRefreshRequest,
    BindingUpdate,
    CareofTest,
    CareofTestInit,
    GreKey,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    HomeTest,
    HomeTestInit,
    Ipv4AddressAcknowledgement,
    Ipv4CareofAddress,
    Ipv4DefaultRouterAddress,
    Ipv4HomeAddress,
    Ipv4HomeAddressReply,
    Ipv4HomeAddressRequest,
    LinkLocalAddress,
    MhDecodeError,
    MhJsonError,
    MnIdentifier,
    MnLinkLayerIdentifier,
    MobileNetworkPrefix,
    NatDetection,
    NonceIndices,
    Timestamp,
    Type2RoutingHeader,
    UnknownOption,
    decode_destination_options_header,
    decode_mh,
    encode_mh,
    message_from_json,
    message_to_json,
)
from p4mobility.mh.extract import PacketError, find_in_frame
from p4mobility.mh.pcap import PcapError, read_frames

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
plen6 = st.integers(0, 128)  # an IPv6 prefix length (tests/mh/test_mh_rfc_limits.py)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
v4plen = st.integers(0, 32)  # an IPv4 prefix length in the 6-bit Prefix-len (RFC 5555 §3.1.1)
v6 = st.integers(0, 2**128 - 1).map(IPv6Address)
v4 = st.integers(0, 2**32 - 1).map(IPv4Address)
blob = st.binary(max_size=40)
cookie = st.binary(min_size=8, max_size=8)
unknown_types = st.integers(2, 255).filter(lambda t: t not in OPTION_CLASSES)

options = st.one_of(
    st.builds(BindingRefreshAdvice, u16),
    st.builds(AlternateCareofAddress, v6),
    st.builds(NonceIndices, u16, u16),
    st.builds(BindingAuthorizationData, blob),
    st.builds(MobileNetworkPrefix, plen6, v6),
    st.builds(HomeNetworkPrefix, plen6, v6),
    st.builds(MnIdentifier, st.binary(max_size=64), u8),
    st.builds(MnIdentifier, st.text(min_size=1, max_size=30).map(lambda s: s.encode())),
    st.builds(HandoffIndicatorOption, u8),
    st.builds(AccessTechnologyTypeOption, u8),
    st.builds(MnLinkLayerIdentifier, st.binary(max_size=20)),
    st.builds(LinkLocalAddress, v6),
    st.builds(Timestamp, st.integers(0, 2**64 - 1)),
    st.builds(Ipv4HomeAddress, v4plen, st.booleans(), v4),
    st.builds(Ipv4AddressAcknowledgement, u8, v4plen, v4),
    st.builds(NatDetection, st.booleans(), u32),
    st.builds(Ipv4CareofAddress, v4),
    st.builds(GreKey, st.none() | u32),
    st.builds(BindingIdentifier, u16, u8, st.booleans(), st.booleans(), st.none() | v4 | v6),
    st.builds(Ipv4HomeAddressRequest, v4plen, v4),
    st.builds(Ipv4HomeAddressReply, u8, v4plen, v4),
    st.builds(Ipv4DefaultRouterAddress, v4),
    st.builds(UnknownOption, unknown_types, blob),
)
opts = st.lists(options, max_size=8).map(tuple)
b = st.booleans()

messages = st.one_of(
    st.builds(BindingRefreshRequest, opts),
    st.builds(HomeTestInit, cookie, opts),
    st.builds(CareofTestInit, cookie, opts),
    st.builds(HomeTest, u16, cookie, cookie, opts),
    st.builds(CareofTest, u16, cookie, cookie, opts),
    st.builds(BindingUpdate, u16, u16, b, b, b, b, b, b, b, b, opts, b, b, st.integers(0, 0x3F)),
    st.builds(BindingAck, u8, u16, u16, b, b, b, opts, b, b, st.integers(0, 7)),
    st.builds(BindingError, u8, v6, opts),
)


@SETTINGS
@given(messages, v6, v6)
def test_rfc6275_round_trip_bytes(msg, src, dst):
    wire = encode_mh(msg, src, dst)
    assert len(wire) % 8 == 0 and wire[1] == len(wire) // 8 - 1
    assert decode_mh(wire, src, dst) == msg


@SETTINGS
@given(messages)
def test_round_trip_json(msg):
    doc = json.loads(json.dumps(message_to_json(msg)))
    assert message_from_json(doc) == msg


def _decode_only_mh_errors(data: bytes, src=None, dst=None, verify=True) -> None:
    try:
        decode_mh(data, src, dst, verify_checksum=verify)
    except MhDecodeError:
        pass


@SETTINGS
@given(st.binary(max_size=300), st.none() | v6)
def test_rfc6275_9_2_random_bytes_only_mh_decode_error(data, addr):
    _decode_only_mh_errors(data, addr, addr)
    if len(data) >= 8:  # make the header plausible so the option walk is reached
        fixed = bytes([59, len(data) // 8 - 1]) + bytes([data[2] % 8]) + data[3:]
        _decode_only_mh_errors(fixed[: (len(data) // 8) * 8], verify=False)


@st.composite
def mutated(draw):
    wire = bytearray(encode_mh(draw(messages)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "grow", "hlen"]))
        if kind == "flip" and wire:
            i = draw(st.integers(0, len(wire) - 1))
            wire[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and wire:
            wire[draw(st.integers(0, len(wire) - 1))] = draw(u8)
        elif kind == "cut":
            del wire[draw(st.integers(0, len(wire))):]
        elif kind == "grow":
            wire += draw(st.binary(min_size=1, max_size=16))
        elif kind == "hlen" and len(wire) > 1:
            wire[1] = draw(u8)
    return bytes(wire)


@SETTINGS
@given(mutated())
def test_rfc6275_9_2_mutated_encodings_only_mh_decode_error(data):
    _decode_only_mh_errors(data, verify=False)


@SETTINGS
@given(st.binary(max_size=80))
def test_extension_header_decoders_only_mh_decode_error(data):
    for fn in (decode_destination_options_header, Type2RoutingHeader.decode):
        try:
            fn(data)
        except MhDecodeError:
            pass


@SETTINGS
@given(st.binary(max_size=200), st.sampled_from([0, 1, 101, 113, 228, 229, 276, 147]))
def test_packet_walker_only_its_errors(data, linktype):
    for prefix in (b"", b"\x60", b"\x45"):
        try:
            find_in_frame(prefix + data, linktype)
        except (PacketError, MhDecodeError):
            pass


@SETTINGS
@given(st.sampled_from([b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a", b""]), st.binary(max_size=200))
def test_pcap_reader_only_pcap_error(magic, data):
    try:
        for _ in read_frames(io.BytesIO(magic + data)):
            pass
    except PcapError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


from p4mobility.mh.jsonfmt import OPTION_NAMES  # noqa: E402

option_docs = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(OPTION_NAMES.values())) | json_values},
    optional={k: json_values | st.sampled_from(["2001:db8::/64", "10.0.0.1", "ab", "1::", "NAI"])
              for k in ("prefix", "identifier", "identifier_hex", "value", "seconds", "address", "coa",
                        "bid", "status", "h", "key", "prefix_length", "p", "data", "type_code",
                        "refresh_interval_seconds", "refresh_time", "udp_encapsulation_required", "zz")},
)


@SETTINGS
@given(st.sampled_from(["binding_update", "binding_ack", "binding_error"]), st.lists(option_docs, max_size=3))
def test_json_options_reader_only_json_error(kind, opts):
    try:
        message_from_json({"type": kind, "sequence": 1, "lifetime_seconds": 4, "status": 0,
                           "home_address": "::", "options": opts})
    except MhJsonError:
        pass


@SETTINGS
@given(st.sampled_from(["binding_update", "binding_ack", "binding_error", "home_test", "nope"]) | json_values,
       st.dictionaries(st.sampled_from(["sequence", "lifetime_seconds", "status", "flags", "options",
                                        "home_address", "init_cookie", "x"]), json_values, max_size=6))
def test_json_reader_only_json_error(kind, fields):
    try:
        message_from_json({**fields, "type": kind})
    except MhJsonError:
        pass
