"""Downlink: binding lookup (the binding's member of binding_profile gives its
tunnel; a multi-CoA binding picks a tunnel peer per flow) and the five
encapsulations, with lengths, checksums, hop limits, DSCP and ECN
(RFC 6040 §4.1 normal mode: the outer ECN is a copy of the inner)."""

from __future__ import annotations

from finsy import P4TableAction
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from .p4consts import DropReason
from .packets import (
    CN, CN_V4, COA1, COA1_PREFIX, COA2, COA2_PREFIX, COA_V4, COA_V4_PREFIX, DSMIPV6_PORT,
    HNP, HOA_V4, LMA, LMA_V4, MN, NAT_PORT, eth_in, eth_out,
)

BODY = UDP(sport=5000, dport=6000) / Raw(b"downlink" * 8)
BINDING = 21
TC = (46 << 2) | 3  # DSCP EF, ECN CE


def setup_downlink(dp, home=HNP, peer=None):
    dp.add_route(COA1_PREFIX, 2)
    dp.add_route(COA2_PREFIX, 3)
    dp.add_route(COA_V4_PREFIX, 2)
    dp.add_binding(home, BINDING, *(peer or (LMA, COA1)))


def v4_inner(ttl: int, flags: int = 0) -> IP:
    return IP(src=CN_V4, dst=HOA_V4, ttl=ttl, id=4242, tos=TC, flags=flags) / BODY


def decremented(ip: IP) -> IP:
    out = IP(bytes(ip))
    out.ttl -= 1
    del out.chksum
    return out


def test_rfc2473_ipv6_in_ipv6_downlink(dp):
    setup_downlink(dp)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, tc=TC, hlim=64) / BODY)
    dp.verify_packet(eth_out(2) / IPv6(src=LMA, dst=COA1, tc=TC, hlim=64)
                     / IPv6(src=CN, dst=MN, tc=TC, hlim=63) / BODY, 2)
    dp.verify_no_other_packets()


def test_rfc5555_ipv4_in_ipv6_downlink(dp):
    setup_downlink(dp, home=HOA_V4 + "/32")
    dp.send(1, eth_in() / v4_inner(ttl=64))
    dp.verify_packet(eth_out(2) / IPv6(src=LMA, dst=COA1, tc=TC, hlim=64, nh=4)
                     / decremented(v4_inner(ttl=64)), 2)
    dp.verify_no_other_packets()


def test_rfc5555_ipv6_in_ipv4_downlink(dp):
    setup_downlink(dp, peer=(LMA_V4, COA_V4))
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, tc=TC, hlim=64) / BODY)
    dp.verify_packet(eth_out(2) / IP(src=LMA_V4, dst=COA_V4, tos=TC, ttl=64, id=0, flags="DF",
                                    proto=41)
                     / IPv6(src=CN, dst=MN, tc=TC, hlim=63) / BODY, 2)
    dp.verify_no_other_packets()


def test_rfc5555_ipv6_in_udp_ipv4_downlink_to_nat_port(dp):
    setup_downlink(dp)
    dp.move_binding(BINDING, LMA_V4, COA_V4, udp=(DSMIPV6_PORT, NAT_PORT))
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, tc=TC, hlim=64) / BODY)
    dp.verify_packet(eth_out(2) / IP(src=LMA_V4, dst=COA_V4, tos=TC, ttl=64, id=0, flags="DF")
                     / UDP(sport=DSMIPV6_PORT, dport=NAT_PORT, chksum=0)
                     / IPv6(src=CN, dst=MN, tc=TC, hlim=63) / BODY, 2)
    dp.verify_no_other_packets()


def test_rfc5555_ipv4_in_udp_ipv4_downlink_copies_df(dp):
    dp.add_route(COA_V4_PREFIX, 2)
    dp.add_binding(HOA_V4 + "/32", BINDING, LMA_V4, COA_V4, udp=(DSMIPV6_PORT, NAT_PORT))
    for flags, outer_flags in ((0, 0), (2, "DF")):
        dp.send(1, eth_in() / v4_inner(ttl=30, flags=flags))
        dp.verify_packet(eth_out(2) / IP(src=LMA_V4, dst=COA_V4, tos=TC, ttl=64, id=0,
                                        flags=outer_flags)
                         / UDP(sport=DSMIPV6_PORT, dport=NAT_PORT, chksum=0)
                         / decremented(v4_inner(ttl=30, flags=flags)), 2)
    dp.verify_no_other_packets()


