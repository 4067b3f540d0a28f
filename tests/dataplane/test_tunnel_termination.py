"""Tunnel termination (uplink decapsulation) on the LMA / HA.

The outer (src, dst, kind, and over UDP the source port) must be a known tunnel and the outer source must be
a care-of address registered for the inner source: the CoA of the binding's
member of binding_profile, or any CoA in `binding_coas` of a multi-CoA binding
(RFC 5648); otherwise the packet is dropped and counted. ECN per RFC 6040."""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from .p4consts import DropReason, EncapKind
from .packets import (
    CN, CN_PREFIX, CN_V4, CN_V4_PREFIX, COA1, COA2, COA_V4, DSMIPV6_PORT, HNP, HOA_V4,
    LMA, LMA_V4, MN, NAT_PORT, eth_in, eth_out,
)

BODY = UDP(sport=1000, dport=2000) / Raw(b"uplink" * 8)
BINDING = 11


UDP_KINDS = (EncapKind.IPV6_IN_UDP_IPV4, EncapKind.IPV4_IN_UDP_IPV4)


def setup_uplink(dp, coas=(COA1,), kind=EncapKind.IPV6_IN_IPV6, home=HNP, local=LMA):
    dp.add_local_address(local)
    dp.add_route(CN_PREFIX, 1)
    dp.add_route(CN_V4_PREFIX, 1)
    for coa in coas:
        dp.add_tunnel_termination(coa, local, kind, sport=NAT_PORT if kind in UDP_KINDS else 0)
    if len(coas) == 1:
        udp = (DSMIPV6_PORT, NAT_PORT) if kind in UDP_KINDS else None
        dp.add_binding(home, BINDING, local, coas[0], udp=udp)
    else:
        dp.add_multi_coa_binding(home, BINDING, list(range(1, len(coas) + 1)), coas=coas)


def test_rfc5213_5_6_2_ipv6_in_ipv6_uplink_decapsulated(dp):
    setup_uplink(dp)
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA, hlim=50) / IPv6(src=MN, dst=CN, hlim=40) / BODY)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=39) / BODY, 1)
    dp.verify_no_other_packets()


def test_rfc5213_5_6_2_uplink_counted_per_binding(dp):
    setup_uplink(dp)
    before = dp.counter("binding_uplink_counter", BINDING)
    frame = eth_in() / IPv6(src=COA1, dst=LMA) / IPv6(src=MN, dst=CN) / BODY
    dp.send(2, frame)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=63) / BODY, 1)
    after = dp.counter("binding_uplink_counter", BINDING)
    assert after[0] - before[0] == 1
    assert after[1] - before[1] == len(bytes(frame))  # bytes as received


def test_rfc5213_5_6_2_spoofed_inner_source_dropped_and_counted(dp):
    setup_uplink(dp)
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA) / IPv6(src="2001:db8:999::5", dst=CN) / BODY)
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1
    dp.verify_no_other_packets()


def test_unknown_tunnel_source_dropped_and_counted(dp):
    setup_uplink(dp)
    before = dp.drops(DropReason.UNKNOWN_TUNNEL)
    dp.send(3, eth_in() / IPv6(src=COA2, dst=LMA) / IPv6(src=MN, dst=CN) / BODY)
    assert dp.wait_drop(DropReason.UNKNOWN_TUNNEL, before) == before + 1
    dp.verify_no_other_packets()


def test_rfc5648_uplink_accepted_from_any_registered_coa(dp):
    setup_uplink(dp, coas=(COA1, COA2))
    for port, coa in ((2, COA1), (3, COA2)):
        dp.send(port, eth_in() / IPv6(src=coa, dst=LMA) / IPv6(src=MN, dst=CN, hlim=9) / BODY)
        dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=8) / BODY, 1)
    dp.verify_no_other_packets()


def test_rfc5648_coa_of_another_binding_is_spoofing(dp):
    """COA2 is a known tunnel, but registered for another home prefix."""
    setup_uplink(dp)
    dp.add_tunnel_termination(COA2, LMA, EncapKind.IPV6_IN_IPV6)
    dp.add_binding("2001:db8:200::/64", 12, LMA, COA2)
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(3, eth_in() / IPv6(src=COA2, dst=LMA) / IPv6(src=MN, dst=CN) / BODY)
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1
    dp.verify_no_other_packets()


def test_rfc5555_ipv6_in_udp_ipv4_uplink_decapsulated(dp):
    setup_uplink(dp, coas=(COA_V4,), kind=EncapKind.IPV6_IN_UDP_IPV4, local=LMA_V4)
    dp.send(2, eth_in() / IP(src=COA_V4, dst=LMA_V4) / UDP(sport=NAT_PORT, dport=DSMIPV6_PORT)
            / IPv6(src=MN, dst=CN, hlim=7) / BODY)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=6) / BODY, 1)
    dp.verify_no_other_packets()


def test_rfc5555_ipv4_in_udp_ipv4_uplink_decapsulated(dp):
    setup_uplink(dp, coas=(COA_V4,), kind=EncapKind.IPV4_IN_UDP_IPV4, home=HOA_V4,
                 local=LMA_V4)
    inner = IP(src=HOA_V4, dst=CN_V4, ttl=12, id=99) / BODY
    dp.send(2, eth_in() / IP(src=COA_V4, dst=LMA_V4) / UDP(sport=NAT_PORT, dport=DSMIPV6_PORT)
            / inner)
    expected = IP(bytes(inner))
    expected.ttl = 11
    del expected.chksum
    dp.verify_packet(eth_out(1) / expected, 1)
    dp.verify_no_other_packets()


