"""p4rt/entries.py + apply.EntrySet: core facts -> keyed table entries -> updates.

The expected entries are written out from the P4 program's table layout
(p4src/include/control/*.p4), not computed with the code under test.
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from ipaddress import IPv6Address as A
from ipaddress import IPv6Network as N

from finsy import P4TableEntry
from p4mobility.binding import Path, Transport, TunnelEndpoints
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


def test_rfc5213_5_3_2_new_binding_writes_peer_tunnel_binding_and_uplink_source():
    es = EntrySet()
    ups = es.plan(lma_changes(peer_added(1)) + lma_changes(created()))
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
    es.plan(lma_changes(peer_added(1)) + lma_changes(created()))
    ups = es.plan(lma_changes(peer_added(2, remote=MAG2)) + lma_changes(moved())
                  + lma_changes(peer_removed(1)))
    bindings = [u for u in ups if u.table_id == "bindings"]
    assert [(u._update_type.name, u.action.args["tunnel_peer_id"]) for u in bindings] == [("MODIFY", 2)]
    assert entry(es, "uplink_sources", coa=MAG1, home_addr=HNP) is None
    assert entry(es, "uplink_sources", coa=MAG2, home_addr=HNP) is not None
    assert entry(es, "tunnel_peers", tunnel_peer_id=1) is None


def test_rfc5213_5_3_5_deregistration_points_binding_at_no_peer_then_delete_removes_all():
    es = EntrySet()
    es.plan(lma_changes(peer_added(1)) + lma_changes(created()))
    ups = es.plan(lma_changes(BindingDeregistered(1, MN, (HNP,), (path(),), 200.0)))
    assert ops(ups) == [("DELETE", "uplink_sources"), ("INSERT", "punts"), ("MODIFY", "bindings")]
    assert entry(es, "bindings", dst_addr=HNP).action.args["tunnel_peer_id"] == 0
    # meanwhile downlink to the HNP is punted, to be held (DBUF-like) ...
    punt = next(e for (t, _), e in es.desired.items() if t == "punts")
    assert punt.match["dst_addr"] == str(HNP) and punt.priority == 20
    revived = BindingUpdated(1, MN, (HNP,), (path(),), 40.0, 240.0, reactivated=True)
    es.plan(lma_changes(revived))
    assert entry(es, "bindings", dst_addr=HNP).action.args["tunnel_peer_id"] == 1
    assert not [t for (t, _) in es.desired if t == "punts"]  # ... until it forwards again
    ups = es.plan(lma_changes(BindingDeleted(1, MN, (HNP,), (path(),), "deregistered"))
                  + lma_changes(peer_removed(1)))
    assert ops(ups) == [("DELETE", "bindings"), ("DELETE", "tunnel_peers"), ("DELETE", "tunnel_terminations"),
                        ("DELETE", "uplink_sources")]
    assert len(es) == 0


def test_refresh_without_reactivation_writes_nothing():
    es = EntrySet()
    es.plan(lma_changes(created()))
    assert es.plan(lma_changes(BindingUpdated(1, MN, (HNP,), (path(),), 40.0, 240.0))) == []


def test_a_key_changed_twice_in_one_batch_is_written_once():
    es = EntrySet()
    ups = es.plan(lma_changes(created(peer=1)) + lma_changes(moved()))
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
    ups = es.plan(mag_changes(peer_added(1, MAG1, LMA), "02:00:00:00:00:01")
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
                 encap_kind=3).action.name == "decap_from_coa"


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


def test_rfc5555_ipv4_home_address_is_an_ipv4_mapped_binding_and_uplink_source():
    es = EntrySet()
    udp = Path(0, TunnelEndpoints(HA4, NAT4, Transport.UDP_IPV4, 4191, 40001), 4)
    es.plan(lma_changes(BindingCreated(9, MN, (HNP, HOA4), (udp,), 40.0, 140.0)))
    assert entry(es, "bindings", dst_addr="::ffff:10.1.0.5/128").action.args == {"binding_id": 9,
                                                                                  "tunnel_peer_id": 4}
    assert entry(es, "uplink_sources", coa="::ffff:203.0.113.9", home_addr="::ffff:10.1.0.5/128") is not None
    assert entry(es, "uplink_sources", coa="::ffff:203.0.113.9", home_addr=HNP) is not None


def test_rfc5648_several_coas_select_the_multi_coa_action():
    es = EntrySet()
    paths = (path(1, MAG1, bid=1), path(2, MAG2, bid=2))
    es.plan(lma_changes(BindingCreated(5, MN, (HNP,), paths, 40.0, 140.0)))
    b = entry(es, "bindings", dst_addr=HNP)
    assert b.action.name == "set_multi_coa_binding" and b.action.args == {"binding_id": 5}
    # reverse tunnelled packets are accepted from any CoA of the binding (Monami6 slides)
    assert entry(es, "uplink_sources", coa=MAG1, home_addr=HNP) and entry(es, "uplink_sources", coa=MAG2, home_addr=HNP)
    # one CoA lost: its uplink source goes, the other stays
    es.plan(lma_changes(BindingMoved(5, MN, (HNP,), paths, paths[1:], 40.0, 150.0)))
    assert entry(es, "uplink_sources", coa=MAG1, home_addr=HNP) is None
    assert entry(es, "uplink_sources", coa=MAG2, home_addr=HNP) is not None
    assert entry(es, "bindings", dst_addr=HNP).action.args == {"binding_id": 5, "tunnel_peer_id": 2}
