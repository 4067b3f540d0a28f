"""The only module that writes table entries to a switch.

Rule: the runtime keeps the *desired* entries of the tables it owns and the
members of the profiles it owns in an `EntrySet` (entry_set.py: planning,
dependency phases, the member pool and the entries derived from the core).
`Writer.apply` sends the requests `EntrySet.plan_requests` returns, each as
one WriteRequest (P4Runtime §12.2: a server may reorder the updates of one
request), encoded by fastenc (finsy's bytes, less CPU). `reconcile` Reads
every entry of the owned tables and every member of the owned profiles,
diffs them against the desired set and writes only the difference, in the
same order: missing ones inserted, changed ones modified, stale ones
deleted, other tables untouched.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from finsy import P4ActionProfileGroup, P4ActionProfileMember, P4TableEntry, p4entity
from finsy.proto import p4r

from .entries import Change
from .entry_set import EntrySet, _op, phases
from .fastenc import UpdateEncoder


Entity = P4TableEntry | P4ActionProfileMember | P4ActionProfileGroup


@dataclass
class WriteStats:
    batches: int = 0
    updates: int = 0


class Writer:
    """Applies planned batches to a finsy Switch (one WriteRequest each)."""

    def __init__(self, switch: Any, entries: EntrySet) -> None:
        self.switch = switch
        self.entries = entries
        self.stats = WriteStats()
        self.encoder = UpdateEncoder(switch.p4info)

    async def apply(self, changes: Iterable[Change]) -> int:
        encode = self.encoder.encode
        written = 0
        for request in self.entries.plan_requests(changes):
            await self.switch.write([encode(u) for u in request])
            self.stats.batches += 1
            self.stats.updates += len(request)
            written += len(request)
        return written


@dataclass(frozen=True)
class ReconcileResult:
    read: int
    inserted: int
    modified: int
    deleted: int

    @property
    def changed(self) -> int:
        return self.inserted + self.modified + self.deleted


def _canon(entry: Entity, schema: Any) -> tuple[tuple, bytes]:
    """(match identity, action bytes) of an entry or member in canonical P4Runtime form."""
    if type(entry) is P4ActionProfileMember:
        m = entry.encode(schema).action_profile_member
        return ("member", m.action_profile_id, m.member_id), m.action.SerializeToString(deterministic=True)
    if type(entry) is P4ActionProfileGroup:
        g = entry.encode(schema).action_profile_group
        members = sorted(x.SerializeToString(deterministic=True) for x in g.members)
        return ("group", g.action_profile_id, g.group_id), b"".join(members) + g.max_size.to_bytes(4, "big")
    pb = entry.encode_entry(schema)
    match = tuple(sorted(m.SerializeToString(deterministic=True) for m in pb.match))
    return (pb.table_id, pb.priority, match), pb.action.SerializeToString(deterministic=True)


class Diff:
    """Desired against installed entries, the installed side fed one by one (`see`): an
    installed entry is kept only when it is stale, so reconciling 300,000 entries holds
    the desired side's canonical forms, not every entry read (restart with 100,000 bindings)."""

    def __init__(self, desired: Iterable[Entity], schema: Any) -> None:
        self.schema = schema
        self.read = 0
        self.want: dict[tuple, tuple[Entity, bytes]] = {}
        for e in desired:
            ident, act = _canon(e, schema)
            self.want[ident] = (e, act)
        self.stale: dict[tuple, Entity] = {}
        self.same: set[tuple] = set()
        self.changed: set[tuple] = set()

    def see(self, installed: Entity) -> None:
        self.read += 1
        ident, act = _canon(installed, self.schema)
        got = self.want.get(ident)
        if got is None:
            self.stale[ident] = installed
        elif got[1] == act:
            self.same.add(ident)
            self.changed.discard(ident)
        else:
            self.changed.add(ident)
            self.same.discard(ident)

    def updates(self) -> list[Any]:
        """In dependency order: stale ones deleted, missing ones inserted, changed ones modified."""
        out: list[Any] = [-copy.copy(e) for e in self.stale.values()]
        for ident, (e, _) in self.want.items():
            if ident in self.changed:
                out.append(~copy.copy(e))
            elif ident not in self.same:
                out.append(+copy.copy(e))
        return [u for ph in phases(out) for u in ph]


def diff(desired: Iterable[Entity], installed: Iterable[Entity], schema: Any) -> list[Any]:
    """Updates that turn ``installed`` into ``desired``, in dependency order (pure; used by reconcile)."""
    d = Diff(desired, schema)
    for e in installed:
        d.see(e)
    return d.updates()


async def read_tables(switch: Any, tables: Iterable[str]) -> list[P4TableEntry]:
    found: list[P4TableEntry] = []
    for table in tables:
        async for e in switch.read(P4TableEntry(table)):
            if not getattr(e, "is_default_action", False):
                found.append(e)
    return found


async def read_members(switch: Any, profiles: Iterable[str]) -> list[P4ActionProfileMember]:
    found: list[P4ActionProfileMember] = []
    for profile in profiles:
        async for m in switch.read(P4ActionProfileMember(profile)):
            found.append(m)
    return found


async def read_groups(switch: Any, profiles: Iterable[str]) -> list[P4ActionProfileGroup]:
    found: list[P4ActionProfileGroup] = []
    for profile in profiles:
        async for g in switch.read(P4ActionProfileGroup(profile)):
            found.append(g)
    return found


async def read_all(switch: Any, entity: Entity) -> Iterator[Any]:
    """The entities of one Read, decoded once the stream has ended: finsy gives a Read 10 s
    in all, and decoding and comparing 100,000 entries as they arrive takes longer than that
    on a loaded machine (DEADLINE_EXCEEDED, the restart never reconciled). The replies are
    kept as protobuf meanwhile (one table at a time)."""
    client = getattr(switch, "_p4client", None)
    if client is None:  # (a switch that is not finsy's)
        return iter([e async for e in switch.read(entity)])
    p4info = switch.p4info
    request = p4r.ReadRequest(device_id=switch.device_id, entities=p4entity.encode_entities([entity], p4info))
    replies = [r async for r in client.request_iter(request)]
    return (p4entity.decode_entity(e, p4info) for r in replies for e in r.entities)


async def reconcile(switch: Any, entries: EntrySet, tables: Iterable[str],
                    profiles: Iterable[str] = (), selectors: Iterable[str] = ()) -> ReconcileResult:
    """``profiles``: action profiles whose members we own; ``selectors``: those whose
    groups we own too."""
    d = Diff(entries.all(), switch.p4info)  # (the bindings' entries made from the core: entry_set.py)
    for table in tables:  # each entry read is compared and dropped (Diff keeps the stale ones)
        for e in await read_all(switch, P4TableEntry(table)):
            if not getattr(e, "is_default_action", False):
                d.see(e)
    for profile in profiles:
        for m in await read_all(switch, P4ActionProfileMember(profile)):
            d.see(m)
    for profile in selectors:
        for g in await read_all(switch, P4ActionProfileGroup(profile)):
            d.see(g)
    updates = d.updates()
    for phase in phases(updates):
        await switch.write(phase)
    count = {"+": 0, "~": 0, "-": 0}
    for u in updates:
        count[_op(u)] += 1
    return ReconcileResult(d.read, count["+"], count["~"], count["-"])


__all__ = ["Diff", "EntrySet", "Writer", "WriteStats", "ReconcileResult", "diff", "phases", "read_tables", "read_members",
           "read_groups", "reconcile"]
