"""ICMPv6 Mobile Prefix Solicitation / Advertisement (RFC 6275 §6.7, §6.8, §7.2), with
scapy as the independent oracle for the layout and the checksum."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet6 import ICMPv6MPAdv, ICMPv6MPSol, ICMPv6NDOptPrefixInfo, ICMPv6NDOptMTU, IPv6, in6_chksum

from p4mobility.nd.mobile_prefix import (MobilePrefixAdvertisement, MobilePrefixError, MobilePrefixSolicitation,
                                         PrefixOption, decode_mobile_prefix, encode_mobile_prefix)

HOA, HA = IPv6Address("2001:db8:100::5"), IPv6Address("2001:db8:ffff::1")
HOME = IPv6Network("2001:db8:100::/64")


def scapy_icmp(src: IPv6Address, dst: IPv6Address, icmp) -> bytes:
    """scapy computes the checksum over (src, dst) of this IPv6 header."""
    return bytes(IPv6(src=str(src), dst=str(dst)) / icmp)[40:]


def test_rfc6275_6_7_solicitation_bytes_equal_scapys_with_the_home_address_in_the_pseudo_header():
    ours = encode_mobile_prefix(MobilePrefixSolicitation(0xBEEF), HOA, HA)
    assert ours == scapy_icmp(HOA, HA, ICMPv6MPSol(id=0xBEEF))
    parsed = ICMPv6MPSol(ours)
    assert (parsed.type, parsed.code, parsed.id, parsed.res) == (146, 0, 0xBEEF, 0)


def test_rfc6275_6_8_advertisement_with_prefix_information_equals_scapys():
    msg = MobilePrefixAdvertisement(0x1234, (PrefixOption(HOME, 86400, 14400),
                                             PrefixOption(IPv6Network("2001:db8:200::/56"), 3600, 1800,
                                                          on_link=False)), managed=True)
    ours = encode_mobile_prefix(msg, HA, HOA)
    want = scapy_icmp(HA, HOA, ICMPv6MPAdv(id=0x1234, flags=2)
                      / ICMPv6NDOptPrefixInfo(prefix=str(HOME.network_address), prefixlen=64, L=1, A=1,
                                              validlifetime=86400, preferredlifetime=14400)
                      / ICMPv6NDOptPrefixInfo(prefix="2001:db8:200::", prefixlen=56, L=0, A=1,
                                              validlifetime=3600, preferredlifetime=1800))
    assert ours == want
    assert decode_mobile_prefix(ours, HA, HOA) == msg


def test_rfc6275_7_2_the_router_address_flag():
    msg = MobilePrefixAdvertisement(1, (PrefixOption(IPv6Network("2001:db8:100::1/128"), 10, 5,
                                                     router_address=True),))
    ours = encode_mobile_prefix(msg, HA, HOA)
    assert ICMPv6MPAdv(ours)[ICMPv6NDOptPrefixInfo].R == 1
    assert decode_mobile_prefix(ours, HA, HOA) == msg


def test_scapys_messages_decode_and_unknown_options_are_skipped():
    raw = scapy_icmp(HA, HOA, ICMPv6MPAdv(id=77, flags=0) / ICMPv6NDOptMTU(mtu=1400)
                     / ICMPv6NDOptPrefixInfo(prefix="2001:db8:100::", prefixlen=64, validlifetime=0xFFFFFFFF,
                                             preferredlifetime=0xFFFFFFFF))
    msg = decode_mobile_prefix(raw, HA, HOA)
    assert msg == MobilePrefixAdvertisement(77, (PrefixOption(HOME, 0xFFFFFFFF, 0xFFFFFFFF),))
    assert decode_mobile_prefix(scapy_icmp(HOA, HA, ICMPv6MPSol(id=5)), HOA, HA) == MobilePrefixSolicitation(5)


@pytest.mark.parametrize("mangle,why", [
    (lambda b: b[:6], "shorter than"),
    (lambda b: b[:1] + b"\x01" + b[2:], "code 1"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "checksum"),
    (lambda b: b[:1] + b[1:] + b"\x03\x00" + bytes(6), "length 0"),
    (lambda b: b + b"\x03\x04" + bytes(6), "length 32"),
    (lambda b: bytes([135]) + b[1:], "not a Mobile Prefix"),
])
def test_rfc6275_11_4_3_bad_messages_are_silently_discarded(mangle, why):
    good = encode_mobile_prefix(MobilePrefixAdvertisement(9, (PrefixOption(HOME, 1, 1),)), HA, HOA)
    bad = bytearray(mangle(good))
    if why != "checksum" and len(bad) >= 4:  # a valid checksum (scapy's), so the defect itself is found
        bad[2:4] = b"\0\0"
        bad[2:4] = in6_chksum(58, IPv6(src=str(HA), dst=str(HOA)), bytes(bad)).to_bytes(2, "big")
    with pytest.raises(MobilePrefixError, match=why) as err:
        decode_mobile_prefix(bytes(bad), HA, HOA)
    assert err.value.action == "silent_discard"


def test_the_checksum_binds_the_home_address():
    """Over the CoA instead of the HoA (HAO ignored) the checksum fails."""
    b = encode_mobile_prefix(MobilePrefixSolicitation(3), HOA, HA)
    with pytest.raises(MobilePrefixError):
        decode_mobile_prefix(b, IPv6Address("2001:db8:a::100"), HA)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_any_bytes_decode_or_raise_the_typed_error(data):
    try:
        decode_mobile_prefix(data, HA, HOA)
    except MobilePrefixError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 0xFFFF), st.lists(st.tuples(st.integers(0, 128), st.integers(0, 2**32 - 1),
                                                   st.integers(0, 2**32 - 1), st.booleans()), max_size=4))
def test_round_trip(identifier, prefixes):
    opts = tuple(PrefixOption(IPv6Network((0x20010DB8 << 96, plen), strict=False).supernet(0) if plen else
                              IPv6Network("::/0"), valid, pref, flag, not flag) for plen, valid, pref, flag in prefixes)
    msg = MobilePrefixAdvertisement(identifier, opts, other=True)
    assert decode_mobile_prefix(encode_mobile_prefix(msg, HA, HOA), HA, HOA) == msg
