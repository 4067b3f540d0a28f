"""ND messages for the MAG's home link, checked against scapy as the oracle."""
from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6NDOptDstLLAddr,
    IPv6,
)
from scapy.utils6 import in6_getnsma, in6_mactoifaceid
from scapy.layers.l2 import Ether

from p4mobility.nd import (
    NdDecodeError,
    NeighborAdvertisement,
    NeighborSolicitation,
    PrefixInformation,
    RouterAdvertisement,
    RouterSolicitation,
    all_nodes_mac,
    decode_frame,
    encode_frame,
    link_local_from_mac,
    solicited_node,
)

MN_MAC = bytes.fromhex("020000000a01")
MAG_MAC = bytes.fromhex("02000000aa01")
MN_LL = IPv6Address("fe80::a1")
MAG_LL = IPv6Address("fe80::1")


def test_rfc5213_6_7_router_advertisement_with_hnp_parses_in_scapy():
    ra = RouterAdvertisement(
        router_lifetime=1800,
        prefixes=(PrefixInformation(IPv6Network("2001:db8:1::/64"), 86400, 14400),),
        source_ll=MAG_MAC,
        mtu=1460,
    )
    frame = encode_frame(ra, src_mac=MAG_MAC, dst_mac=MN_MAC, src=MAG_LL, dst=MN_LL)
    pkt = Ether(frame)
    assert pkt[IPv6].hlim == 255 and pkt[IPv6].src == str(MAG_LL)
    assert pkt[ICMPv6ND_RA].routerlifetime == 1800
    pio = pkt[ICMPv6NDOptPrefixInfo]
    assert (pio.prefix, pio.prefixlen, pio.L, pio.A) == ("2001:db8:1::", 64, 1, 1)
    assert (pio.validlifetime, pio.preferredlifetime) == (86400, 14400)
    assert pkt[ICMPv6NDOptSrcLLAddr].lladdr == "02:00:00:00:aa:01"
    assert pkt[ICMPv6NDOptMTU].mtu == 1460
    # scapy recomputes the checksum from scratch: ours must equal it
    declared = pkt[ICMPv6ND_RA].cksum
    del pkt[ICMPv6ND_RA].cksum
    assert Ether(bytes(pkt))[ICMPv6ND_RA].cksum == declared


def test_rfc4861_4_4_neighbor_advertisement_parses_in_scapy():
    na = NeighborAdvertisement(target=MAG_LL, target_ll=MAG_MAC)
    frame = encode_frame(na, src_mac=MAG_MAC, dst_mac=MN_MAC, src=MAG_LL, dst=MN_LL)
    pkt = Ether(frame)
    assert (pkt[ICMPv6ND_NA].R, pkt[ICMPv6ND_NA].S, pkt[ICMPv6ND_NA].O) == (1, 1, 1)
    assert pkt[ICMPv6ND_NA].tgt == str(MAG_LL)
    assert pkt[ICMPv6NDOptDstLLAddr].lladdr == "02:00:00:00:aa:01"
    declared = pkt[ICMPv6ND_NA].cksum
    del pkt[ICMPv6ND_NA].cksum
    assert Ether(bytes(pkt))[ICMPv6ND_NA].cksum == declared