def test_rfc5555_4_1_udp_tunnels_are_told_apart_by_their_source_port(dp):
    """Two MNs behind one NAT address: each mapping (address, port) is its own tunnel, and
    one MN's inner source from the other's port is spoofing; an unknown port is no tunnel."""
    setup_uplink(dp, coas=(COA_V4,), kind=EncapKind.IPV4_IN_UDP_IPV4, home=HOA_V4, local=LMA_V4)
    other_home, other_port = "10.10.0.6", NAT_PORT + 1
    dp.add_tunnel_termination(COA_V4, LMA_V4, EncapKind.IPV4_IN_UDP_IPV4, sport=other_port)
    dp.add_binding(f"{other_home}/32", 12, LMA_V4, COA_V4, udp=(DSMIPV6_PORT, other_port))

    def uplink(sport: int, src: str):
        return (eth_in() / IP(src=COA_V4, dst=LMA_V4) / UDP(sport=sport, dport=DSMIPV6_PORT)
                / IP(src=src, dst=CN_V4, ttl=12, id=1) / BODY)

    for sport, src in ((NAT_PORT, HOA_V4), (other_port, other_home)):
        dp.send(2, uplink(sport, src))
        expected = IP(src=src, dst=CN_V4, ttl=11, id=1) / BODY
        dp.verify_packet(eth_out(1) / expected, 1)
    spoofed, unknown = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE), dp.drops(DropReason.UNKNOWN_TUNNEL)
    dp.send(2, uplink(other_port, HOA_V4))  # the second MN's mapping, the first MN's home address
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, spoofed) == spoofed + 1
    dp.send(2, uplink(NAT_PORT + 2, HOA_V4))  # a mapping no binding has
    assert dp.wait_drop(DropReason.UNKNOWN_TUNNEL, unknown) == unknown + 1
    dp.verify_no_other_packets()


def test_rfc5555_ipv6_in_ipv4_uplink_decapsulated(dp):
    setup_uplink(dp, coas=(COA_V4,), kind=EncapKind.IPV6_IN_IPV4, local=LMA_V4)
    dp.send(2, eth_in() / IP(src=COA_V4, dst=LMA_V4) / IPv6(src=MN, dst=CN, hlim=3) / BODY)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=2) / BODY, 1)
    dp.verify_no_other_packets()


def test_rfc5555_ipv4_in_ipv6_uplink_decapsulated(dp):
    setup_uplink(dp, kind=EncapKind.IPV4_IN_IPV6, home=HOA_V4)
    inner = IP(src=HOA_V4, dst=CN_V4, ttl=64, id=1) / BODY
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA) / inner)
    expected = IP(bytes(inner))
    expected.ttl = 63
    del expected.chksum
    dp.verify_packet(eth_out(1) / expected, 1)
    dp.verify_no_other_packets()


def test_wrong_encapsulation_kind_is_unknown_tunnel(dp):
    setup_uplink(dp, kind=EncapKind.IPV4_IN_IPV6, home=HOA_V4)
    before = dp.drops(DropReason.UNKNOWN_TUNNEL)
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA) / IPv6(src=MN, dst=CN) / BODY)
    assert dp.wait_drop(DropReason.UNKNOWN_TUNNEL, before) == before + 1
    dp.verify_no_other_packets()


def test_transit_tunnel_not_for_node_is_routed_untouched(dp):
    setup_uplink(dp)
    dp.add_route("2001:db8:eeee::/48", 3)
    other = "2001:db8:eeee::1"
    inner = IPv6(src=MN, dst=CN, hlim=40) / BODY
    dp.send(2, eth_in() / IPv6(src=COA1, dst=other, hlim=50) / inner)
    dp.verify_packet(eth_out(3) / IPv6(src=COA1, dst=other, hlim=49) / inner, 3)
    dp.verify_no_other_packets()


# RFC 6040 §4.2 Figure 4, (arriving inner, arriving outer) -> departing;
# None = drop. ECN codepoints: 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE.
RFC6040_DECAP = [
    (0, 0, 0), (0, 2, 0), (0, 1, 0), (0, 3, None),
    (2, 0, 2), (2, 2, 2), (2, 1, 1), (2, 3, 3),
    (1, 0, 1), (1, 2, 1), (1, 1, 1), (1, 3, 3),
    (3, 0, 3), (3, 2, 3), (3, 1, 3), (3, 3, 3),
]


def test_rfc6040_4_2_decapsulation_ecn(dp):
    """All 16 (inner, outer) combinations of Figure 4, one switch set-up."""
    setup_uplink(dp)
    dscp = 10 << 2
    for inner, outer, out in RFC6040_DECAP:
        frame = (eth_in() / IPv6(src=COA1, dst=LMA, tc=dscp | outer)
                 / IPv6(src=MN, dst=CN, tc=dscp | inner, hlim=30) / BODY)
        if out is None:
            before = dp.drops(DropReason.ECN_CE_NOT_ECT)
            dp.send(2, frame)
            assert dp.wait_drop(DropReason.ECN_CE_NOT_ECT, before) == before + 1, (inner, outer)
        else:
            dp.send(2, frame)
            dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, tc=dscp | out, hlim=29) / BODY, 1)
    dp.verify_no_other_packets()
