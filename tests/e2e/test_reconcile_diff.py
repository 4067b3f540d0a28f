"""apply.diff: what reconcile writes, on entries encoded with a P4Info
(hand-written, three tables and the binding profile shaped like mobility.p4's).
Installed entries and members are built as a switch would return them:
decoded from their protobuf form."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

from finsy import P4ActionProfileMember, P4Schema, P4TableEntry

from p4mobility.binding import Path as BindingPath, TunnelEndpoints
from p4mobility.p4rt.apply import Diff, diff
from p4mobility.p4rt.entries import _member, _to_member, mag_base_entries  # as the anchor writes them

SCHEMA = P4Schema(Path(__file__).parent / "data" / "mini.p4info.txtpb")
LMA = IPv6Address("2001:db8:ffff::1")
MAG1, MAG2 = IPv6Address("2001:db8:a::1"), IPv6Address("2001:db8:b::1")


def as_read(entity):
    """Round trip through protobuf, like a Read reply."""
    if isinstance(entity, P4ActionProfileMember):
        return P4ActionProfileMember.decode(entity.encode(SCHEMA), SCHEMA)
    return P4TableEntry.decode_entry(entity.encode_entry(SCHEMA), SCHEMA)


def binding(bid: int, hnp: str, coa: IPv6Address) -> list:
    """The member (one path, PMIPv6: BID 0) and its two entries."""
    paths = (BindingPath(0, TunnelEndpoints(LMA, coa), 1),)
    return [_member(bid, paths)[1]] + [e for _, e in _to_member(bid, IPv6Network(hnp))]


def kinds(updates):
    return [(u._update_type.name, getattr(u, "table_id", None) or u.action_profile_id) for u in updates]


def test_in_sync_means_no_write():
    want = [e for _, e in mag_base_entries(MAG1, [], [1]) if e.table_id == "punts"]
    want += binding(1, "2001:db8:100::/64", MAG1)
    assert diff(want, [as_read(e) for e in want], SCHEMA) == []


def test_missing_inserted_stale_deleted_changed_modified_members_around_entries():
    b1, b2, stale = (binding(1, "2001:db8:100::/64", MAG1), binding(2, "2001:db8:101::/64", MAG1),
                     binding(3, "2001:db8:102::/64", MAG2))
    moved = binding(1, "2001:db8:100::/64", MAG2)
    installed = [as_read(e) for e in b1 + stale]
    ups = diff(moved + b2, installed, SCHEMA)
    # members inserted first, then entries and modified members, then members deleted
    assert kinds(ups[:1]) == [("INSERT", "binding_profile")]
    assert sorted(kinds(ups[1:5])) == [("DELETE", "bindings"), ("DELETE", "uplink_sources"),
                                       ("INSERT", "bindings"), ("INSERT", "uplink_sources")]
    assert kinds(ups[5:]) == [("MODIFY", "binding_profile"), ("DELETE", "binding_profile")]
    assert ups[0].member_id == 2 and ups[6].member_id == 3
    assert ups[5].member_id == 1 and ups[5].action.args["dst_addr"] == str(MAG2)
    deleted = {u.table_id: u.match for u in ups[1:5] if u._update_type.name == "DELETE"}
    assert deleted["bindings"]["dst_addr"] == as_read(stale[1]).match["dst_addr"]


def test_ternary_priority_is_part_of_the_identity():
    punts = [e for _, e in mag_base_entries(IPv6Address("2001:db8:a::1"), [], [1]) if e.table_id == "punts"]
    catch_all = next(e for e in punts if e.priority == 1)
    ups = diff([e for e in punts if e is not catch_all], [as_read(e) for e in punts], SCHEMA)
    assert kinds(ups) == [("DELETE", "punts")] and ups[0].priority == 1


def test_streamed_diff_keeps_only_the_stale_installed_entries():
    """reconcile feeds what it reads one entry at a time: an entry in sync or to be modified
    is not kept (100,000 bindings: 300,000 entries read on a restart)."""
    b1, stale = binding(1, "2001:db8:100::/64", MAG1), binding(3, "2001:db8:102::/64", MAG2)
    d = Diff(binding(1, "2001:db8:100::/64", MAG2), SCHEMA)
    for e in b1 + stale:
        d.see(as_read(e))
    assert d.read == 6 and len(d.stale) == 3  # the member moved is a MODIFY of the desired one
    kept = {(getattr(e, "table_id", None) or e.action_profile_id): e for e in d.stale.values()}
    assert kept["binding_profile"].member_id == 3
    assert kept["bindings"].match == as_read(stale[1]).match and kept["uplink_sources"].match == as_read(stale[2]).match
    assert sorted(kinds(d.updates())) == sorted(kinds(diff(binding(1, "2001:db8:100::/64", MAG2),
                                                           [as_read(e) for e in b1 + stale], SCHEMA)))
    assert [u.member_id for u in d.updates() if u._update_type.name == "MODIFY"] == [1]
