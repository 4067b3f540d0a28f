"""The entries p4rt/entries.py makes from core actions, written to the switch
as they are: every tunnel transport the program has (RFC 2473 IPv6, RFC 4213 /
RFC 2003 IPv4, RFC 5555 UDP 4191 with the NAT's port), IPv6 and IPv4 home
addresses, handover and de-registration (each one update: the binding's
member of binding_profile). Expected frames are built with scapy from the
documented layouts; the entries are not written by hand here."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from p4mobility.binding import Path, TunnelEndpoints, Transport
from p4mobility.p4rt.apply import EntrySet
from p4mobility.p4rt.entries import lma_changes
from p4mobility.pmip.actions import (
    BindingCreated,
    BindingDeregistered,
    BindingMoved,
    TunnelPeerAdded,
)

from .p4consts import DropReason
from .packets import (
    CN, CN_PREFIX, CN_V4, CN_V4_PREFIX, COA1, COA1_PREFIX, COA2, COA2_PREFIX, COA_V4, COA_V4_PREFIX,
    DSMIPV6_PORT, HNP, HOA_V4, LMA, LMA_V4, MN, NAT_PORT, eth_in, eth_out,
)

BODY = UDP(sport=5000, dport=6000) / Raw(b"translated" * 6)
BINDING = 31
A6, A4 = IPv6Address, IPv4Address

# transport -> (tunnel endpoints, port the CoA is behind, outer headers the switch adds/strips)
TRANSPORTS = {
    "ipv6": (TunnelEndpoints(A6(LMA), A6(COA1)), 2),
    "ipv4": (TunnelEndpoints(A4(LMA_V4), A4(COA_V4), Transport.IPV4), 2),
    "udp": (TunnelEndpoints(A4(LMA_V4), A4(COA_V4), Transport.UDP_IPV4, DSMIPV6_PORT, NAT_PORT), 2),
}


@pytest.fixture
def write(dp):
    """Writes the changes of core actions as the node does (apply.EntrySet plans the
    INSERT/MODIFY/DELETE updates); everything still written is deleted afterwards."""
    es = EntrySet()
    ops = {"INSERT": dp.p4rt.insert, "MODIFY": dp.p4rt.modify, "DELETE": dp.p4rt.delete}

    def apply(actions):
        updates = es.plan([c for a in actions for c in lma_changes(a)])
        for u in updates:
            ops[u._update_type.name]([u])
        return [(u._update_type.name, getattr(u, "table_id", None) or u.action_profile_id) for u in updates]

    yield apply
    for entry in reversed(list(es.desired.values())):
        dp.p4rt.delete([entry])


def outer(ends: TunnelEndpoints, inner_v4: bool):
    """The outer headers of a downlink packet into ``ends`` (our side is the source)."""
    if ends.transport is Transport.IPV6:
        return IPv6(src=str(ends.local), dst=str(ends.remote), hlim=64, nh=4 if inner_v4 else 41)
    # DF set over IPv6 inside; copied from an IPv4 inner header (RFC 2003 §3.1), here clear
    ip = IP(src=str(ends.local), dst=str(ends.remote), ttl=64, id=0, flags=0 if inner_v4 else "DF")
    if ends.transport is Transport.IPV4:
        ip.proto = 4 if inner_v4 else 41
        return ip
    return ip / UDP(sport=ends.local_port, dport=ends.remote_port, chksum=0)


def uplink_outer(ends: TunnelEndpoints, inner_v4: bool):
    """Outer headers of a reverse-tunnelled packet from the CoA (the MN's side is the source)."""
    if ends.transport is Transport.IPV6:
        return IPv6(src=str(ends.remote), dst=str(ends.local), nh=4 if inner_v4 else 41)
    if ends.transport is Transport.IPV4:
        return IP(src=str(ends.remote), dst=str(ends.local), proto=4 if inner_v4 else 41)
    return IP(src=str(ends.remote), dst=str(ends.local)) / UDP(sport=ends.remote_port, dport=ends.local_port)


def base(dp):
    dp.add_local_address(LMA)
    dp.add_local_address(LMA_V4)
    for prefix, port in ((CN_PREFIX, 1), (CN_V4_PREFIX, 1), (COA1_PREFIX, 2), (COA2_PREFIX, 3),
                         (COA_V4_PREFIX, 2)):
        dp.add_route(prefix, port)


def created(ends, peer=1, homes=(HNP,)):
    path = Path(0, ends, peer)
    return [TunnelPeerAdded(peer, ends, inner_ipv4=True),
            BindingCreated(BINDING, b"mn", tuple(ip_network(h) for h in homes), (path,), 40.0, 140.0)]


def dec_v4(ip: IP) -> IP:
    out = IP(bytes(ip))
    out.ttl -= 1
    del out.chksum
    return out


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_translated_entries_tunnel_ipv6_and_ipv4_home_addresses_both_ways(dp, write, transport):
    ends, port = TRANSPORTS[transport]
    base(dp)
    write(created(ends, homes=(HNP, HOA_V4 + "/32")))
    # downlink: IPv6 home address, then IPv4 home address (RFC 5555)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / BODY)
    dp.verify_packet(eth_out(port) / outer(ends, False) / IPv6(src=CN, dst=MN, hlim=63) / BODY, port)
    v4 = IP(src=CN_V4, dst=HOA_V4, ttl=64, id=7) / BODY
    dp.send(1, eth_in() / v4)
    dp.verify_packet(eth_out(port) / outer(ends, True) / dec_v4(v4), port)
    # uplink from the CoA: decapsulated and routed (RFC 5213 §5.6.2)
    dp.send(port, eth_in() / uplink_outer(ends, False) / IPv6(src=MN, dst=CN, hlim=9) / BODY)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=8) / BODY, 1)
    v4up = IP(src=HOA_V4, dst=CN_V4, ttl=20, id=8) / BODY
    dp.send(port, eth_in() / uplink_outer(ends, True) / v4up)
    dp.verify_packet(eth_out(1) / dec_v4(v4up), 1)
    # an inner source that is not the binding's home address is spoofing
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(port, eth_in() / uplink_outer(ends, False) / IPv6(src="2001:db8:999::9", dst=CN) / BODY)
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1
    dp.verify_no_other_packets()


