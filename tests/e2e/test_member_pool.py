"""p4rt/member_pool.py + apply.EntrySet with a pool: a batch is one WriteRequest.

P4Runtime §12.2 lets a server reorder the updates of one WriteRequest, so no
request may insert a member and an entry naming it. The expected members are
counted from the pool's rule (a member for every id 1..highest used + headroom,
capped by the profile's size), not taken from the code under test.
"""
from __future__ import annotations

from ipaddress import IPv6Address as A
from ipaddress import IPv6Network as N

from finsy import P4TableAction

from p4mobility.binding import Path, TunnelEndpoints
from p4mobility.p4rt.apply import EntrySet
from p4mobility.p4rt.entries import BINDING_PROFILE, lma_base_entries, lma_changes
from p4mobility.p4rt.member_pool import MemberPool, is_placeholder
from p4mobility.pmip.actions import BindingCreated, BindingDeleted, TunnelPeerAdded

LMA, MAG1 = A("2001:db8:ffff::1"), A("2001:db8:a::1")
HEADROOM, SIZE = 8, 40


def hnp(i: int) -> N:
    return N(f"2001:db8:{i:x}::/64")


def created(bid: int) -> BindingCreated:
    return BindingCreated(bid, b"mn%d" % bid, (hnp(bid),), (Path(0, TunnelEndpoints(LMA, MAG1), 1),), 40.0, 140.0)


def deleted(bid: int) -> BindingDeleted:
    return BindingDeleted(bid, b"mn%d" % bid, (hnp(bid),), (Path(0, TunnelEndpoints(LMA, MAG1), 1),), "expired")


def started() -> EntrySet:
    es = EntrySet(MemberPool(SIZE, HEADROOM))
    es.load(lma_base_entries(LMA, []) + lma_changes(TunnelPeerAdded(1, TunnelEndpoints(LMA, MAG1))))
    return es


def members(es: EntrySet) -> dict[int, object]:
    return {int(k[1][0][1]): e for k, e in es.desired.items() if k[0] == BINDING_PROFILE}


def kind(u) -> tuple[str, str]:
    return u._update_type.name, getattr(u, "table_id", None) or u.action_profile_id


def no_insert_named_in_its_request(requests) -> bool:
    for req in requests:
        inserted = {u.member_id for u in req if kind(u) == ("INSERT", BINDING_PROFILE)}
        named = {u.action.member_id for u in req if getattr(u, "table_id", None) in ("bindings", "uplink_sources")}
        if inserted & named:
            return False
    return True


def test_start_has_a_placeholder_member_for_every_id_up_to_the_headroom():
    es = started()
    assert sorted(members(es)) == list(range(1, HEADROOM + 1))
    assert all(is_placeholder(m) for m in members(es).values())
    assert es.pool.top == HEADROOM


def test_registrations_within_the_headroom_are_one_request_raising_the_top():
    es = started()
    requests = es.plan_requests([c for b in (1, 2, 3) for c in lma_changes(created(b))])
    assert len(requests) == 1 and no_insert_named_in_its_request(requests)
    ups = [kind(u) for u in requests[0]]
    assert ups.count(("MODIFY", BINDING_PROFILE)) == 3
    assert ups.count(("INSERT", "bindings")) == ups.count(("INSERT", "uplink_sources")) == 3
    assert ups.count(("INSERT", BINDING_PROFILE)) == 3  # the top went from 8 to 3 + 8
    assert es.pool.top == 3 + HEADROOM and sorted(members(es)) == list(range(1, 3 + HEADROOM + 1))
    assert members(es)[2].action.name == "set_binding_tunnel_ipv6"


def test_a_batch_beyond_the_top_sends_the_raising_members_first():
    es = started()
    burst = [c for b in range(1, 13) for c in lma_changes(created(b))]  # ids 9..12 lie above the top (8)
    requests = es.plan_requests(burst)
    assert len(requests) == 2 and no_insert_named_in_its_request(requests)
    assert {kind(u) for u in requests[0]} == {("INSERT", BINDING_PROFILE)}
    assert sorted(u.member_id for u in requests[0]) == list(range(HEADROOM + 1, 12 + HEADROOM + 1))
    assert [kind(u) for u in requests[1]].count(("MODIFY", BINDING_PROFILE)) == 12


def test_deletion_is_the_deletes_and_a_modify_back_to_the_placeholder():
    es = started()
    es.plan(lma_changes(created(1)))
    requests = es.plan_requests(lma_changes(deleted(1)))
    assert len(requests) == 1
    assert sorted(kind(u) for u in requests[0]) == [("DELETE", "bindings"), ("DELETE", "uplink_sources"),
                                                    ("MODIFY", BINDING_PROFILE)]
    assert members(es)[1].action == P4TableAction("set_binding_without_tunnel", binding_id=1)


def test_the_top_stops_at_the_profile_size():
    es = started()
    es.plan([c for b in range(1, SIZE + 1) for c in lma_changes(created(b))])
    assert es.pool.top == SIZE and sorted(members(es)) == list(range(1, SIZE + 1))


def test_restart_sets_the_top_from_the_highest_restored_id():
    es = EntrySet(MemberPool(SIZE, HEADROOM))
    es.load(lma_changes(created(5)))
    assert es.pool.top == 5 + HEADROOM
    assert [b for b, m in members(es).items() if not is_placeholder(m)] == [5]