def test_rfc5213_5_3_handover_is_one_write(dp):
    setup_downlink(dp)
    dp.move_binding(BINDING, LMA, COA2)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / BODY)
    dp.verify_packet(eth_out(3) / IPv6(src=LMA, dst=COA2, hlim=64)
                     / IPv6(src=CN, dst=MN, hlim=63) / BODY, 3)
    dp.verify_no_other_packets()


def test_rfc5648_multiple_coas_one_per_flow(dp):
    dp.add_route(COA1_PREFIX, 2)
    dp.add_route(COA2_PREFIX, 3)
    dp.add_tunnel_peer(1, LMA, COA1)
    dp.add_tunnel_peer(2, LMA, COA2)
    dp.add_multi_coa_binding(HNP, BINDING, [1, 2], coas=(COA1, COA2))
    seen: dict[int, int] = {}
    for rnd in range(2):
        for sport in range(40000, 40016):
            inner = IPv6(src=CN, dst=MN, hlim=64) / TCP(sport=sport, dport=443, flags="S")
            dp.send(1, eth_in() / inner)
            hop = IPv6(bytes(inner))
            hop.hlim = 63
            choice = dp.verify_any_packet([
                (eth_out(2) / IPv6(src=LMA, dst=COA1, hlim=64) / hop, 2),
                (eth_out(3) / IPv6(src=LMA, dst=COA2, hlim=64) / hop, 3),
            ])
            assert seen.setdefault(sport, choice) == choice, "a flow changed CoA"
    assert set(seen.values()) == {0, 1}, "16 flows all on one CoA"
    dp.verify_no_other_packets()


def test_binding_without_tunnel_dropped_and_counted(dp):
    setup_downlink(dp)
    dp.detach_binding(BINDING)
    before = dp.drops(DropReason.UNKNOWN_TUNNEL_PEER)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN) / BODY)
    assert dp.wait_drop(DropReason.UNKNOWN_TUNNEL_PEER, before) == before + 1
    dp.verify_no_other_packets()


def test_downlink_counted_per_binding(dp):
    setup_downlink(dp)
    before = dp.counter("binding_downlink_counter", BINDING)
    frame = eth_in() / IPv6(src=CN, dst=MN, hlim=64) / BODY
    for _ in range(3):
        dp.send(1, frame)
        dp.verify_packet(eth_out(2) / IPv6(src=LMA, dst=COA1, hlim=64)
                         / IPv6(src=CN, dst=MN, hlim=63) / BODY, 2)
    after = dp.counter("binding_downlink_counter", BINDING)
    assert after[0] - before[0] == 3
    assert after[1] - before[1] == 3 * len(bytes(frame))


def test_rfc5648_flow_to_unknown_tunnel_peer_dropped_and_counted(dp):
    """A multi-CoA binding whose selected peer has no tunnel_peers entry."""
    dp.add_route(COA1_PREFIX, 2)
    dp.add_multi_coa_binding(HNP, BINDING, [99])
    before = dp.drops(DropReason.UNKNOWN_TUNNEL_PEER)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN) / BODY)
    assert dp.wait_drop(DropReason.UNKNOWN_TUNNEL_PEER, before) == before + 1
    dp.verify_no_other_packets()


def test_rfc5648_multi_coa_binding_without_a_group_is_dropped_not_routed(dp):
    """The member says several CoAs but binding_peers has no entry: a route covering
    the home prefix must not carry the packet in the clear."""
    dp.add_route(HNP, 2)
    dp.add_binding_member(BINDING, P4TableAction("set_multi_coa_binding", binding_id=BINDING), [HNP])
    before = dp.drops(DropReason.UNKNOWN_TUNNEL_PEER)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN) / BODY)
    assert dp.wait_drop(DropReason.UNKNOWN_TUNNEL_PEER, before) == before + 1
    dp.verify_no_other_packets()
