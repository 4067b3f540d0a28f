"""RFC 5648 downlink flow placement: the `binding_peer_selector` entries of a binding with several CoAs.

Rule: pure functions, like entries.py which calls them. A binding with two or
more paths (care-of addresses, one per BID) gets one member of the action
selector `binding_peer_selector` per path, `set_tunnel_peer(its tunnel peer)`,
member id ``binding_id * MAX_PATHS + slot`` (slot = the path's position in
the binding's paths, ordered by BID); one group, id = binding id, holding
those members; and a `binding_peers` entry binding id -> that group, so the
switch hashes each flow (src, dst, protocol, ports) onto one of the CoAs
(p4src bindings.p4). When the paths change the members of the slots kept are
rewritten, those beyond the new count removed; below two paths the group and
its entry go too (the binding's own member then names its one tunnel).
apply.phases writes members before the group and the group before the entry
that points to it, and removes them in the reverse order.
"""
from __future__ import annotations

from typing import Any

from finsy import P4ActionProfileGroup, P4ActionProfileMember, P4IndirectAction, P4Member, P4TableAction, \
    P4TableEntry, P4TableMatch

from p4mobility.binding import Path

SELECTOR = "binding_peer_selector"
MAX_PATHS = 64  # BIDs per binding the cores keep (binding/statejson.py)


def _key_of(table: str, match: dict[str, Any]) -> tuple:
    return table, tuple(sorted((k, str(v)) for k, v in match.items()))


def member_id(binding_id: int, slot: int) -> int:
    return binding_id * MAX_PATHS + slot


def selector_member_key(binding_id: int, slot: int) -> tuple:
    return SELECTOR, (("member_id", str(member_id(binding_id, slot))),)


def group_key(binding_id: int) -> tuple:
    return SELECTOR, (("group_id", str(binding_id)),)


def flow_entries(binding_id: int, paths: tuple[Path, ...]) -> list[tuple[tuple, Any]]:
    """The selector members, group and binding_peers entry of a binding with several paths."""
    if len(paths) < 2:
        return []
    out: list[tuple[tuple, Any]] = []
    for slot, p in enumerate(paths):
        action = P4TableAction("set_tunnel_peer", tunnel_peer_id=p.tunnel_peer_id)
        out.append((selector_member_key(binding_id, slot),
                    P4ActionProfileMember(SELECTOR, member_id=member_id(binding_id, slot), action=action)))
    members = [P4Member(member_id(binding_id, slot), weight=1) for slot in range(len(paths))]
    out.append((group_key(binding_id), P4ActionProfileGroup(SELECTOR, group_id=binding_id, members=members)))
    match = {"binding_id": binding_id}
    out.append((_key_of("binding_peers", match), P4TableEntry("binding_peers", match=P4TableMatch(match),
                                                              action=P4IndirectAction(group_id=binding_id))))
    return out


def no_flow_entries(binding_id: int, old: tuple[Path, ...], new: tuple[Path, ...] = ()) -> list[tuple[tuple, Any]]:
    """Deletions taking a binding from ``old`` paths to ``new`` ones (what flow_entries(new) does not rewrite)."""
    if len(old) < 2:
        return []
    keep = len(new) if len(new) >= 2 else 0
    out: list[tuple[tuple, Any]] = [(selector_member_key(binding_id, s), None) for s in range(keep, len(old))]
    if not keep:
        out += [(_key_of("binding_peers", {"binding_id": binding_id}), None), (group_key(binding_id), None)]
    return out


__all__ = ["SELECTOR", "MAX_PATHS", "member_id", "selector_member_key", "group_key", "flow_entries",
           "no_flow_entries"]
