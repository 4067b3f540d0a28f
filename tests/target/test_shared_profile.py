"""One action profile shared by two tables (tests/target/p4/shared_profile.p4).

`by_src` (IPv6 source) and `by_dst` (destination) both point at members of
`peers` and are applied to the same packet; the source's member gives the
Ethernet source, the destination's member the port and Ethernet destination.
Modifying one member changes what both tables do; a member that an entry of
either table references cannot be deleted (bmv2: MBR_STILL_USED).
"""

from __future__ import annotations

import finsy as fy
import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4mob_switch.errors import FailedPrecondition

from .tlib import BUILD, Rig

JSON, INFO = BUILD / "shared_profile.json", BUILD / "shared_profile.p4info.txtpb"
A_NET, B_NET = "2001:db8:a::/48", "2001:db8:b::/48"
A, B = "2001:db8:a::1", "2001:db8:b::1"
MAC_A, MAC_B, MAC_A2 = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:0a:02"
E, M, ACT = fy.P4TableEntry, fy.P4TableMatch, fy.P4TableAction


@pytest.fixture
def rig() -> Rig:
    if not JSON.exists():
        pytest.skip("tests/target/p4/build/shared_profile.json not built (needs p4c-bm2-ss)")
    return Rig(4, JSON, INFO)


def frame(src: str, dst: str, eth_src: str = "02:00:00:00:00:01", eth_dst: str = "02:00:00:00:00:02") -> bytes:
    return bytes(Ether(src=eth_src, dst=eth_dst) / IPv6(src=src, dst=dst, nh=59) / Raw(b"shared"))


def member(mid: int, port: int, mac: str):
    return fy.P4ActionProfileMember("peers", member_id=mid, action=ACT("use_peer", port=port, mac=mac))


def both_tables(rig: Rig) -> None:
    """A and B each: one member, pointed to by an entry in each table."""
    rig.write(+member(1, 2, MAC_A), +member(2, 3, MAC_B))
    for net, mid in ((A_NET, 1), (B_NET, 2)):
        rig.write(+E("by_src", match=M(src=net), action=fy.P4IndirectAction(member_id=mid)),
                  +E("by_dst", match=M(dst=net), action=fy.P4IndirectAction(member_id=mid)))


def test_p4info_lists_both_tables_for_the_profile(rig: Rig) -> None:
    prof = rig.schema.action_profiles["peers"]
    assert prof.table_names == ["by_dst", "by_src"]


def test_one_member_serves_both_tables_on_one_packet(rig: Rig) -> None:
    both_tables(rig)
    assert rig.send(1, frame(A, B)) == {3: [frame(A, B, eth_src=MAC_A, eth_dst=MAC_B)]}
    assert rig.send(1, frame(B, A)) == {2: [frame(B, A, eth_src=MAC_B, eth_dst=MAC_A)]}
    assert rig.send(1, frame(A, A)) == {2: [frame(A, A, eth_src=MAC_A, eth_dst=MAC_A)]}


def test_modify_of_the_member_moves_both_directions(rig: Rig) -> None:
    both_tables(rig)
    rig.write(~member(1, 4, MAC_A2))
    assert rig.send(1, frame(A, B)) == {3: [frame(A, B, eth_src=MAC_A2, eth_dst=MAC_B)]}
    assert rig.send(1, frame(B, A)) == {4: [frame(B, A, eth_src=MAC_B, eth_dst=MAC_A2)]}
    rig.write(~fy.P4ActionProfileMember("peers", member_id=1, action=ACT("no_peer")))
    assert rig.send(1, frame(A, B)) == {}  # the source's member says no peer: dropped
    assert rig.send(1, frame(B, A)) == {}


def test_member_referenced_by_either_table_is_not_deleted(rig: Rig) -> None:
    both_tables(rig)
    with pytest.raises(FailedPrecondition):
        rig.write(-member(1, 2, MAC_A))
    rig.write(-E("by_dst", match=M(dst=A_NET)))
    with pytest.raises(FailedPrecondition):  # by_src still points at it
        rig.write(-member(1, 2, MAC_A))
    rig.write(~E("by_src", match=M(src=A_NET), action=fy.P4IndirectAction(member_id=2)))
    rig.write(-member(1, 2, MAC_A))  # no entry references member 1 now
    assert [m.member_id for m in rig.read(fy.P4ActionProfileMember("peers"))] == [2]
    assert rig.send(1, frame(A, B)) == {3: [frame(A, B, eth_src=MAC_B, eth_dst=MAC_B)]}


def test_entry_needs_an_existing_member(rig: Rig) -> None:
    rig.write(+member(1, 2, MAC_A))
    with pytest.raises(Exception, match="no member 7"):
        rig.write(+E("by_dst", match=M(dst=B_NET), action=fy.P4IndirectAction(member_id=7)))
    assert rig.read(E("by_dst")) == []


def test_reference_counts_follow_inserts_modifies_deletes_over_two_tables() -> None:
    """Without a compiled program: two Table objects on one ActionProfile."""
    from p4mob_switch.actions import Action
    from p4mob_switch.tables import ActionProfile, Entry, KeyField, Table

    act = Action("use_peer", 1, [("port", 9)], lambda F, V, d, X: None, [])
    prof = ActionProfile("peers", 4, None)
    tables = [Table(n, i, [KeyField("k", "exact", 8)], lambda F, V: (0,), {"use_peer": act}, 8, "indirect",
                    prof, False, {}, None) for i, n in enumerate(("by_src", "by_dst"))]
    prof.add_member(1, act, (2,))
    prof.add_member(2, act, (3,))
    tables[0].insert(Entry((5,), 0, member_id=1))
    tables[1].insert(Entry((5,), 0, member_id=1))
    tables[1].modify(Entry((5,), 0, member_id=2))
    with pytest.raises(FailedPrecondition):
        prof.delete_member(1)  # tables[0] still uses it
    with pytest.raises(FailedPrecondition):
        prof.delete_member(2)
    tables[0].delete((5,), 0)
    prof.delete_member(1)
    tables[1].clear()
    prof.delete_member(2)
    assert prof.members == {} and prof.refs == {}


def test_member_handles_reuse_the_smallest_free_one_as_bmv2() -> None:
    """A member takes the smallest handle no other member holds (bmv2's handle
    allocator; a selector orders a group's members by it)."""
    from p4mob_switch.actions import Action
    from p4mob_switch.tables import ActionProfile

    act = Action("use_peer", 1, [("port", 9)], lambda F, V, d, X: None, [])
    prof = ActionProfile("peers", 16, None)
    for mid in (10, 11, 12, 13, 14):
        prof.add_member(mid, act, (mid,))
    prof.delete_member(13)
    prof.delete_member(11)
    prof.add_member(20, act, (0,))
    prof.add_member(21, act, (0,))
    prof.add_member(22, act, (0,))
    handles = {mid: m[2] for mid, m in prof.members.items()}
    assert handles == {10: 0, 12: 2, 14: 4, 20: 1, 21: 3, 22: 5}