def test_translated_handover_and_deregistration(dp, write):
    base(dp)
    one = TunnelEndpoints(A6(LMA), A6(COA1))
    two = TunnelEndpoints(A6(LMA), A6(COA2))
    write(created(one))
    moved = BindingMoved(BINDING, b"mn", (ip_network(HNP),), (Path(0, one, 1),), (Path(0, two, 2),), 40.0, 150.0)
    assert write([moved]) == [("MODIFY", "binding_profile")]  # the handover: one update
    write([TunnelPeerAdded(2, two, inner_ipv4=True)])
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / BODY)
    dp.verify_packet(eth_out(3) / IPv6(src=LMA, dst=COA2, hlim=64) / IPv6(src=CN, dst=MN, hlim=63) / BODY, 3)
    # the old CoA no longer carries the binding's uplink (Monami6: only registered CoAs)
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA) / IPv6(src=MN, dst=CN) / BODY)
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1
    # RFC 5213 §5.3.5: de-registered, the downlink is punted (to be held), not tunnelled
    assert sorted(write([BindingDeregistered(BINDING, b"mn", (ip_network(HNP),), (Path(0, two, 2),), 200.0)])) == [
        ("INSERT", "punts"), ("MODIFY", "binding_profile")]
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / BODY)
    pin = dp.verify_packet_in()
    assert pin["punt_reason"] == 5  # PUNT_RULE
    dp.verify_no_other_packets()


def test_translated_rfc5648_binding_spreads_flows_over_its_coas_and_accepts_uplink_from_each(dp, write):
    from scapy.layers.inet import TCP

    base(dp)
    one, two = TunnelEndpoints(A6(LMA), A6(COA1)), TunnelEndpoints(A6(LMA), A6(COA2))
    paths = (Path(1, one, 1), Path(2, two, 2))
    write([TunnelPeerAdded(1, one), TunnelPeerAdded(2, two),
           BindingCreated(BINDING, b"mn", (ip_network(HNP),), paths, 40.0, 140.0)])
    seen: dict[int, int] = {}
    for sport in range(41000, 41016):  # the selector hashes each flow onto one CoA, always the same
        inner = IPv6(src=CN, dst=MN, hlim=64) / TCP(sport=sport, dport=443, flags="S")
        for _ in range(2):
            dp.send(1, eth_in() / inner)
            hop = IPv6(bytes(inner))
            hop.hlim = 63
            choice = dp.verify_any_packet([(eth_out(2) / IPv6(src=LMA, dst=COA1, hlim=64) / hop, 2),
                                           (eth_out(3) / IPv6(src=LMA, dst=COA2, hlim=64) / hop, 3)])
            assert seen.setdefault(sport, choice) == choice, "a flow changed CoA"
    assert set(seen.values()) == {0, 1}, "16 flows all on one CoA"
    for port, coa in ((2, COA1), (3, COA2)):  # Monami6: uplink from any registered CoA
        dp.send(port, eth_in() / IPv6(src=coa, dst=LMA) / IPv6(src=MN, dst=CN, hlim=9) / BODY)
        dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=8) / BODY, 1)
    # one CoA lost: everything to the other, its uplink only
    write([BindingMoved(BINDING, b"mn", (ip_network(HNP),), paths, paths[1:], 40.0, 150.0)])
    for sport in (41000, 41001, 41002):
        dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / TCP(sport=sport, dport=443, flags="S"))
        hop = IPv6(src=CN, dst=MN, hlim=63) / TCP(sport=sport, dport=443, flags="S")
        dp.verify_packet(eth_out(3) / IPv6(src=LMA, dst=COA2, hlim=64) / hop, 3)
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA) / IPv6(src=MN, dst=CN) / BODY)
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1
    dp.verify_no_other_packets()
