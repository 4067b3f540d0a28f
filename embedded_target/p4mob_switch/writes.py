"""P4Runtime Write (P4Runtime spec §9, §12): one function per entity kind.

Rule: ``WRITERS`` maps the entity's oneof name to the function that applies
one update of that kind; each checks everything it needs (ids, indexes,
update type) and raises a typed TargetError before it changes anything it
cannot finish, so an update is applied or rejected as a whole. Counter, meter,
register and value-set entries can only be modified; a kind without a writer
is UNIMPLEMENTED.
"""

from __future__ import annotations

from typing import Callable

from finsy.proto import p4r

from . import codec
from .errors import (AlreadyExists, InvalidArgument, NotFound, OutOfRange, PermissionDenied,
                     Unimplemented)
from .meters import MeterConfig
from .p4info import P4InfoMap

INSERT, MODIFY, DELETE = p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE


def write_update(dev, pm: P4InfoMap, u: "p4r.Update") -> None:
    """Apply one Update to the device ``dev`` (its pipeline) under the P4Info map ``pm``."""
    which = u.entity.WhichOneof("entity")
    if u.type not in (INSERT, MODIFY, DELETE):
        raise InvalidArgument("update type must be INSERT, MODIFY or DELETE")
    if which is None:
        raise InvalidArgument("the update has an empty entity")
    writer = WRITERS.get(which)
    if writer is None:
        raise Unimplemented(f"writing {which} is not supported")
    writer(dev, pm, u.type, getattr(u.entity, which))


def meter_config(ent) -> MeterConfig | None:
    """MeterConfig of a MeterEntry/DirectMeterEntry/TableEntry (None: reset)."""
    if not ent.HasField("config" if hasattr(ent, "config") else "meter_config"):
        return None
    c = ent.config if hasattr(ent, "config") else ent.meter_config
    if c.cir > c.pir:
        raise InvalidArgument("meter config: cir must not exceed pir")
    return MeterConfig(c.cir, c.cburst, c.pir, c.pburst)


# -- tables and action profiles ---------------------------------------------------

def _table_entry(dev, pm: P4InfoMap, utype: int, te: "p4r.TableEntry") -> None:
    if te.is_default_action:
        ti = codec.table_info(pm, te.table_id)
        t = ti.table
        if utype != MODIFY:
            raise InvalidArgument(f"table {ti.name!r}: the default entry can only be modified")
        if te.match:
            raise InvalidArgument(f"table {ti.name!r}: default entry must have no match fields")
        if t.default_const:
            raise PermissionDenied(f"table {ti.name!r}: default action is const")
        if not te.HasField("action"):
            t.default_action, t.default_data = t.init_default  # §9.1: reset to initial default
            return
        if te.action.WhichOneof("type") != "action":
            raise InvalidArgument(f"table {ti.name!r}: default entry needs a direct action")
        t.default_action, t.default_data = codec.decode_action(pm, te.action.action, ti, default=True)
        return
    ti, e = codec.decode_entry(pm, te, need_action=utype != DELETE)
    if utype == INSERT:
        ti.table.insert(e)
    elif utype == MODIFY:
        ti.table.modify(e)
    else:
        ti.table.delete(e.match, e.priority)
        return
    if te.HasField("meter_config"):
        if ti.table.direct_meter is None:
            raise InvalidArgument(f"table {ti.name!r} has no direct meter")
        ti.table.direct_meter.configure(ti.table.get(e.match, e.priority).seq, meter_config(te))


def _profile(pm: P4InfoMap, pid: int):
    ent = pm.profiles.get(pid)
    if ent is None:
        raise InvalidArgument(f"unknown action profile id {pid}")
    return ent[1]


def _tables_of(dev, prof) -> list:
    return [t for t in dev.pipeline.program.tables.values() if t.profile is prof]


def _touch_tables(dev, prof) -> None:
    for t in _tables_of(dev, prof):
        t._cache.clear()


def _profile_member(dev, pm: P4InfoMap, utype: int, m: "p4r.ActionProfileMember") -> None:
    prof = _profile(pm, m.action_profile_id)
    if utype == DELETE:
        prof.delete_member(m.member_id)  # refused while an entry of any table refers to it
        return
    act, data = codec.decode_action(pm, m.action, None, default=False)
    (prof.add_member if utype == INSERT else prof.modify_member)(m.member_id, act, data)
    _touch_tables(dev, prof)


def _profile_group(dev, pm: P4InfoMap, utype: int, g: "p4r.ActionProfileGroup") -> None:
    prof = _profile(pm, g.action_profile_id)
    if prof.selector is None:
        raise InvalidArgument(f"action profile {prof.name!r} has no selector; groups not allowed")
    if utype == DELETE:
        prof.delete_group(g.group_id)  # refused while an entry of any table refers to it
    else:
        members = {}
        for m in g.members:
            if m.member_id in members:
                raise InvalidArgument(f"group {g.group_id}: member {m.member_id} listed twice")
            members[m.member_id] = m.weight or 1
        prof.set_group(g.group_id, members, utype == INSERT, g.max_size)
    _touch_tables(dev, prof)


# -- counters, meters, registers (modify only) ------------------------------------

def _indexed_cells(kind: str, arrays: dict, array_id: int, entry) -> tuple:
    """The array and the cells an indexed counter/meter write addresses (one, or all
    when the index is unset), every index checked before anything is written."""
    arr = arrays.get(array_id)
    if arr is None:
        raise InvalidArgument(f"unknown {kind} id {array_id}")
    idxs = [entry.index.index] if entry.HasField("index") else range(arr.size)
    for i in idxs:
        check_index(kind, arr.name, i, arr.size)
    return arr, idxs


