"""p4rt/entries.py + apply.EntrySet: core facts -> keyed table entries -> updates.

The expected entries are written out from the P4 program's table layout
(p4src/include/control/*.p4), not computed with the code under test.
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from ipaddress import IPv6Address as A
from ipaddress import IPv6Network as N

from finsy import P4ActionProfileGroup, P4ActionProfileMember, P4IndirectAction, P4TableAction, P4TableEntry
from p4mobility.binding import Path, Transport, TunnelEndpoints
from p4mobility.p4rt.apply import EntrySet, phases
from p4mobility.p4rt.entries import (
    Route,
    lma_base_entries,
    lma_changes,
    mag_base_entries,
    mag_changes,
)
from p4mobility.pmip.actions import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    MagBindingInstalled,
    MagBindingRemoved,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)

LMA = A("2001:db8:ffff::1")
MAG1, MAG2 = A("2001:db8:a::1"), A("2001:db8:b::1")
HNP = N("2001:db8:100::/64")
MN = b"mn1@example"


def _name(u) -> str:
    if isinstance(u, P4ActionProfileGroup):
        return f"{u.action_profile_id}/group"
    return u.action_profile_id if isinstance(u, P4ActionProfileMember) else u.table_id


def ops(updates):
    return sorted((u._update_type.name, _name(u)) for u in updates)


def in_order(updates):
    return [(u._update_type.name, _name(u)) for u in updates]


def entry(es: EntrySet, table: str, **match) -> P4TableEntry | None:
    for (t, m), e in es.desired.items():
        if t == table and dict(m) == {k: str(v) for k, v in match.items()}:
            return e
    return None


def member(es: EntrySet, member_id: int) -> P4ActionProfileMember | None:
    return es.desired.get(("binding_profile", (("member_id", str(member_id)),)))


def points_to_member(es: EntrySet, hnp, member_id: int) -> bool:
    ref = P4IndirectAction(member_id=member_id)
    return (entry(es, "bindings", dst_addr=hnp).action == ref
            and entry(es, "uplink_sources", home_addr=hnp).action == ref)


def tunnel6(bid, coa):
    return P4TableAction("set_binding_tunnel_ipv6", binding_id=bid, src_addr=str(LMA), dst_addr=str(coa))


def path(peer=1, coa=MAG1, bid=0):
    return Path(bid, TunnelEndpoints(LMA, coa), peer)


def peer_added(i, local=LMA, remote=MAG1):
    return TunnelPeerAdded(i, TunnelEndpoints(local, remote))


def peer_removed(i, local=LMA, remote=MAG1):
    return TunnelPeerRemoved(i, TunnelEndpoints(local, remote))


def created(bid=1, peer=1, coa=MAG1):
    return BindingCreated(bid, MN, (HNP,), (path(peer, coa),), 40.0, 140.0)


def moved(bid=1):
    return BindingMoved(bid, MN, (HNP,), (path(1, MAG1),), (path(2, MAG2),), 40.0, 150.0)


def test_rfc5213_5_3_2_new_binding_writes_its_member_then_the_entries_pointing_to_it():
    es = EntrySet()
    ups = es.plan(lma_changes(peer_added(1)) + lma_changes(created()))
    assert ops(ups) == [("INSERT", "binding_profile"), ("INSERT", "bindings"), ("INSERT", "tunnel_peers"),
                        ("INSERT", "tunnel_terminations"), ("INSERT", "uplink_sources")]
    assert in_order(ups)[0] == ("INSERT", "binding_profile")  # before the entries that point to it
    assert [len(ph) for ph in phases(ups)] == [1, 4]
    assert member(es, 1).action == tunnel6(1, MAG1)
    assert points_to_member(es, HNP, 1)
    p = entry(es, "tunnel_peers", tunnel_peer_id=1)
    assert p.action.args == {"src_addr": str(LMA), "dst_addr": str(MAG1)}
    t = entry(es, "tunnel_terminations", outer_src_addr=MAG1, outer_dst_addr=LMA, encap_kind=1, outer_src_port=0)
    assert t.action.name == "decap_from_coa"


def test_rfc5213_5_3_4_handover_is_one_modify_of_the_binding_member():
    es = EntrySet()
    es.plan(lma_changes(peer_added(1)) + lma_changes(created()))
    ups = es.plan(lma_changes(moved()))
    assert in_order(ups) == [("MODIFY", "binding_profile")] and ups[0].action == tunnel6(1, MAG2)
    # with the new and the old MAG's peer entries in the same batch: still one update for the binding
    es = EntrySet()
    es.plan(lma_changes(peer_added(1)) + lma_changes(created()))
    ups = es.plan(lma_changes(peer_added(2, remote=MAG2)) + lma_changes(moved()) + lma_changes(peer_removed(1)))
    assert ops(ups) == [("DELETE", "tunnel_peers"), ("DELETE", "tunnel_terminations"), ("INSERT", "tunnel_peers"),
                        ("INSERT", "tunnel_terminations"), ("MODIFY", "binding_profile")]
    assert len(phases(ups)) == 1  # one WriteRequest, the member after the new peer's entries
    assert in_order(ups)[-1] == ("MODIFY", "binding_profile")
    assert points_to_member(es, HNP, 1) and entry(es, "tunnel_peers", tunnel_peer_id=1) is None


def test_rfc5213_5_3_5_deregistration_is_one_modify_then_delete_removes_entries_before_the_member():
    es = EntrySet()
    es.plan(lma_changes(peer_added(1)) + lma_changes(created()))
    ups = es.plan(lma_changes(BindingDeregistered(1, MN, (HNP,), (path(),), 200.0)))
    assert ops(ups) == [("INSERT", "punts"), ("MODIFY", "binding_profile")]
    assert member(es, 1).action == P4TableAction("set_binding_without_tunnel", binding_id=1)
    # meanwhile downlink to the HNP is punted, to be held (DBUF-like) ...
    punt = next(e for (t, _), e in es.desired.items() if t == "punts")
    assert punt.match["dst_addr"] == str(HNP) and punt.priority == 20
    revived = BindingUpdated(1, MN, (HNP,), (path(),), 40.0, 240.0, reactivated=True)
    ups = es.plan(lma_changes(revived))
    assert ops(ups) == [("DELETE", "punts"), ("MODIFY", "binding_profile")]
    assert member(es, 1).action == tunnel6(1, MAG1)
    assert not [t for (t, _) in es.desired if t == "punts"]  # ... until it forwards again
    ups = es.plan(lma_changes(BindingDeleted(1, MN, (HNP,), (path(),), "deregistered"))
                  + lma_changes(peer_removed(1)))
    assert ops(ups) == [("DELETE", "binding_profile"), ("DELETE", "bindings"), ("DELETE", "tunnel_peers"),
                        ("DELETE", "tunnel_terminations"), ("DELETE", "uplink_sources")]
    assert in_order(ups)[-1] == ("DELETE", "binding_profile")  # after the entries that pointed to it
    assert [len(ph) for ph in phases(ups)] == [4, 1]
    assert len(es) == 0


def test_refresh_without_reactivation_writes_nothing():
    es = EntrySet()
    es.plan(lma_changes(created()))
    assert es.plan(lma_changes(BindingUpdated(1, MN, (HNP,), (path(),), 40.0, 240.0))) == []


def test_a_key_changed_twice_in_one_batch_is_written_once():
    es = EntrySet()
    ups = es.plan(lma_changes(created(peer=1)) + lma_changes(moved()))
    assert [_name(u) for u in ups].count("binding_profile") == 1
    assert ups[0]._update_type.name == "INSERT" and ups[0].action == tunnel6(1, MAG2)


def test_binding_id_reused_in_one_batch_modifies_the_member():
    """Binding 1 deleted and a new binding given id 1 in the same batch: no member delete."""
    es = EntrySet()
    es.plan(lma_changes(created()))
    other = N("2001:db8:200::/64")
    ups = es.plan(lma_changes(BindingDeleted(1, MN, (HNP,), (path(),), "expired"))
                  + lma_changes(BindingCreated(1, b"mn2", (other,), (path(2, MAG2),), 40.0, 140.0)))
    assert ("MODIFY", "binding_profile") in ops(ups) and ("DELETE", "binding_profile") not in ops(ups)
    assert len(phases(ups)) == 1
    assert entry(es, "bindings", dst_addr=HNP) is None and points_to_member(es, other, 1)


def test_base_entries_lma_and_mag():
    r = Route(N("2001:db8:c::/64"), 3, "02:00:00:00:00:0a", "02:00:00:00:00:0b")
    es = EntrySet()
    es.plan(lma_base_entries(LMA, [r]))
    assert entry(es, "local_addresses", dst_addr=LMA).action.name == "set_local"
    assert entry(es, "routes", dst_addr="2001:db8:c::/64").action.args == {
        "port": 3, "src_mac": "02:00:00:00:00:0a", "dst_mac": "02:00:00:00:00:0b"}
    mag = EntrySet()
    mag.plan(mag_base_entries(MAG1, [], [1]))
    punts = [e for (t, _), e in mag.desired.items() if t == "punts"]
    # RS (133) and NS (135) from the access port, plus the attach catch-all
    assert sorted((e.priority, e.match.get("icmp_type")) for e in punts) == [(1, None), (10, 133), (10, 135)]


def test_rfc5213_6_10_5_mag_binding_entries_and_attach_punt_toggle():
    es = EntrySet()
    es.plan(mag_base_entries(MAG1, [], [1]))
    installed = MagBindingInstalled(1, MN, bytes.fromhex("0200000000aa"), (HNP,), LMA, MAG1, 1,
                                    A("fe80::1"), 40.0)
    ups = es.plan(mag_changes(peer_added(1, MAG1, LMA), "02:00:00:00:00:01")
                  + mag_changes(installed, "02:00:00:00:00:01"))
    assert ("DELETE", "punts") in ops(ups)
    up = entry(es, "mag_uplinks", ingress_port=1, src_addr=HNP)
    assert up.action.args == {"binding_id": 1, "tunnel_peer_id": 1}
    down = entry(es, "mag_downlinks", dst_addr=HNP)
    assert down.action.args == {"binding_id": 1, "port": 1, "src_mac": "02:00:00:00:00:01",
                                "dst_mac": "02:00:00:00:00:aa"}
    assert entry(es, "tunnel_terminations", outer_src_addr=LMA, outer_dst_addr=MAG1,
                 encap_kind=1, outer_src_port=0).action.name == "decap_from_lma"
    ups = es.plan(mag_changes(MagBindingRemoved(1, MN, (HNP,), LMA, 1, "detached"), "02:00:00:00:00:01"))
    assert ops(ups) == [("DELETE", "mag_downlinks"), ("DELETE", "mag_uplinks"), ("INSERT", "punts")]


HA4, COA4, NAT4 = IPv4Address("192.0.2.1"), IPv4Address("198.51.100.7"), IPv4Address("203.0.113.9")
HOA4 = IPv4Network("10.1.0.5/32")


def test_rfc4213_ipv4_tunnel_peer_loads_ipv4_endpoints_and_terminates_both_inner_families():
    es = EntrySet()
    es.plan(lma_changes(TunnelPeerAdded(3, TunnelEndpoints(HA4, COA4, Transport.IPV4), inner_ipv4=True)))
    p = entry(es, "tunnel_peers", tunnel_peer_id=3)
    assert p.action.name == "load_tunnel_peer_ipv4" and p.action.args == {"src_addr": "192.0.2.1",
                                                                          "dst_addr": "198.51.100.7"}
    # p4src define.p4 EncapKind: 3 = IPv6-in-IPv4, 6 = IPv4-in-IPv4; addresses IPv4-mapped
    kinds = sorted(int(dict(m)["encap_kind"]) for (t, m) in es.desired if t == "tunnel_terminations")
    assert kinds == [3, 6]
    assert entry(es, "tunnel_terminations", outer_src_addr="::ffff:198.51.100.7", outer_dst_addr="::ffff:192.0.2.1",
                 encap_kind=3, outer_src_port=0).action.name == "decap_from_coa"


def test_rfc5555_4_1_udp_tunnel_peer_carries_the_nat_ports():
    es = EntrySet()
    ends = TunnelEndpoints(HA4, NAT4, Transport.UDP_IPV4, 4191, 40001)
    es.plan(lma_changes(TunnelPeerAdded(4, ends, inner_ipv4=True)))
    p = entry(es, "tunnel_peers", tunnel_peer_id=4)
    assert p.action.name == "load_tunnel_peer_udp"
    assert p.action.args == {"src_addr": "192.0.2.1", "dst_addr": "203.0.113.9", "src_port": 4191, "dst_port": 40001}
    # 4 = IPv6-in-UDP-in-IPv4, 5 = IPv4-in-UDP-in-IPv4 (RFC 5555)
    assert sorted(int(dict(m)["encap_kind"]) for (t, m) in es.desired if t == "tunnel_terminations") == [4, 5]
    ups = es.plan(lma_changes(TunnelPeerRemoved(4, ends, inner_ipv4=True)))
    assert ops(ups) == [("DELETE", "tunnel_peers"), ("DELETE", "tunnel_terminations"),
                        ("DELETE", "tunnel_terminations")] and len(es) == 0


def test_rfc5555_ipv4_home_address_points_to_the_member_of_a_udp_tunnel():
    es = EntrySet()
    udp = Path(0, TunnelEndpoints(HA4, NAT4, Transport.UDP_IPV4, 4191, 40001), 4)
    es.plan(lma_changes(BindingCreated(9, MN, (HNP, HOA4), (udp,), 40.0, 140.0)))
    assert member(es, 9).action == P4TableAction("set_binding_tunnel_udp", binding_id=9, src_addr="192.0.2.1",
                                                 dst_addr="203.0.113.9", src_port=4191, dst_port=40001)
    assert points_to_member(es, "::ffff:10.1.0.5/128", 9) and points_to_member(es, HNP, 9)


def test_rfc4213_ipv4_path_gives_an_ipv4_tunnel_member():
    es = EntrySet()
    v4 = Path(0, TunnelEndpoints(HA4, COA4, Transport.IPV4), 3)
    es.plan(lma_changes(BindingCreated(8, MN, (HOA4,), (v4,), 40.0, 140.0)))
    assert member(es, 8).action == P4TableAction("set_binding_tunnel_ipv4", binding_id=8, src_addr="192.0.2.1",
                                                 dst_addr="198.51.100.7")


def test_rfc5648_several_coas_select_the_multi_coa_member_and_list_the_coas():
    es = EntrySet()
    paths = (path(1, MAG1, bid=1), path(2, MAG2, bid=2))
    es.plan(lma_changes(BindingCreated(5, MN, (HNP,), paths, 40.0, 140.0)))
    assert member(es, 5).action == P4TableAction("set_multi_coa_binding", binding_id=5)
    assert points_to_member(es, HNP, 5)
    # reverse tunnelled packets are accepted from any CoA of the binding (Monami6 slides)
    for coa in (MAG1, MAG2):
        assert entry(es, "binding_coas", binding_id=5, coa=coa).action.name == "accept_coa"
    # RFC 5648 downlink: a selector group over one member per CoA (the binding's own), per flow
    group = es.desired[("binding_peer_selector", (("group_id", "5"),))]
    sel = [es.desired[("binding_peer_selector", (("member_id", str(m.member_id)),))] for m in group.members]
    assert sorted(m.action.args["tunnel_peer_id"] for m in sel) == [1, 2]
    assert entry(es, "binding_peers", binding_id=5).action.group_id == 5
    # one CoA lost: one path left, so the member is its tunnel, binding_coas and the selector are gone
    ups = es.plan(lma_changes(BindingMoved(5, MN, (HNP,), paths, paths[1:], 40.0, 150.0)))
    assert ops(ups) == [("DELETE", "binding_coas"), ("DELETE", "binding_coas"), ("DELETE", "binding_peer_selector"),
                        ("DELETE", "binding_peer_selector"), ("DELETE", "binding_peer_selector/group"),
                        ("DELETE", "binding_peers"), ("MODIFY", "binding_profile")]
    assert in_order(ups)[-2:] == [("DELETE", "binding_peer_selector/group"), ("DELETE", "binding_peer_selector")] \
        or in_order(ups)[-3:-1] == [("DELETE", "binding_peer_selector/group"), ("DELETE", "binding_peer_selector")]
    assert member(es, 5).action == tunnel6(5, MAG2)
    # and back to two: the entries pointing to the member are not rewritten
    ups = es.plan(lma_changes(BindingMoved(5, MN, (HNP,), paths[1:], paths, 40.0, 160.0)))
    assert ops(ups) == [("INSERT", "binding_coas"), ("INSERT", "binding_coas"), ("INSERT", "binding_peer_selector"),
                        ("INSERT", "binding_peer_selector"), ("INSERT", "binding_peer_selector/group"),
                        ("INSERT", "binding_peers"), ("MODIFY", "binding_profile")]
    assert in_order(ups)[:3] == [("INSERT", "binding_peer_selector")] * 2 + [("INSERT", "binding_peer_selector/group")]
    ups = es.plan(lma_changes(BindingDeregistered(5, MN, (HNP,), paths, 200.0)))
    assert ops(ups) == [("DELETE", "binding_coas"), ("DELETE", "binding_coas"), ("DELETE", "binding_peer_selector"),
                        ("DELETE", "binding_peer_selector"), ("DELETE", "binding_peer_selector/group"),
                        ("DELETE", "binding_peers"), ("INSERT", "punts"), ("MODIFY", "binding_profile")]


def test_members_through_one_peer_share_its_address_text():
    """100,000 bindings: each member names the LMA and its MAG with the one string per
    peer address, and a binding's two entries hold one string for its prefix."""
    es = EntrySet()
    es.plan(lma_changes(created(1)) + lma_changes(BindingCreated(2, b"mn2", (N("2001:db8:101::/64"),), (path(),),
                                                                 40.0, 140.0)))
    a, b = member(es, 1).action.args, member(es, 2).action.args
    assert a == tunnel6(1, MAG1).args and b == tunnel6(2, MAG1).args
    assert a["src_addr"] is b["src_addr"] and a["dst_addr"] is b["dst_addr"]
    down, up = entry(es, "bindings", dst_addr=HNP), entry(es, "uplink_sources", home_addr=HNP)
    assert down.match["dst_addr"] is up.match["home_addr"] == str(HNP)


def test_load_leaves_the_desired_set_plan_leaves_without_updates():
    changes = (lma_base_entries(LMA, []) + lma_changes(peer_added(1)) + lma_changes(created(1))
               + lma_changes(created(2, coa=MAG1)) + lma_changes(BindingDeleted(2, MN, (HNP,), (path(),), "expired")))
    planned, loaded = EntrySet(), EntrySet()
    planned.plan(changes)
    loaded.load(iter(changes))  # a generator is enough: restore() makes them as they are loaded
    assert loaded.desired == planned.desired and loaded.version == 1
