"""apply.diff: what reconcile writes, on entries encoded with a P4Info
(hand-written, two tables shaped like mobility.p4's). Installed entries are
built as a switch would return them: decoded from their protobuf form."""
from __future__ import annotations

from pathlib import Path

from finsy import P4Schema, P4TableEntry

from p4mobility.p4rt.apply import diff
from p4mobility.binding import Path as BindingPath, TunnelEndpoints
from p4mobility.p4rt.entries import mag_base_entries
from ipaddress import IPv6Address, IPv6Network

from p4mobility.p4rt.entries import _binding  # one binding entry, as the LMA writes it

SCHEMA = P4Schema(Path(__file__).parent / "data" / "mini.p4info.txtpb")


def as_read(entry: P4TableEntry) -> P4TableEntry:
    """Round trip through protobuf, like a Read reply."""
    return P4TableEntry.decode_entry(entry.encode_entry(SCHEMA), SCHEMA)


def _one(peer):
    """One path (PMIPv6: BID 0) through tunnel peer ``peer``."""
    return (BindingPath(0, TunnelEndpoints(IPv6Address("2001:db8::1"), IPv6Address("2001:db8:a::1")), peer),)


def kinds(updates):
    return sorted((u._update_type.name, u.table_id) for u in updates)


def test_in_sync_means_no_write():
    want = [e for _, e in mag_base_entries(IPv6Address("2001:db8:a::1"), [], [1]) if e.table_id == "punts"]
    want.append(_binding(1, IPv6Network("2001:db8:100::/64"), _one(1))[1])
    assert diff(want, [as_read(e) for e in want], SCHEMA) == []


def test_missing_inserted_stale_deleted_changed_modified():
    b1 = _binding(1, IPv6Network("2001:db8:100::/64"), _one(1))[1]
    b2 = _binding(2, IPv6Network("2001:db8:101::/64"), _one(1))[1]
    stale = _binding(3, IPv6Network("2001:db8:102::/64"), _one(1))[1]
    moved = _binding(1, IPv6Network("2001:db8:100::/64"), _one(2))[1]
    installed = [as_read(b1), as_read(stale)]
    ups = diff([moved, b2], installed, SCHEMA)
    assert kinds(ups) == [("DELETE", "bindings"), ("INSERT", "bindings"), ("MODIFY", "bindings")]
    by = {u._update_type.name: u for u in ups}
    assert by["DELETE"].match["dst_addr"] == as_read(stale).match["dst_addr"]
    assert by["INSERT"].match["dst_addr"] == b2.match["dst_addr"]
    assert by["MODIFY"].action.args["tunnel_peer_id"] == 2


def test_ternary_priority_is_part_of_the_identity():
    punts = [e for _, e in mag_base_entries(IPv6Address("2001:db8:a::1"), [], [1]) if e.table_id == "punts"]
    catch_all = next(e for e in punts if e.priority == 1)
    ups = diff([e for e in punts if e is not catch_all], [as_read(e) for e in punts], SCHEMA)
    assert kinds(ups) == [("DELETE", "punts")] and ups[0].priority == 1