def check_index(kind: str, name: str, i: int, size: int) -> None:
    """§9.3/§9.6: a negative index is INVALID_ARGUMENT, one past the array OUT_OF_RANGE."""
    if i < 0:
        raise InvalidArgument(f"{kind} {name!r}: negative index {i}")
    if i >= size:
        raise OutOfRange(f"{kind} {name!r}: index {i} out of range 0..{size - 1}")


def _counter(dev, pm: P4InfoMap, utype: int, c: "p4r.CounterEntry") -> None:
    if utype != MODIFY:
        raise InvalidArgument("counter entries can only be modified")
    ca, idxs = _indexed_cells("counter", pm.counters, c.counter_id, c)
    for i in idxs:
        ca.packets[i], ca.bytes[i] = c.data.packet_count, c.data.byte_count


def _direct_counter(dev, pm: P4InfoMap, utype: int, d: "p4r.DirectCounterEntry") -> None:
    if utype != MODIFY:
        raise InvalidArgument("direct counter entries can only be modified")
    ti = codec.table_info(pm, d.table_entry.table_id)
    match, prio = codec.decode_match(ti, d.table_entry)
    e = ti.table.get(match, prio)
    e.packets, e.bytes = d.data.packet_count, d.data.byte_count


def _meter(dev, pm: P4InfoMap, utype: int, m: "p4r.MeterEntry") -> None:
    if utype != MODIFY:
        raise InvalidArgument("meter entries can only be modified")
    ma, idxs = _indexed_cells("meter", pm.meters, m.meter_id, m)
    for i in idxs:
        ma.configure(i, meter_config(m))


def _direct_meter(dev, pm: P4InfoMap, utype: int, d: "p4r.DirectMeterEntry") -> None:
    if utype != MODIFY:
        raise InvalidArgument("direct meter entries can only be modified")
    ti = codec.table_info(pm, d.table_entry.table_id)
    if ti.table.direct_meter is None:
        raise InvalidArgument(f"table {ti.name!r} has no direct meter")
    match, prio = codec.decode_match(ti, d.table_entry)
    ti.table.direct_meter.configure(ti.table.get(match, prio).seq, meter_config(d))


def _register(dev, pm: P4InfoMap, utype: int, r: "p4r.RegisterEntry") -> None:
    if utype != MODIFY:
        raise InvalidArgument("register entries can only be modified")
    reg = pm.registers.get(r.register_id)
    if reg is None:
        raise InvalidArgument(f"unknown register id {r.register_id}")
    v = codec.decode_value(r.data.bitstring, reg.bitwidth, f"register {reg.name!r}")
    idxs = [r.index.index] if r.HasField("index") else range(len(reg))
    for i in idxs:
        check_index("register", reg.name, i, len(reg))
    for i in idxs:
        reg[i] = v


# -- packet replication engine, value sets ----------------------------------------

def _pre(dev, pm: P4InfoMap, utype: int, pre: "p4r.PacketReplicationEngineEntry") -> None:
    if pre.WhichOneof("type") != "multicast_group_entry":
        raise Unimplemented("only multicast group entries are supported")
    g = pre.multicast_group_entry
    groups = dev.pipeline.mcast_groups
    if g.multicast_group_id == 0:
        raise InvalidArgument("multicast group id 0 is reserved")
    if utype == INSERT and g.multicast_group_id in groups:
        raise AlreadyExists(f"multicast group {g.multicast_group_id} exists")
    if utype != INSERT and g.multicast_group_id not in groups:
        raise NotFound(f"no multicast group {g.multicast_group_id}")
    if utype == DELETE:
        del groups[g.multicast_group_id]
        return
    reps = []
    for r in g.replicas:
        port = r.egress_port if r.egress_port else int.from_bytes(r.port or b"\x00", "big")
        reps.append((port, r.instance))
    groups[g.multicast_group_id] = reps


def _value_set(dev, pm: P4InfoMap, utype: int, v: "p4r.ValueSetEntry") -> None:
    ent = pm.vsets.get(v.value_set_id)
    if ent is None:
        raise InvalidArgument(f"unknown value set id {v.value_set_id}")
    vs, size = ent
    if utype != MODIFY:
        raise InvalidArgument("value set entries can only be modified")
    members = []
    for m in v.members:
        val, mask = 0, 0
        for fm in m.match:
            kind = fm.WhichOneof("field_match_type")
            if kind == "exact":
                val, mask = int.from_bytes(fm.exact.value, "big"), -1
            elif kind == "ternary":
                val, mask = int.from_bytes(fm.ternary.value, "big"), int.from_bytes(fm.ternary.mask, "big")
            else:
                raise InvalidArgument(f"value set {vs.name!r}: unsupported match {kind!r}")
        members.append((val, mask))
    if size and len(members) > size:
        raise InvalidArgument(f"value set {vs.name!r}: {len(members)} members exceed size {size}")
    vs.members = members


# Entity oneof name (p4runtime.proto Entity) -> writer(dev, pm, update type, entity message)
WRITERS: dict[str, Callable[..., None]] = {
    "table_entry": _table_entry,
    "action_profile_member": _profile_member,
    "action_profile_group": _profile_group,
    "counter_entry": _counter,
    "direct_counter_entry": _direct_counter,
    "meter_entry": _meter,
    "direct_meter_entry": _direct_meter,
    "register_entry": _register,
    "packet_replication_engine_entry": _pre,
    "value_set_entry": _value_set,
}
