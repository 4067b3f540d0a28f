"""Convert P4Runtime entities to internal entries and back (P4Runtime spec §8-9).

Rule: every id and every byte string is validated against the P4Info before it
reaches a table: unknown ids, values wider than the declared bitwidth, missing
exact fields, bits set outside a ternary mask or beyond an LPM prefix, a
priority on a table without one (or none where one is needed), and actions the
table does not allow all raise InvalidArgument with a message naming the
offending object. Values read back are in canonical (shortest) form (§8.4).
"""

from __future__ import annotations

from finsy.proto import p4i, p4r

from .actions import Action
from .errors import InvalidArgument, NotFound, Unimplemented
from .p4info import P4InfoMap, TableInfo
from .tables import Entry


def decode_value(b: bytes, bitwidth: int, what: str) -> int:
    if not b:
        raise InvalidArgument(f"{what}: empty byte string")
    if len(b) > (bitwidth + 7) // 8:
        raise InvalidArgument(f"{what}: {len(b)} bytes is too wide for a {bitwidth}-bit value")
    v = int.from_bytes(b, "big")
    if v >> bitwidth:
        raise InvalidArgument(f"{what}: value {v:#x} does not fit in {bitwidth} bits")
    return v


def encode_value(v: int, bitwidth: int) -> bytes:
    return v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")


def decode_action(pm: P4InfoMap, a: "p4r.Action", ti: TableInfo | None, default: bool) -> tuple[Action, tuple]:
    ai = pm.actions.get(a.action_id)
    if ai is None:
        raise InvalidArgument(f"unknown action id {a.action_id}")
    if ti is not None:
        scope = ti.actions.get(a.action_id)
        if scope is None:
            raise InvalidArgument(f"action {ai.name!r} is not an action of table {ti.name!r}")
        if not default and scope == p4i.ActionRef.DEFAULT_ONLY:
            raise InvalidArgument(f"action {ai.name!r} is default-only in table {ti.name!r}")
        if default and scope == p4i.ActionRef.TABLE_ONLY:
            raise InvalidArgument(f"action {ai.name!r} cannot be the default action of table {ti.name!r}")
    data = [None] * len(ai.params)
    for p in a.params:
        spec = ai.params.get(p.param_id)
        if spec is None:
            raise InvalidArgument(f"action {ai.name!r}: unknown param id {p.param_id}")
        pos, bw = spec
        if data[pos] is not None:
            raise InvalidArgument(f"action {ai.name!r}: param id {p.param_id} given twice")
        data[pos] = decode_value(p.value, bw, f"action {ai.name!r} param id {p.param_id}")
    if any(d is None for d in data):
        raise InvalidArgument(f"action {ai.name!r}: missing parameters "
                              f"{[pid for pid, (pos, _) in ai.params.items() if data[pos] is None]}")
    return (table_action(ti, ai.name, ai.action) if ti is not None else ai.action), tuple(data)


def table_action(ti: TableInfo, name: str, fallback: Action) -> Action:
    """The table's own JSON action for a P4Info action (p4c may suffix duplicates)."""
    acts = ti.table.actions
    act = acts.get(name)
    if act is None:
        act = next((a for n, a in acts.items() if n.startswith(name + "_") and a.params == fallback.params),
                   fallback)
    return act


def encode_action(pm: P4InfoMap, act: Action, data: tuple) -> "p4r.Action":
    ai = pm.action_info_for(act)
    out = p4r.Action(action_id=ai.aid if ai else 0)
    if ai:
        for pid in ai.param_ids:
            pos, bw = ai.params[pid]
            out.params.add(param_id=pid, value=encode_value(data[pos], bw))
    return out


def table_info(pm: P4InfoMap, table_id: int) -> TableInfo:
    ti = pm.tables.get(table_id)
    if ti is None:
        raise InvalidArgument(f"unknown table id {table_id}")
    return ti


def decode_match(ti: TableInfo, te: "p4r.TableEntry") -> tuple[tuple, int]:
    """Canonical match tuple and priority of a TableEntry."""
    spec: list = [None] * len(ti.field_ids)
    for fm in te.match:
        ent = ti.fields.get(fm.field_id)
        if ent is None:
            raise InvalidArgument(f"table {ti.name!r}: unknown match field id {fm.field_id}")
        pos, mf = ent
        if spec[pos] is not None:
            raise InvalidArgument(f"table {ti.name!r}: match field {mf.name!r} given twice")
        kind = fm.WhichOneof("field_match_type")
        if kind != mf.kind:
            raise InvalidArgument(f"table {ti.name!r}: match field {mf.name!r} is {mf.kind}, got {kind}")
        what = f"table {ti.name!r} match field {mf.name!r}"
        bw = mf.bitwidth
        if kind == "exact":
            spec[pos] = decode_value(fm.exact.value, bw, what)
        elif kind == "lpm":
            v = decode_value(fm.lpm.value, bw, what)
            plen = fm.lpm.prefix_len
            if not 0 <= plen <= bw:
                raise InvalidArgument(f"{what}: prefix_len {plen} out of range 0..{bw}")
            if v & ((1 << (bw - plen)) - 1):
                raise InvalidArgument(f"{what}: value has bits set beyond the /{plen} prefix")
            spec[pos] = (v, plen)
        elif kind == "ternary":
            v = decode_value(fm.ternary.value, bw, what)
            m = decode_value(fm.ternary.mask, bw, what + " mask")
            if v & ~m:
                raise InvalidArgument(f"{what}: value has bits set outside the mask")
            spec[pos] = (v, m)
        elif kind == "range":
            lo = decode_value(fm.range.low, bw, what + " low")
            hi = decode_value(fm.range.high, bw, what + " high")
            if lo > hi:
                raise InvalidArgument(f"{what}: range low > high")
            spec[pos] = (lo, hi)
        elif kind == "optional":
            spec[pos] = (decode_value(fm.optional.value, bw, what), (1 << bw) - 1)
        else:
            raise InvalidArgument(f"{what}: unsupported match type {kind!r}")
    for pid in ti.field_ids:
        pos, mf = ti.fields[pid]
        if spec[pos] is None:
            if mf.kind == "exact":
                raise InvalidArgument(f"table {ti.name!r}: exact match field {mf.name!r} is missing")
            spec[pos] = (0, (1 << mf.bitwidth) - 1) if mf.kind == "range" else (0, 0)
    table = ti.table
    if table.needs_priority:
        if te.priority <= 0:
            raise InvalidArgument(f"table {ti.name!r}: entries need a priority > 0")
    elif te.priority != 0:
        raise InvalidArgument(f"table {ti.name!r}: priority must be 0 for this table")
    return tuple(spec), te.priority if table.needs_priority else 0


