"""P4Runtime Read (P4Runtime spec §11.1): wildcard reads of every entity kind.

Rule: an id of 0 (or an absent index / match) is a wildcard; a non-zero
unknown id is INVALID_ARGUMENT; entries come back in insertion order with
values in canonical form.
"""

from __future__ import annotations

from typing import Iterator

from finsy.proto import p4r

from . import codec
from .errors import InvalidArgument, Unimplemented
from .writes import check_index
from .p4info import P4InfoMap


def read_entity(dev, pm: P4InfoMap, ent: "p4r.Entity") -> Iterator["p4r.Entity"]:
    """Entities matching one (possibly wildcard) read request entity."""
    which = ent.WhichOneof("entity")
    if which == "table_entry":
        yield from read_tables(pm, ent.table_entry)
    elif which == "action_profile_member":
        q = ent.action_profile_member
        for pid, (_name, prof, _sel) in pm.profiles.items():
            if q.action_profile_id not in (0, pid):
                continue
            for mid, (act, data, _seq) in prof.members.items():
                if q.member_id and q.member_id != mid:
                    continue
                out = p4r.Entity()
                m = out.action_profile_member
                m.action_profile_id, m.member_id = pid, mid
                m.action.CopyFrom(codec.encode_action(pm, act, data))
                yield out
        if q.action_profile_id and q.action_profile_id not in pm.profiles:
            raise InvalidArgument(f"unknown action profile id {q.action_profile_id}")
    elif which == "action_profile_group":
        q = ent.action_profile_group
        if q.action_profile_id and q.action_profile_id not in pm.profiles:
            raise InvalidArgument(f"unknown action profile id {q.action_profile_id}")
        for pid, (_name, prof, _sel) in pm.profiles.items():
            if q.action_profile_id not in (0, pid):
                continue
            for gid, members in prof.groups.items():
                if q.group_id and q.group_id != gid:
                    continue
                out = p4r.Entity()
                g = out.action_profile_group
                g.action_profile_id, g.group_id = pid, gid
                g.max_size = prof.group_max.get(gid, 0)
                for mid, weight in members.items():
                    g.members.add(member_id=mid, weight=weight)
                yield out
    elif which == "counter_entry":
        q = ent.counter_entry
        if q.counter_id and q.counter_id not in pm.counters:
            raise InvalidArgument(f"unknown counter id {q.counter_id}")
        for cid, ca in pm.counters.items():
            if q.counter_id not in (0, cid):
                continue
            if q.HasField("index"):
                check_index("counter", ca.name, q.index.index, ca.size)
            idxs = [q.index.index] if q.HasField("index") else range(ca.size)
            for i in idxs:
                out = p4r.Entity()
                c = out.counter_entry
                c.counter_id = cid
                c.index.index = i
                c.data.packet_count, c.data.byte_count = ca.packets[i], ca.bytes[i]
                yield out
    elif which == "direct_counter_entry":
        q = ent.direct_counter_entry
        for te in read_tables(pm, q.table_entry, force_counters=True):
            out = p4r.Entity()
            d = out.direct_counter_entry
            d.data.CopyFrom(te.table_entry.counter_data)
            te.table_entry.ClearField("counter_data")
            d.table_entry.CopyFrom(te.table_entry)
            yield out
    elif which == "meter_entry":
        q = ent.meter_entry
        if q.meter_id and q.meter_id not in pm.meters:
            raise InvalidArgument(f"unknown meter id {q.meter_id}")
        for mid, ma in pm.meters.items():
            if q.meter_id not in (0, mid):
                continue
            if q.HasField("index"):
                check_index("meter", ma.name, q.index.index, ma.size)
            for i in ([q.index.index] if q.HasField("index") else range(ma.size)):
                out = p4r.Entity()
                m = out.meter_entry
                m.meter_id, m.index.index = mid, i
                cfg = ma.config(i)
                if cfg is not None:
                    m.config.cir, m.config.cburst, m.config.pir, m.config.pburst = cfg.cir, cfg.cburst, cfg.pir, cfg.pburst
                yield out
    elif which == "direct_meter_entry":
        q = ent.direct_meter_entry
        for te in read_tables(pm, q.table_entry):
            ti = pm.tables[te.table_entry.table_id]
            if ti.table.direct_meter is None or te.table_entry.is_default_action:
                continue
            match, prio = codec.decode_match(ti, te.table_entry)
            cfg = ti.table.direct_meter.config(ti.table.get(match, prio).seq)
            out = p4r.Entity()
            d = out.direct_meter_entry
            d.table_entry.CopyFrom(te.table_entry)
            if cfg is not None:
                d.config.cir, d.config.cburst, d.config.pir, d.config.pburst = cfg.cir, cfg.cburst, cfg.pir, cfg.pburst
            yield out
    elif which == "register_entry":
        q = ent.register_entry
        if q.register_id and q.register_id not in pm.registers:
            raise InvalidArgument(f"unknown register id {q.register_id}")
        for rid, reg in pm.registers.items():
            if q.register_id not in (0, rid):
                continue
            if q.HasField("index"):
                check_index("register", reg.name, q.index.index, len(reg))
            idxs = [q.index.index] if q.HasField("index") else range(len(reg))
            for i in idxs:
                out = p4r.Entity()
                r = out.register_entry
                r.register_id = rid
                r.index.index = i
                r.data.bitstring = codec.encode_value(reg[i], reg.bitwidth)
                yield out
    elif which == "packet_replication_engine_entry":
        if ent.packet_replication_engine_entry.WhichOneof("type") != "multicast_group_entry":
            return  # no clone sessions: nothing to read
        q = ent.packet_replication_engine_entry.multicast_group_entry
        for gid, reps in dev.pipeline.mcast_groups.items():
            if q.multicast_group_id and q.multicast_group_id != gid:
                continue
            out = p4r.Entity()
            g = out.packet_replication_engine_entry.multicast_group_entry
            g.multicast_group_id = gid
            for port, rid in reps:
                g.replicas.add(egress_port=port, instance=rid)
            yield out
    elif which is None:
        raise InvalidArgument("the read request has an empty entity")
    else:
        raise Unimplemented(f"reading {which} is not supported")

def read_tables(pm: P4InfoMap, q: "p4r.TableEntry", force_counters: bool = False):
    if q.table_id and q.table_id not in pm.tables:
        raise InvalidArgument(f"unknown table id {q.table_id}")
    want_counters = force_counters or q.HasField("counter_data")
    for tid, ti in pm.tables.items():
        if q.table_id not in (0, tid):
            continue
        wc = want_counters and ti.table.with_counters
        if q.is_default_action:
            out = p4r.Entity()
            out.table_entry.CopyFrom(codec.encode_default(pm, ti, wc))
            yield out
            continue
        if q.table_id and q.match:
            match, prio = codec.decode_match(ti, q)
            entries = [ti.table.get(match, prio)]
        else:
            entries = sorted(ti.table.entries.values(), key=lambda e: e.seq)
        for e in entries:
            out = p4r.Entity()
            out.table_entry.CopyFrom(codec.encode_entry(pm, ti, e, wc))
            yield out
