"""Entity builders for the P4Runtime error tests (features.p4): raw protobuf, so that
malformed entities can be built (finsy refuses to encode most of them).

Rule: names are the P4Info short names ("l2", "set_port"); a builder returns a
p4.v1.Entity (or Action / FieldMatch) exactly as given, never checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from finsy.proto import p4r

from .p4rt_client import Client, P4Info

INSERT, MODIFY, DELETE = p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE
MAC = b"\x02\x00\x00\x00\x00\x42"
MAC2, MAC3 = b"\x02\x00\x00\x00\x00\x43", b"\x02\x00\x00\x00\x00\x44"


@dataclass
class Ctx:
    client: Client  # the primary (election id 10)
    info: P4Info
    addr: str
    p4info_msg: object
    device_config: bytes
    other_config: bytes  # a valid bmv2 JSON of another program (stacks.p4)


# -- entity builders (raw protobuf: finsy would refuse most of these) -----------------

def action(ctx: Ctx, name: str, *params: bytes) -> "p4r.Action":
    a = p4r.Action(action_id=ctx.info[name] if isinstance(name, str) else name)
    for pid, value in enumerate(params, 1):
        a.params.add(param_id=pid, value=value)
    return a


def table_entry(ctx: Ctx, table, matches=(), act=None, priority: int = 0, **kw) -> "p4r.Entity":
    ent = p4r.Entity()
    te = ent.table_entry
    te.table_id = ctx.info[table] if isinstance(table, str) else table
    for fm in matches:
        te.match.append(fm)
    if act is not None:
        te.action.action.CopyFrom(act)
    te.priority = priority
    for k, v in kw.items():
        setattr(te, k, v)
    return ent


def exact(fid: int, value: bytes) -> "p4r.FieldMatch":
    fm = p4r.FieldMatch(field_id=fid)
    fm.exact.value = value
    return fm


def ternary(fid: int, value: bytes, mask: bytes) -> "p4r.FieldMatch":
    fm = p4r.FieldMatch(field_id=fid)
    fm.ternary.value, fm.ternary.mask = value, mask
    return fm


def lpm(fid: int, value: bytes, plen: int) -> "p4r.FieldMatch":
    fm = p4r.FieldMatch(field_id=fid)
    fm.lpm.value, fm.lpm.prefix_len = value, plen
    return fm


def range_(fid: int, low: bytes, high: bytes) -> "p4r.FieldMatch":
    fm = p4r.FieldMatch(field_id=fid)
    fm.range.low, fm.range.high = low, high
    return fm


def upd(utype: int, ent: "p4r.Entity") -> "p4r.Update":
    return p4r.Update(type=utype, entity=ent)


def l2(ctx: Ctx, mac: bytes = MAC, port: bytes = b"\x04", **kw) -> "p4r.Entity":
    return table_entry(ctx, "l2", [exact(1, mac)], action(ctx, "set_port_counted", port), **kw)


def acl(ctx: Ctx, src=b"\xc0\x00\x02\x00", mask=b"\xff\xff\xff\x00", priority=10, act="drop") -> "p4r.Entity":
    return table_entry(ctx, "acl", [ternary(1, src, mask)], action(ctx, act), priority=priority)


def counter(ctx: Ctx, cid, index: int | None) -> "p4r.Entity":
    ent = p4r.Entity()
    ent.counter_entry.counter_id = ctx.info[cid] if isinstance(cid, str) else cid
    if index is not None:
        ent.counter_entry.index.index = index
    ent.counter_entry.data.packet_count = 1
    return ent


def register(ctx: Ctx, index: int) -> "p4r.Entity":
    ent = p4r.Entity()
    ent.register_entry.register_id = ctx.info["probe_reg"]
    ent.register_entry.index.index = index
    ent.register_entry.data.bitstring = b"\x01"
    return ent


def member(ctx: Ctx, mid: int, profile=None) -> "p4r.Entity":
    ent = p4r.Entity()
    m = ent.action_profile_member
    m.action_profile_id = ctx.info["ecmp_selector"] if profile is None else profile
    m.member_id = mid
    m.action.CopyFrom(action(ctx, "set_port", b"\x01"))
    return ent


def mcast(gid: int, port: int) -> "p4r.Entity":
    ent = p4r.Entity()
    g = ent.packet_replication_engine_entry.multicast_group_entry
    g.multicast_group_id = gid
    g.replicas.add(egress_port=port, instance=1)
    return ent


def group(ctx: Ctx, gid: int, members: list) -> "p4r.Entity":
    ent = p4r.Entity()
    g = ent.action_profile_group
    g.action_profile_id, g.group_id, g.max_size = ctx.info["ecmp_selector"], gid, 4
    for m in members:
        g.members.add(member_id=m, weight=1)
    return ent


def direct_counter(ctx: Ctx) -> "p4r.Entity":
    ent = p4r.Entity()
    d = ent.direct_counter_entry
    d.table_entry.CopyFrom(table_entry(ctx, "l2", [exact(1, MAC)]).table_entry)
    d.data.packet_count = 1
    return ent


def member_ref(ctx: Ctx, mid: int) -> "p4r.Entity":
    ent = table_entry(ctx, "ecmp", [exact(1, b"\x01")])
    ent.table_entry.action.action_profile_member_id = mid
    return ent
