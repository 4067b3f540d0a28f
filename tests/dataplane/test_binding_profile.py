"""One binding_profile member per binding, shared by `bindings` (downlink, on
the inner destination) and `uplink_sources` (uplink check, on the inner
source): a handover is one MODIFY of the member and both directions follow;
MN-to-MN traffic at one LMA uses both tables on one packet; an outer source
other than the binding's CoA is dropped as spoofed; multi-CoA bindings
(RFC 5648) keep their selector downlink and their `binding_coas` uplink."""

from __future__ import annotations

import pytest
from finsy import P4ActionProfileMember, P4IndirectAction, P4TableEntry, P4TableMatch
from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from .lib import key_addr
from .p4consts import DropReason, EncapKind
from .packets import (
    CN, CN_PREFIX, COA1, COA1_PREFIX, COA2, COA2_PREFIX, HNP, LMA, MN, eth_in, eth_out,
)

BODY = UDP(sport=7000, dport=7001) / Raw(b"mn-to-mn" * 6)
A, B = 41, 42                                  # binding ids (= member ids)
HNP_B, MN_B = "2001:db8:200::/64", "2001:db8:200::7"
COA3 = "2001:db8:b::3"                         # a second CoA behind port 3
PORT_OF = {COA1: 2, COA2: 3, COA3: 3}


def setup_lma(dp):
    dp.add_local_address(LMA)
    dp.add_route(CN_PREFIX, 1)
    dp.add_route(COA1_PREFIX, 2)
    dp.add_route(COA2_PREFIX, 3)
    for coa in (COA1, COA2, COA3):
        dp.add_tunnel_termination(coa, LMA, EncapKind.IPV6_IN_IPV6)


def uplink(coa: str, src: str = MN, dst: str = CN, hlim: int = 40):
    return eth_in() / IPv6(src=coa, dst=LMA, hlim=50) / IPv6(src=src, dst=dst, hlim=hlim) / BODY


def decapped(src: str = MN, dst: str = CN, hlim: int = 39):
    return eth_out(1) / IPv6(src=src, dst=dst, hlim=hlim) / BODY


def tunnelled(coa: str, src: str = CN, dst: str = MN, hlim: int = 63):
    return eth_out(PORT_OF[coa]) / IPv6(src=LMA, dst=coa, hlim=64) / IPv6(src=src, dst=dst, hlim=hlim) / BODY


def expect_spoofed(dp, port: int, frame) -> None:
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(port, frame)
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1


def test_rfc5213_5_3_4_handover_is_one_modify_and_both_directions_follow(dp):
    setup_lma(dp)
    dp.add_binding(HNP, A, LMA, COA1)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / BODY)
    dp.verify_packet(tunnelled(COA1), 2)
    dp.send(2, uplink(COA1))
    dp.verify_packet(decapped(), 1)

    dp.move_binding(A, LMA, COA2)  # the handover: one update, the member
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / BODY)
    dp.verify_packet(tunnelled(COA2), 3)
    dp.send(3, uplink(COA2))
    dp.verify_packet(decapped(), 1)
    expect_spoofed(dp, 2, uplink(COA1))  # the old Proxy-CoA no longer sends for the HNP
    dp.verify_no_other_packets()
    # the table entries were not written: they still name the member
    for table, field in (("bindings", "dst_addr"), ("uplink_sources", "home_addr")):
        [entry] = dp.p4rt.read(P4TableEntry(table, match=P4TableMatch({field: key_addr(HNP)})))
        assert entry.action == P4IndirectAction(member_id=A)


def test_rfc5213_5_6_2_mn_to_mn_at_one_lma_uses_both_tables_once(dp):
    """Uplink check on A's HNP, then downlink on B's HNP, on one packet."""
    setup_lma(dp)
    dp.add_binding(HNP, A, LMA, COA1)
    dp.add_binding(HNP_B, B, LMA, COA2)
    up_a, down_b = dp.counter("binding_uplink_counter", A), dp.counter("binding_downlink_counter", B)
    frame = uplink(COA1, MN, MN_B)
    dp.send(2, frame)
    dp.verify_packet(tunnelled(COA2, MN, MN_B, hlim=39), 3)
    dp.send(3, uplink(COA2, MN_B, MN))
    dp.verify_packet(tunnelled(COA1, MN_B, MN, hlim=39), 2)
    assert dp.counter("binding_uplink_counter", A)[0] == up_a[0] + 1
    assert dp.counter("binding_downlink_counter", B)[0] == down_b[0] + 1
    # B moves (one MODIFY): A's traffic to B follows, B's uplink comes from the new CoA
    dp.move_binding(B, LMA, COA3)
    dp.send(2, uplink(COA1, MN, MN_B))
    dp.verify_packet(tunnelled(COA3, MN, MN_B, hlim=39), 3)
    dp.send(3, uplink(COA3, MN_B, MN))
    dp.verify_packet(tunnelled(COA1, MN_B, MN, hlim=39), 2)
    dp.verify_no_other_packets()


