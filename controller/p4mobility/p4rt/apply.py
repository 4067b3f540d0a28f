"""The only module that writes table entries to a switch.

Rule: the runtime keeps the *desired* entries of the tables it owns as a dict
keyed by (table, match), and the members of the action profiles it owns keyed
by (profile, member id) (entries.py builds the changes). `EntrySet.plan`
folds a batch of changes into that dict and returns the P4Runtime updates
that take the switch from the old desired set to the new one (INSERT for a
new key, MODIFY for a changed action, DELETE for a removed key; a key that
appears several times in a batch is written once), in dependency order:
members inserted, then table entries and modified members, then members
deleted (an entry points only to a member that exists). `Writer.apply`
sends each of these phases that is not empty as one WriteRequest (P4Runtime
§12.2: a server may reorder the updates of one batch), encoded by fastenc
(finsy's bytes, less CPU); a handover is one update (the binding's member)
in one WriteRequest with the tunnel peers' entries it needs. `reconcile` Reads
every entry of the owned tables and every member of the owned profiles,
diffs them against the desired set and writes only the difference, in the
same order: missing ones inserted, changed ones modified, stale ones
deleted, other tables untouched.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable

from finsy import P4ActionProfileGroup, P4ActionProfileMember, P4TableEntry

from .entries import BINDING_PROFILE, Change, Key, member_key
from .member_pool import MemberPool, member_id_of, placeholder
from .fastenc import UpdateEncoder


Entity = P4TableEntry | P4ActionProfileMember | P4ActionProfileGroup


def phases(updates: list[Any], pooled: str | None = None) -> list[list[Any]]:
    """Updates split into what must be written before what: members inserted;
    groups inserted (they name members); table entries, then members and groups
    modified; groups deleted (after the entries naming them); members deleted.
    Empty phases left out. The members of profile ``pooled`` (member_pool.py:
    never inserted by a batch that names them, never deleted) go with the entries."""
    members_in: list[Any] = []
    groups_in: list[Any] = []
    tables: list[Any] = []
    modified: list[Any] = []
    groups_out: list[Any] = []
    members_out: list[Any] = []
    for u in updates:
        t = type(u)
        if t is P4ActionProfileMember:
            if pooled is not None and u.action_profile_id == pooled:
                tables.append(u)
                continue
            {"+": members_in, "~": modified, "-": members_out}[_op(u)].append(u)
        elif t is P4ActionProfileGroup:
            {"+": groups_in, "~": modified, "-": groups_out}[_op(u)].append(u)
        else:
            tables.append(u)
    return [ph for ph in (members_in, groups_in, tables + modified, groups_out, members_out) if ph]


class EntrySet:
    """The desired entries of the owned tables and members of the owned profiles;
    with a ``pool`` (member_pool.py) a member for every binding id up to its top."""

    def __init__(self, pool: MemberPool | None = None) -> None:
        self.desired: dict[Key, Entity] = {}
        self.version = 0  # bumped by every plan that changes the desired set
        self.pool = pool

    def plan(self, changes: Iterable[Change]) -> list[Any]:
        """Updates in dependency order (see `phases`)."""
        return [u for ph in self.plan_requests(changes) for u in ph]

    def plan_requests(self, changes: Iterable[Change]) -> list[list[Any]]:
        """The updates of ``changes`` as the WriteRequests to send, in order: one, with
        the pool, unless the batch names a member above the pool's top (or a selector's)."""
        net: dict[Key, Entity | None] = {}
        for key, entry in changes:
            net[key] = entry
        first = self._pool_members(net) if self.pool is not None else []
        updates: list[Any] = []
        for key, entry in net.items():
            old = self.desired.get(key)
            if entry is None:
                if old is not None:
                    del self.desired[key]
                    updates.append(-copy.copy(old))
            elif old is None:
                self.desired[key] = entry
                updates.append(+copy.copy(entry))
            elif old != entry:
                self.desired[key] = entry
                updates.append(~copy.copy(entry))
        if updates or first:
            self.version += 1
        pooled = BINDING_PROFILE if self.pool is not None else None
        return ([first] if first else []) + phases(updates, pooled)

    def _pool_members(self, net: dict[Key, Entity | None]) -> list[Any]:
        """Pool members for a batch: a deleted binding's member back to the placeholder, the
        top raised to the highest id named + headroom. The raising INSERTs join the batch's
        request, or are returned to go first when the batch names one of them."""
        pool, hi = self.pool, 0
        assert pool is not None
        for key in [k for k in net if k[0] == BINDING_PROFILE]:
            bid = member_id_of(key)
            hi = max(hi, bid)
            if net[key] is None and bid <= pool.size:
                net[key] = placeholder(bid)
        top, new_top = pool.top, pool.target(hi)
        pool.top = new_top
        if hi <= top:  # nothing above the old top is named: the INSERTs share the request
            for bid in range(top + 1, new_top + 1):
                net.setdefault(member_key(bid), placeholder(bid))
            return []
        first = []
        for bid in range(top + 1, new_top + 1):
            key = member_key(bid)
            if key not in self.desired:
                self.desired[key] = m = placeholder(bid)
                first.append(+copy.copy(m))
        return first

    def load(self, changes: Iterable[Change]) -> None:
        """The desired set after ``changes``, as `plan` leaves it, without making the updates:
        at start, where reconcile writes (100,000 bindings: no copy of 300,000 entries).
        With a pool, its top from the highest id loaded and a placeholder for each free id."""
        desired = self.desired
        for key, entry in changes:
            if entry is None:
                desired.pop(key, None)
            else:
                desired[key] = entry
        pool = self.pool
        if pool is not None:
            hi = max((member_id_of(k) for k in desired if k[0] == BINDING_PROFILE), default=0)
            pool.top = pool.target(hi)
            for bid in range(1, pool.top + 1):
                desired.setdefault(member_key(bid), placeholder(bid))
        self.version += 1

    def __len__(self) -> int:
        return len(self.desired)


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


async def reconcile(switch: Any, entries: EntrySet, tables: Iterable[str],
                    profiles: Iterable[str] = (), selectors: Iterable[str] = ()) -> ReconcileResult:
    """``profiles``: action profiles whose members we own; ``selectors``: those whose
    groups we own too."""
    d = Diff(entries.desired.values(), switch.p4info)
    for table in tables:  # each entry read is compared and dropped (Diff keeps the stale ones)
        async for e in switch.read(P4TableEntry(table)):
            if not getattr(e, "is_default_action", False):
                d.see(e)
    for profile in profiles:
        async for m in switch.read(P4ActionProfileMember(profile)):
            d.see(m)
    for profile in selectors:
        async for g in switch.read(P4ActionProfileGroup(profile)):
            d.see(g)
    updates = d.updates()
    for phase in phases(updates):
        await switch.write(phase)
    count = {"+": 0, "~": 0, "-": 0}
    for u in updates:
        count[_op(u)] += 1
    return ReconcileResult(d.read, count["+"], count["~"], count["-"])


def _op(update: Any) -> str:
    t = update._update_type.name  # set by finsy's unary operators
    return {"DELETE": "-", "MODIFY": "~"}.get(t, "+")


__all__ = ["Diff", "EntrySet", "Writer", "WriteStats", "ReconcileResult", "diff", "phases", "read_tables", "read_members",
           "read_groups", "reconcile"]
