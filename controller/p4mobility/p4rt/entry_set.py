"""The desired entries of a node: what `plan` turns into updates and reconcile compares.

Rule: `EntrySet.plan_requests` folds a batch of changes (entries.py) into the
desired set and returns the P4Runtime updates that take the switch from the
old desired set to the new one (INSERT for a new key, MODIFY for a changed
action, DELETE for a removed key; a key that appears several times in a batch
is written once), as the WriteRequests to send in order (see `phases`; with a
member pool, member_pool.py, one request). Without a ``derived`` source every
desired entry is stored in ``desired``. With one (the anchor: 100,000 bindings),
a binding's member and its `bindings` / `uplink_sources` entries are not stored:
they are a function of the core's state, which ``derived`` yields when reconcile
or `show` needs them; a batch plans them from its changes and the `Before`
values the actions give (entries.lma_before). Stored then: base entries, tunnel
peers, punts, and the pool's placeholders (a free id's member, or a de-registered
binding's, which is the same).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Iterator

from finsy import P4ActionProfileGroup, P4ActionProfileMember, P4TableEntry

from .entries import BINDING_PROFILE, Before, Change, Key, member_key
from .member_pool import MemberPool, is_placeholder, member_id_of, placeholder

Entity = P4TableEntry | P4ActionProfileMember | P4ActionProfileGroup
DERIVED_TABLES = frozenset({"bindings", "uplink_sources", BINDING_PROFILE})


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


def _op(update: Any) -> str:
    t = update._update_type.name  # set by finsy's unary operators
    return {"DELETE": "-", "MODIFY": "~"}.get(t, "+")


def _update(old: Entity | None, new: Entity | None) -> Any:
    if new is None:
        return None if old is None else -copy.copy(old)
    if old is None:
        return +copy.copy(new)
    return None if old == new else ~copy.copy(new)


class EntrySet:
    """The desired entries of the owned tables and members of the owned profiles;
    with a ``pool`` a member for every binding id up to its top; with ``derived`` (it
    needs the pool) the bindings' entries made from the core when needed."""

    def __init__(self, pool: MemberPool | None = None,
                 derived: Callable[[], Iterable[Change]] | None = None) -> None:
        if derived is not None and pool is None:
            raise ValueError("derived binding entries need a member pool")
        self.desired: dict[Key, Entity] = {}  # what is stored (everything without ``derived``)
        self.version = 0  # bumped by every plan that changes the desired set
        self.pool = pool
        self.derived = derived
        self.derived_count = 0  # derived entries (not stored) in the desired set

    # --- the whole desired set --------------------------------------------------------
    def items(self) -> Iterator[tuple[Key, Entity]]:
        yield from self.desired.items()
        if self.derived is not None:
            stored = self.desired
            for key, entry in self.derived():
                if entry is not None and key[0] in DERIVED_TABLES and key not in stored:
                    yield key, entry

    def all(self) -> Iterator[Entity]:
        return (e for _, e in self.items())

    def __len__(self) -> int:
        return len(self.desired) + self.derived_count

    # --- planning -----------------------------------------------------------------------
    def plan(self, changes: Iterable[Change]) -> list[Any]:
        """Updates in dependency order (see `phases`)."""
        return [u for ph in self.plan_requests(changes) for u in ph]

    def plan_requests(self, changes: Iterable[Change]) -> list[list[Any]]:
        """The updates of ``changes`` as the WriteRequests to send, in order: one, with
        the pool, unless the batch names a member above the pool's top (or a selector's)."""
        net: dict[Key, Entity | None] = {}
        before: dict[Key, Entity | None] = {}
        for key, entry in changes:
            if type(entry) is Before:  # the first one of a key is its value before the batch
                if key not in before:
                    before[key] = entry.value
                continue
            net[key] = entry
        first = self._pool_members(net) if self.pool is not None else []
        derive = self.derived is not None
        desired = self.desired
        updates: list[Any] = []
        for key, entry in net.items():
            if derive and key[0] in DERIVED_TABLES:
                u = self._plan_derived(key, entry, before)
            else:
                old = desired.get(key)
                if entry is None:
                    desired.pop(key, None)
                else:
                    desired[key] = entry
                u = _update(old, entry)
            if u is not None:
                updates.append(u)
        if updates or first:
            self.version += 1
        pooled = BINDING_PROFILE if self.pool is not None else None
        return ([first] if first else []) + phases(updates, pooled)

    def _plan_derived(self, key: Key, entry: Entity | None, before: dict[Key, Entity | None]) -> Any:
        """A binding's member or entry: the old value is the stored placeholder, else the
        action's `Before`; only placeholders are stored (member_pool.py)."""
        desired = self.desired
        stored = desired.get(key)
        old = stored if stored is not None else before.get(key)
        was_derived = stored is None and old is not None
        if key[0] == BINDING_PROFILE and entry is not None and is_placeholder(entry):
            desired[key] = entry
            now_derived = False
        else:
            if stored is not None:
                del desired[key]
            now_derived = entry is not None
        self.derived_count += now_derived - was_derived
        return _update(old, entry)

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
        derive = self.derived is not None
        real: set[int] = set()  # binding ids whose member is derived (not a placeholder)
        entries = 0
        hi = 0
        for key, entry in changes:
            if type(entry) is Before:
                continue
            if key[0] == BINDING_PROFILE:
                hi = max(hi, member_id_of(key))
            if derive and key[0] in DERIVED_TABLES:
                if key[0] != BINDING_PROFILE:
                    entries += entry is not None  # (a restore names each entry once)
                    continue
                bid = member_id_of(key)
                if entry is None or is_placeholder(entry):
                    real.discard(bid)
                    if entry is not None:
                        desired[key] = entry
                    continue
                desired.pop(key, None)
                real.add(bid)
                continue
            if entry is None:
                desired.pop(key, None)
            else:
                desired[key] = entry
        pool = self.pool
        if pool is not None:
            hi = max([hi] + [member_id_of(k) for k in desired if k[0] == BINDING_PROFILE])
            pool.top = pool.target(hi)
            for bid in range(1, pool.top + 1):
                if bid not in real:
                    desired.setdefault(member_key(bid), placeholder(bid))
        self.derived_count = entries + len(real)
        self.version += 1


__all__ = ["DERIVED_TABLES", "EntrySet", "phases"]
