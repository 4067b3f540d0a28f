"""p4rt/entries.py + apply.EntrySet: core facts -> keyed table entries -> updates.

The expected entries are written out from the P4 program's table layout
(p4src/include/control/*.p4), not computed with the code under test.
"""
from __future__ import annotations

from ipaddress import IPv6Address as A, IPv6Network as N

from finsy import P4TableEntry

from p4mobility.p4rt.apply import EntrySet
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


def ops(updates):
    return sorted((u._update_type.name, u.table_id) for u in updates)


def entry(es: EntrySet, table: str, **match) -> P4TableEntry | None:
    for (t, m), e in es.desired.items():
        if t == table and dict(m) == {k: str(v) for k, v in match.items()}:
            return e
    return None


def created(bid=1, peer=1, coa=MAG1):
    return BindingCreated(bid, MN, None, 4, (HNP,), coa, LMA, peer, 40.0, 140.0)


def test_rfc5213_5_3_2_new_binding_writes_peer_tunnel_binding_and_uplink_source():
    es = EntrySet()
    ups = es.plan(lma_changes(TunnelPeerAdded(1, LMA, MAG1)) + lma_changes(created()))
    assert ops(ups) == [("INSERT", "bindings"), ("INSERT", "tunnel_peers"), ("INSERT", "tunnel_terminations"),
                        ("INSERT", "uplink_sources")]
    b = entry(es, "bindings", dst_addr="2001:db8:100::/64")
    assert b.action.name == "set_binding" and b.action.args == {"binding_id": 1, "tunnel_peer_id": 1}
    p = entry(es, "tunnel_peers", tunnel_peer_id=1)
    assert p.action.args == {"src_addr": str(LMA), "dst_addr": str(MAG1)}
    t = entry(es, "tunnel_terminations", outer_src_addr=MAG1, outer_dst_addr=LMA, encap_kind=1)
    assert t.action.name == "decap_from_coa"
    u = entry(es, "uplink_sources", coa=MAG1, home_addr=HNP)
    assert u.action.name == "accept_uplink" and u.action.args == {"binding_id": 1}


def test_rfc5213_5_3_4_handover_is_one_modify_of_the_binding_entry():
    es = EntrySet()
    es.plan(lma_changes(TunnelPeerAdded(1, LMA, MAG1)) + lma_changes(created()))
    moved = BindingMoved(1, MN, None, 4, (HNP,), MAG1, 1, MAG2, LMA, 2, 40.0, 150.0)
    ups = es.plan(lma_changes(TunnelPeerAdded(2, LMA, MAG2)) + lma_changes(moved)
                  + lma_changes(TunnelPeerRemoved(1, LMA, MAG1)))
    bindings = [u for u in ups if u.table_id == "bindings"]
    assert [(u._update_type.name, u.action.args["tunnel_peer_id"]) for u in bindings] == [("MODIFY", 2)]
    assert entry(es, "uplink_sources", coa=MAG1, home_addr=HNP) is None
    assert entry(es, "uplink_sources", coa=MAG2, home_addr=HNP) is not None
    assert entry(es, "tunnel_peers", tunnel_peer_id=1) is None


def test_rfc5213_5_3_5_deregistration_points_binding_at_no_peer_then_delete_removes_all():
    es = EntrySet()
    es.plan(lma_changes(TunnelPeerAdded(1, LMA, MAG1)) + lma_changes(created()))
    ups = es.plan(lma_changes(BindingDeregistered(1, MN, (HNP,), MAG1, 1, 200.0)))
    assert ops(ups) == [("DELETE", "uplink_sources"), ("INSERT", "punts"), ("MODIFY", "bindings")]
    assert entry(es, "bindings", dst_addr=HNP).action.args["tunnel_peer_id"] == 0
    # meanwhile downlink to the HNP is punted, to be held (DBUF-like) ...
    punt = next(e for (t, _), e in es.desired.items() if t == "punts")
    assert punt.match["dst_addr"] == str(HNP) and punt.priority == 20
    revived = BindingUpdated(1, MN, (HNP,), MAG1, LMA, 1, 40.0, 240.0, reactivated=True)
    es.plan(lma_changes(revived))
    assert entry(es, "bindings", dst_addr=HNP).action.args["tunnel_peer_id"] == 1
    assert not [t for (t, _) in es.desired if t == "punts"]  # ... until it forwards again
    ups = es.plan(lma_changes(BindingDeleted(1, MN, (HNP,), MAG1, 1, "deregistered"))
                  + lma_changes(TunnelPeerRemoved(1, LMA, MAG1)))
    assert ops(ups) == [("DELETE", "bindings"), ("DELETE", "tunnel_peers"), ("DELETE", "tunnel_terminations"),
                        ("DELETE", "uplink_sources")]
    assert len(es) == 0


def test_refresh_without_reactivation_writes_nothing():
    es = EntrySet()
    es.plan(lma_changes(created()))
    assert es.plan(lma_changes(BindingUpdated(1, MN, (HNP,), MAG1, LMA, 1, 40.0, 240.0))) == []


def test_a_key_changed_twice_in_one_batch_is_written_once():
    es = EntrySet()
    ups = es.plan(lma_changes(created(peer=1)) + lma_changes(
        BindingMoved(1, MN, None, 4, (HNP,), MAG1, 1, MAG2, LMA, 2, 40.0, 150.0)))
    assert [u.table_id for u in ups].count("bindings") == 1
    assert ups[0]._update_type.name == "INSERT" and ups[0].action.args["tunnel_peer_id"] == 2


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
    ups = es.plan(mag_changes(TunnelPeerAdded(1, MAG1, LMA), "02:00:00:00:00:01")
                  + mag_changes(installed, "02:00:00:00:00:01"))
    assert ("DELETE", "punts") in ops(ups)
    up = entry(es, "mag_uplinks", ingress_port=1, src_addr=HNP)
    assert up.action.args == {"binding_id": 1, "tunnel_peer_id": 1}
    down = entry(es, "mag_downlinks", dst_addr=HNP)
    assert down.action.args == {"binding_id": 1, "port": 1, "src_mac": "02:00:00:00:00:01",
                                "dst_mac": "02:00:00:00:00:aa"}
    assert entry(es, "tunnel_terminations", outer_src_addr=LMA, outer_dst_addr=MAG1,
                 encap_kind=1).action.name == "decap_from_lma"
    ups = es.plan(mag_changes(MagBindingRemoved(1, MN, (HNP,), LMA, 1, "detached"), "02:00:00:00:00:01"))
    assert ops(ups) == [("DELETE", "mag_downlinks"), ("DELETE", "mag_uplinks"), ("INSERT", "punts")]
