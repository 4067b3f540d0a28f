"""Match-action tables and action profiles (JSON_format.md "pipelines").

Rule: entries are stored in the canonical form P4Runtime uses (exact value,
(value, prefix_len), (value, mask), (low, high), (value, mask) for optional) and
indexed by match kind: exact tables are one dict, LPM tables one dict per
prefix length (longest first), ternary/range/optional tables a list sorted by
priority (higher P4Runtime priority wins; ties by insertion) with a bounded
lookup cache cleared on every change. Member selection in action selectors is
`hash % members` over members ordered by member handle, where a new member
takes the smallest free handle, as bmv2 (RandAccessUIntSet) does. A profile
may serve several tables; it counts the entries that reference each member
and group (over all of them), and one still referenced is not deleted.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Callable

from .actions import Action
from .errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted

CACHE_LIMIT = 8192


@dataclass(slots=True)
class KeyField:
    name: str
    match_type: str  # exact lpm ternary range optional valid
    width: int


@dataclass(slots=True)
class Entry:
    match: tuple  # canonical per-field specs
    priority: int
    action: Action | None = None
    data: tuple = ()
    member_id: int | None = None
    group_id: int | None = None
    const: bool = False
    packets: int = 0
    bytes: int = 0
    seq: int = 0
    metadata: bytes = b""
    controller_metadata: int = 0


@dataclass(slots=True)
class ActionProfile:
    name: str
    max_size: int
    selector: Callable | None  # calc(F, V, P) -> int
    members: dict[int, tuple[Action, tuple, int]] = field(default_factory=dict)  # id -> (act, data, handle)
    groups: dict[int, dict[int, int]] = field(default_factory=dict)  # gid -> {member_id: weight}
    group_max: dict[int, int] = field(default_factory=dict)
    _sel: dict[int, list[tuple[Action, tuple]]] = field(default_factory=dict)
    refs: dict[tuple[str, int], int] = field(default_factory=dict)  # ("m"|"g", id) -> entries
    _free: list[int] = field(default_factory=list)  # heap of released handles below _next
    _next: int = 0  # every handle below it is in use or in _free

    def ref(self, e: "Entry", n: int) -> None:
        """Count entry ``e`` (n=1) or uncount it (n=-1) as a user of its member / group."""
        k = ("m", e.member_id) if e.member_id is not None else ("g", e.group_id) if e.group_id is not None else None
        if k is not None:
            c = self.refs.get(k, 0) + n
            if c:
                self.refs[k] = c
            else:
                self.refs.pop(k, None)

    def referenced(self, kind: str, oid: int) -> bool:
        return self.refs.get((kind, oid), 0) > 0

    def add_member(self, mid: int, act: Action, data: tuple) -> None:
        if mid in self.members:
            raise AlreadyExists(f"action profile {self.name}: member {mid} exists")
        if len(self.members) >= self.max_size:
            raise ResourceExhausted(f"action profile {self.name}: full ({self.max_size} members)")
        if self._free:  # bmv2 reuses the smallest free member handle
            handle = heapq.heappop(self._free)
        else:
            handle, self._next = self._next, self._next + 1
        self.members[mid] = (act, data, handle)
        self._sel.clear()

    def modify_member(self, mid: int, act: Action, data: tuple) -> None:
        if mid not in self.members:
            raise NotFound(f"action profile {self.name}: no member {mid}")
        self.members[mid] = (act, data, self.members[mid][2])
        self._sel.clear()

    def delete_member(self, mid: int) -> None:
        if mid not in self.members:
            raise NotFound(f"action profile {self.name}: no member {mid}")
        if self.referenced("m", mid):  # bmv2: MBR_STILL_USED
            raise FailedPrecondition(f"action profile {self.name}: member {mid} is referenced by a table entry")
        if any(mid in g for g in self.groups.values()):
            raise InvalidArgument(f"action profile {self.name}: member {mid} is in a group")
        heapq.heappush(self._free, self.members.pop(mid)[2])

    def set_group(self, gid: int, members: dict[int, int], insert: bool, max_size: int = 0) -> None:
        if insert and gid in self.groups:
            raise AlreadyExists(f"action profile {self.name}: group {gid} exists")
        if not insert and gid not in self.groups:
            raise NotFound(f"action profile {self.name}: no group {gid}")
        for mid, weight in members.items():
            if mid not in self.members:
                raise NotFound(f"action profile {self.name}: group {gid} references unknown member {mid}")
            if weight < 1:
                raise InvalidArgument(f"action profile {self.name}: member {mid} weight must be >= 1")
        if insert:
            self.group_max[gid] = max_size
        gmax = self.group_max.get(gid, 0)
        if gmax and sum(members.values()) > gmax:
            raise ResourceExhausted(f"action profile {self.name}: group {gid} exceeds max_size {gmax}")
        self.groups[gid] = dict(members)
        self._sel.pop(gid, None)

    def delete_group(self, gid: int) -> None:
        if gid not in self.groups:
            raise NotFound(f"action profile {self.name}: no group {gid}")
        if self.referenced("g", gid):  # bmv2: GRP_STILL_USED
            raise FailedPrecondition(f"action profile {self.name}: group {gid} is referenced by a table entry")
        del self.groups[gid]
        self.group_max.pop(gid, None)
        self._sel.pop(gid, None)

    def resolve_group(self, gid: int, F: list, V: list, P: bytes) -> tuple[Action, tuple] | None:
        sel = self._sel.get(gid)
        if sel is None:
            g = self.groups.get(gid)
            if g is None:
                return None
            sel = []
            for mid in sorted(g, key=lambda m: self.members[m][2]):
                act, data, _ = self.members[mid]
                sel += [(act, data)] * g[mid]
            self._sel[gid] = sel
        if not sel:
            return None
        if len(sel) == 1 or self.selector is None:
            return sel[0]
        return sel[self.selector(F, V, P) % len(sel)]


def lpm_mask(width: int, plen: int) -> int:
    return ((1 << width) - 1) ^ ((1 << (width - plen)) - 1)


class Table:
    def __init__(self, name: str, tid: int, keys: list[KeyField], key_fn: Callable,
                 actions: dict[str, Action], max_size: int, kind: str,
                 profile: ActionProfile | None, with_counters: bool,
                 next_tables: dict[str, Any], base_default_next: Any) -> None:
        self.name = name
        self.tid = tid
        self.keys = keys
        self.key_fn = key_fn
        self.actions = actions  # by name
        self.max_size = max_size
        self.kind = kind  # simple | indirect | indirect_ws
        self.profile = profile
        self.with_counters = with_counters
        self.next_tables = next_tables
        self.base_default_next = base_default_next
        self.default_action: Action | None = None
        self.default_data: tuple = ()
        self.default_const = False
        self.default_is_init = True
        self.init_default: tuple[Action | None, tuple] = (None, ())
        self.default_packets = 0
        self.default_bytes = 0
        self.immutable = False  # JSON `entries` make the table const
        self.direct_meter = None  # MeterArray bound to this table, keyed by entry seq
        self.entries: dict[tuple, Entry] = {}
        self._seq = 0
        kinds = {k.match_type for k in keys}
        if kinds <= {"exact", "valid"}:
            self.mode = "exact"
        elif kinds <= {"exact", "valid", "lpm"} and sum(k.match_type == "lpm" for k in keys) == 1:
            self.mode = "lpm"
            self.lpm_index = next(i for i, k in enumerate(keys) if k.match_type == "lpm")
        else:
            self.mode = "ternary"
        self.needs_priority = self.mode == "ternary"
        self._exact: dict[tuple, Entry] = {}
        self._lpm: dict[int, dict[tuple, Entry]] = {}
        self._lpm_lens: list[tuple[int, int, dict]] = []
        self._sorted: list[tuple[Entry, tuple]] = []
        self._cache: dict[tuple, Entry | None] = {}

    # -- control plane ---------------------------------------------------------
    def entry_key(self, match: tuple, priority: int) -> tuple:
        return (match, priority if self.needs_priority else 0)

    def insert(self, e: Entry, const: bool = False) -> None:
        if self.immutable and not const:
            raise PermissionDenied(f"table {self.name}: entries are const (declared in the P4 program)")
        k = self.entry_key(e.match, e.priority)
        if k in self.entries:
            raise AlreadyExists(f"table {self.name}: entry already exists")
        if len(self.entries) >= self.max_size:
            raise ResourceExhausted(f"table {self.name}: full ({self.max_size} entries)")
        self._seq += 1
        e.seq = self._seq
        e.const = const
        self.entries[k] = e
        self._index_add(e)

    def get(self, match: tuple, priority: int) -> Entry:
        e = self.entries.get(self.entry_key(match, priority))
        if e is None:
            raise NotFound(f"table {self.name}: no such entry")
        return e

    def modify(self, e: Entry) -> None:
        old = self.get(e.match, e.priority)
        if old.const:
            raise PermissionDenied(f"table {self.name}: entry is const")
        old.action, old.data = e.action, e.data
        if self.profile is not None:
            self.profile.ref(old, -1)
            self.profile.ref(e, 1)
        old.member_id, old.group_id = e.member_id, e.group_id
        old.metadata = e.metadata
        self._cache.clear()

    def delete(self, match: tuple, priority: int) -> None:
        e = self.get(match, priority)
        if e.const:
            raise PermissionDenied(f"table {self.name}: entry is const")
        del self.entries[self.entry_key(match, priority)]
        self._index_remove(e)
        if self.direct_meter is not None:
            self.direct_meter.configure(e.seq, None)

    def clear(self) -> None:
        for e in [e for e in self.entries.values() if not e.const]:
            del self.entries[self.entry_key(e.match, e.priority)]
            self._index_remove(e)

    def _index_add(self, e: Entry) -> None:
        if self.profile is not None:
            self.profile.ref(e, 1)
        if self.mode == "exact":
            self._exact[e.match] = e
        elif self.mode == "lpm":
            li = self.lpm_index
            value, plen = e.match[li]
            k = e.match[:li] + (value,) + e.match[li + 1:]
            d = self._lpm.get(plen)
            if d is None:
                d = self._lpm[plen] = {}
                self._rebuild_lens()
            d[k] = e
        else:
            self._sorted.append((e, self._matcher(e.match)))
            self._sorted.sort(key=lambda t: (-t[0].priority, t[0].seq))
        self._cache.clear()

    def _index_remove(self, e: Entry) -> None:
        if self.profile is not None:
            self.profile.ref(e, -1)
        if self.mode == "exact":
            self._exact.pop(e.match, None)
        elif self.mode == "lpm":
            li = self.lpm_index
            value, plen = e.match[li]
            d = self._lpm[plen]
            d.pop(e.match[:li] + (value,) + e.match[li + 1:], None)
            if not d:
                del self._lpm[plen]
                self._rebuild_lens()
        else:
            self._sorted = [t for t in self._sorted if t[0] is not e]
        self._cache.clear()

    def _rebuild_lens(self) -> None:
        w = self.keys[self.lpm_index].width
        self._lpm_lens = [(plen, lpm_mask(w, plen), self._lpm[plen])
                          for plen in sorted(self._lpm, reverse=True)]

    def _matcher(self, match: tuple) -> tuple:
        """Per field (kind, a, b): 'm' -> (k & a) == b ; 'r' -> a <= k <= b."""
        out = []
        for kf, spec in zip(self.keys, match):
            t = kf.match_type
            if t in ("exact", "valid"):
                out.append(("m", -1, spec))
            elif t == "lpm":
                m = lpm_mask(kf.width, spec[1])
                out.append(("m", m, spec[0] & m))
            elif t in ("ternary", "optional"):
                out.append(("m", spec[1], spec[0] & spec[1]))
            elif t == "range":
                out.append(("r", spec[0], spec[1]))
        return tuple(out)

    # -- data plane -------------------------------------------------------------
    def lookup(self, k: tuple) -> Entry | None:
        mode = self.mode
        if mode == "exact":
            return self._exact.get(k)
        if mode == "lpm":
            li = self.lpm_index
            pre, v, post = k[:li], k[li], k[li + 1:]
            for _plen, m, d in self._lpm_lens:
                e = d.get(pre + (v & m,) + post)
                if e is not None:
                    return e
            return None
        cache = self._cache
        if k in cache:
            return cache[k]
        found = None
        for e, matcher in self._sorted:
            for kv, (kind, a, b) in zip(k, matcher):
                if kind == "m":
                    if (kv & a) != b:
                        break
                elif not (a <= kv <= b):
                    break
            else:
                found = e
                break
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[k] = found
        return found