def decode_entry(pm: P4InfoMap, te: "p4r.TableEntry", need_action: bool) -> tuple[TableInfo, Entry]:
    ti = table_info(pm, te.table_id)
    match, prio = decode_match(ti, te)
    e = Entry(match, prio, metadata=bytes(te.metadata), controller_metadata=te.controller_metadata)
    if not need_action:
        return ti, e
    which = te.action.WhichOneof("type")
    table = ti.table
    if which is None:
        raise InvalidArgument(f"table {ti.name!r}: entry has no action")
    if which == "action":
        if table.kind != "simple":
            raise InvalidArgument(f"table {ti.name!r} uses an action profile; give a member or group id")
        e.action, e.data = decode_action(pm, te.action.action, ti, default=False)
    elif which in ("action_profile_member_id", "action_profile_group_id"):
        if table.kind == "simple":
            raise InvalidArgument(f"table {ti.name!r} has no action profile")
        prof = table.profile
        if which == "action_profile_member_id":
            if te.action.action_profile_member_id not in prof.members:
                raise NotFound(f"action profile {prof.name!r}: no member {te.action.action_profile_member_id}")
            e.member_id = te.action.action_profile_member_id
        else:
            if table.kind != "indirect_ws":
                raise InvalidArgument(f"table {ti.name!r}: action profile has no selector; groups not allowed")
            if te.action.action_profile_group_id not in prof.groups:
                raise NotFound(f"action profile {prof.name!r}: no group {te.action.action_profile_group_id}")
            e.group_id = te.action.action_profile_group_id
    else:
        raise Unimplemented(f"table {ti.name!r}: action type {which!r} is not supported")
    return ti, e


def encode_match(ti: TableInfo, match: tuple, te: "p4r.TableEntry") -> None:
    for pid in ti.field_ids:
        pos, mf = ti.fields[pid]
        s = match[pos]
        bw = mf.bitwidth
        if mf.kind == "exact":
            te.match.add(field_id=pid).exact.value = encode_value(s, bw)
        elif mf.kind == "lpm":
            if s[1]:
                fm = te.match.add(field_id=pid)
                fm.lpm.value, fm.lpm.prefix_len = encode_value(s[0], bw), s[1]
        elif mf.kind == "ternary":
            if s[1]:
                fm = te.match.add(field_id=pid)
                fm.ternary.value, fm.ternary.mask = encode_value(s[0], bw), encode_value(s[1], bw)
        elif mf.kind == "range":
            if s != (0, (1 << bw) - 1):
                fm = te.match.add(field_id=pid)
                fm.range.low, fm.range.high = encode_value(s[0], bw), encode_value(s[1], bw)
        elif mf.kind == "optional":
            if s[1]:
                te.match.add(field_id=pid).optional.value = encode_value(s[0], bw)


def encode_entry(pm: P4InfoMap, ti: TableInfo, e: Entry, with_counters: bool) -> "p4r.TableEntry":
    te = p4r.TableEntry(table_id=ti.tid, priority=e.priority if ti.table.needs_priority else 0,
                        controller_metadata=e.controller_metadata, metadata=e.metadata,
                        is_const=e.const)
    encode_match(ti, e.match, te)
    if e.action is not None:
        te.action.action.CopyFrom(encode_action(pm, e.action, e.data))
    elif e.member_id is not None:
        te.action.action_profile_member_id = e.member_id
    elif e.group_id is not None:
        te.action.action_profile_group_id = e.group_id
    if with_counters:
        te.counter_data.packet_count, te.counter_data.byte_count = e.packets, e.bytes
    return te


def encode_default(pm: P4InfoMap, ti: TableInfo, with_counters: bool) -> "p4r.TableEntry":
    t = ti.table
    te = p4r.TableEntry(table_id=ti.tid, is_default_action=True)
    if t.default_action is not None:
        te.action.action.CopyFrom(encode_action(pm, t.default_action, t.default_data))
    if with_counters:
        te.counter_data.packet_count, te.counter_data.byte_count = t.default_packets, t.default_bytes
    return te