def test_rfc4861_6_1_1_router_solicitation_from_scapy():
    frame = bytes(Ether(src="02:00:00:00:0a:01", dst="33:33:00:00:00:02")
                  / IPv6(src=str(MN_LL), dst="ff02::2", hlim=255)
                  / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:0a:01"))
    rs = decode_frame(frame)
    assert rs == RouterSolicitation(MN_MAC, MN_LL, IPv6Address("ff02::2"), MN_MAC)


def test_rfc4861_7_1_1_neighbor_solicitation_from_scapy():
    frame = bytes(Ether(src="02:00:00:00:0a:01") / IPv6(src=str(MN_LL), dst=str(solicited_node(MAG_LL)), hlim=255)
                  / ICMPv6ND_NS(tgt=str(MAG_LL)) / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:0a:01"))
    ns = decode_frame(frame)
    assert isinstance(ns, NeighborSolicitation) and ns.target == MAG_LL and ns.source_ll == MN_MAC


def test_rfc4861_6_1_1_hop_limit_must_be_255():
    pkt = Ether() / IPv6(src=str(MN_LL), dst="ff02::2", hlim=64) / ICMPv6ND_RS()
    with pytest.raises(NdDecodeError, match="hop limit"):
        decode_frame(bytes(pkt))


def test_rfc4861_bad_checksum_and_zero_length_option_discarded():
    good = bytearray(bytes(Ether() / IPv6(src=str(MN_LL), dst="ff02::2", hlim=255) / ICMPv6ND_RS()))
    good[-5] ^= 0xFF  # inside the ICMPv6 header: checksum no longer matches
    with pytest.raises(NdDecodeError, match="checksum"):
        decode_frame(bytes(good))
    zero_opt = bytes(Ether() / IPv6(src=str(MN_LL), dst="ff02::2", hlim=255) / ICMPv6ND_RS()
                     / ICMPv6NDOptSrcLLAddr(len=0))
    with pytest.raises(NdDecodeError, match="option"):
        decode_frame(zero_opt)


def test_addresses_helpers_agree_with_scapy():
    assert link_local_from_mac(MN_MAC) == IPv6Address("fe80::" + in6_mactoifaceid("02:00:00:00:0a:01"))
    assert solicited_node(MAG_LL) == IPv6Address(in6_getnsma(MAG_LL.packed))
    assert all_nodes_mac() == bytes.fromhex("333300000001")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decode_is_total(data):
    try:
        decode_frame(data)
    except NdDecodeError:
        pass


# Found by fuzzing (fuzz/nd_decode.py, docs/fuzzing.md): each was a traceback or an accept.

def _nd_frame(src: str, dst: str, icmp: bytes) -> bytes:
    """Ethernet + IPv6 (hop limit 255) + ``icmp`` with its checksum set by scapy's helper,
    then an 8-byte Ethernet trailer (short frames are padded on the wire)."""
    from scapy.layers.inet6 import in6_chksum
    body = bytearray(icmp)
    if len(body) >= 4:
        body[2:4] = b"\0\0"
        body[2:4] = in6_chksum(58, IPv6(src=src, dst=dst), bytes(body)).to_bytes(2, "big")
    return bytes(Ether(src="02:00:00:00:0a:01", dst="33:33:00:00:00:02")
                 / IPv6(src=src, dst=dst, hlim=255, nh=58, plen=len(body))) + bytes(body) + bytes(8)


@pytest.mark.parametrize("length", [0, 1, 4, 7])
def test_rfc4861_6_1_1_icmp_shorter_than_8_is_discarded_not_a_traceback(length):
    icmp = bytes([133, 0, 0, 0, 0, 0, 0, 0])[:length]
    with pytest.raises(NdDecodeError, match="ICMP length"):
        decode_frame(_nd_frame(str(MN_LL), "ff02::2", icmp))


def test_rfc4861_7_1_1_ns_from_unspecified_needs_solicited_node_destination():
    ns = bytes(ICMPv6ND_NS(tgt="2001:db8:100::1"))
    with pytest.raises(NdDecodeError, match="solicited-node"):
        decode_frame(_nd_frame("::", "ff02::1", ns))
    ok = decode_frame(_nd_frame("::", str(solicited_node(IPv6Address("2001:db8:100::1"))), ns))
    assert isinstance(ok, NeighborSolicitation) and ok.source_ll is None


def test_rfc4861_7_1_1_ns_from_unspecified_with_source_link_layer_option_is_discarded():
    ns = bytes(ICMPv6ND_NS(tgt="2001:db8:100::1") / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:0a:01"))
    with pytest.raises(NdDecodeError, match="solicited-node"):
        decode_frame(_nd_frame("::", str(solicited_node(IPv6Address("2001:db8:100::1"))), ns))