def test_rfc5213_5_6_2_outer_source_of_another_binding_is_spoofed(dp):
    """COA2 is a known tunnel and B's CoA, but not A's: A's source from it is dropped,
    also when the packet is addressed to B (MN-to-MN)."""
    setup_lma(dp)
    dp.add_binding(HNP, A, LMA, COA1)
    dp.add_binding(HNP_B, B, LMA, COA2)
    expect_spoofed(dp, 3, uplink(COA2, MN, CN))
    expect_spoofed(dp, 3, uplink(COA2, MN, MN_B))
    expect_spoofed(dp, 2, uplink(COA1, "2001:db8:999::1", MN_B))  # no binding for the source
    dp.verify_no_other_packets()


def test_rfc5213_5_3_5_binding_without_tunnel_drops_both_directions(dp):
    setup_lma(dp)
    dp.add_binding(HNP, A, LMA, COA1)
    dp.detach_binding(A)
    expect_spoofed(dp, 2, uplink(COA1))
    before = dp.drops(DropReason.UNKNOWN_TUNNEL_PEER)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN) / BODY)
    assert dp.wait_drop(DropReason.UNKNOWN_TUNNEL_PEER, before) == before + 1
    dp.move_binding(A, LMA, COA2)  # re-registration: one MODIFY again
    dp.send(3, uplink(COA2))
    dp.verify_packet(decapped(), 1)
    dp.verify_no_other_packets()


def test_rfc5648_multi_coa_binding_to_and_from_a_single_coa_binding(dp):
    """A has COA1 and COA2 (selector downlink, binding_coas uplink), B has COA3."""
    setup_lma(dp)
    dp.add_tunnel_peer(1, LMA, COA1)
    dp.add_tunnel_peer(2, LMA, COA2)
    dp.add_multi_coa_binding(HNP, A, [1, 2], coas=(COA1, COA2))
    dp.add_binding(HNP_B, B, LMA, COA3)
    for port, coa in ((2, COA1), (3, COA2)):  # A -> B from either CoA of A
        dp.send(port, uplink(coa, MN, MN_B))
        dp.verify_packet(tunnelled(COA3, MN, MN_B, hlim=39), 3)
    expect_spoofed(dp, 3, uplink(COA3, MN, MN_B))  # B's CoA is not one of A's
    seen = set()
    for host in range(1, 17):  # B's hosts -> A: per flow on one of A's CoAs (after decapsulation
        # the inner L4 ports are not parsed: the flow hash sees addresses and protocol)
        inner = IPv6(src=f"2001:db8:200::{host:x}", dst=MN, hlim=40) / TCP(sport=41000, dport=80, flags="S")
        dp.send(3, eth_in() / IPv6(src=COA3, dst=LMA) / inner)
        hop = IPv6(bytes(inner))
        hop.hlim = 39
        seen.add(dp.verify_any_packet([
            (eth_out(2) / IPv6(src=LMA, dst=COA1, hlim=64) / hop, 2),
            (eth_out(3) / IPv6(src=LMA, dst=COA2, hlim=64) / hop, 3),
        ]))
    assert seen == {0, 1}, "16 sources all on one CoA"
    dp.verify_no_other_packets()


def test_member_in_use_is_not_deleted(dp):
    """Neither target deletes a member an entry still points to (bmv2: MBR_STILL_USED)."""
    setup_lma(dp)
    dp.add_binding(HNP, A, LMA, COA1)
    with pytest.raises(Exception):
        dp.p4rt.delete([P4ActionProfileMember("binding_profile", member_id=A)])
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / BODY)
    dp.verify_packet(tunnelled(COA1), 2)
    dp.verify_no_other_packets()
