"""The switch device: forwarding pipeline config, P4Runtime entity writes and
reads, and packet I/O between ports, pipeline and controller.

Rule: no gRPC here. Each Write update is applied or rejected as a whole with a
typed TargetError (P4Runtime spec §12: per-update status); Read yields
entities for wildcard requests (§11.1). Everything runs on one thread (the
asyncio loop), so a table update is atomic with respect to packets.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterator

from finsy.proto import p4i, p4r

from . import codec
from .errors import (AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied,
                     PipelineLoadError, Unimplemented)
from .meters import MeterConfig
from .p4info import P4InfoMap, PacketMeta
from .reads import read_entity
from .pipeline import Pipeline
from .program import Program

log = logging.getLogger(__name__)

INSERT, MODIFY, DELETE = p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE


def pack_meta(meta: PacketMeta, values: dict[int, int]) -> bytes:
    acc, nb = 0, 0
    for fid, _name, bw in meta.fields:
        acc = (acc << bw) | (values.get(fid, 0) & ((1 << bw) - 1))
        nb += bw
    pad = -nb % 8
    return (acc << pad).to_bytes((nb + pad) // 8, "big")


def unpack_meta(meta: PacketMeta, frame: bytes) -> tuple[list[tuple[int, int, int]], bytes]:
    n = meta.nbytes
    if len(frame) < n:
        return [], frame
    acc = int.from_bytes(frame[:n], "big")
    total = n * 8
    out = []
    for fid, _name, bw in meta.fields:
        total -= bw
        out.append((fid, (acc >> total) & ((1 << bw) - 1), bw))
    return out, frame[n:]


def meter_config(ent) -> MeterConfig | None:
    """MeterConfig of a MeterEntry/DirectMeterEntry/TableEntry (None: reset)."""
    if not ent.HasField("config" if hasattr(ent, "config") else "meter_config"):
        return None
    c = ent.config if hasattr(ent, "config") else ent.meter_config
    if c.cir > c.pir:
        raise InvalidArgument("meter config: cir must not exceed pir")
    return MeterConfig(c.cir, c.cburst, c.pir, c.pburst)


def load_p4info(data: bytes | str, text: bool | None = None) -> "p4i.P4Info":
    """Parse P4Info from binary protobuf or text format (*.txtpb)."""
    from google.protobuf import text_format
    info = p4i.P4Info()
    raw = data.encode() if isinstance(data, str) else data
    try:
        if text is False:
            info.ParseFromString(raw)
        else:
            text_format.Parse(raw.decode(), info)
    except Exception as exc:  # protobuf raises several types
        if text is None:
            try:
                info.ParseFromString(raw)
                return info
            except Exception:
                pass
        raise PipelineLoadError(f"P4Info: cannot parse ({exc})") from None
    return info


class Device:
    def __init__(self, device_id: int = 1, cpu_port: int | None = None) -> None:
        self.device_id = device_id
        self.cpu_port = cpu_port
        self.pipeline: Pipeline | None = None
        self.pm: P4InfoMap | None = None
        self.p4info: "p4i.P4Info | None" = None
        self.json_bytes = b""
        self.cookie = 0
        self._saved: tuple | None = None
        self.ports: dict[int, Callable[[bytes], None]] = {}  # port -> send(frame)
        self.packet_in: Callable[[bytes, list], None] | None = None
        self.no_port_drops = 0
        self._out_widths: dict[int, int] | None = None

    # -- pipeline config -------------------------------------------------------
    def build(self, json_bytes: bytes, info: "p4i.P4Info | None") -> tuple[Pipeline, P4InfoMap | None]:
        prog = Program(json_bytes)
        pm = P4InfoMap(info, prog) if info is not None else None
        return Pipeline(prog, self.cpu_port), pm

    def load(self, json_bytes: bytes, info: "p4i.P4Info | None" = None, cookie: int = 0) -> None:
        pl, pm = self.build(json_bytes, info)
        self._commit(pl, pm, info, json_bytes, cookie)

    def _commit(self, pl: Pipeline, pm: P4InfoMap | None, info, json_bytes: bytes, cookie: int) -> None:
        self.pipeline, self.pm, self.p4info = pl, pm, info
        self._out_widths = None  # packet_out metadata id -> bitwidth, from this P4Info
        self.json_bytes, self.cookie = json_bytes, cookie
        log.info("pipeline committed: %d tables, %d actions", len(pl.program.tables), len(pl.program.actions))

    def set_pipeline(self, req: "p4r.SetForwardingPipelineConfigRequest") -> None:
        A = p4r.SetForwardingPipelineConfigRequest
        cfg = req.config
        cookie = cfg.cookie.cookie if cfg.HasField("cookie") else 0
        if req.action == A.COMMIT:
            if self._saved is None:
                raise FailedPrecondition("COMMIT: no saved pipeline config (use VERIFY_AND_SAVE first)")
            self._commit(*self._saved)
            self._saved = None
            return
        if req.action not in (A.VERIFY, A.VERIFY_AND_SAVE, A.VERIFY_AND_COMMIT, A.RECONCILE_AND_COMMIT):
            raise InvalidArgument(f"SetForwardingPipelineConfig: unsupported action {req.action}")
        if not cfg.HasField("p4info"):
            raise InvalidArgument("SetForwardingPipelineConfig: config.p4info is missing")
        if not cfg.p4_device_config:
            raise InvalidArgument("SetForwardingPipelineConfig: config.p4_device_config (bmv2 JSON) is empty")
        json_bytes = bytes(cfg.p4_device_config)
        try:
            pl, pm = self.build(json_bytes, cfg.p4info)
        except PipelineLoadError as exc:
            raise InvalidArgument(f"bad pipeline config: {exc}") from None
        if req.action == A.VERIFY:
            return
        if req.action == A.VERIFY_AND_SAVE:
            self._saved = (pl, pm, cfg.p4info, json_bytes, cookie)
            return
        if (req.action == A.RECONCILE_AND_COMMIT and self.pipeline is not None
                and json_bytes == self.json_bytes and cfg.p4info == self.p4info):
            self.cookie = cookie  # same program: keep the forwarding state
            return
        if req.action == A.RECONCILE_AND_COMMIT and self.pipeline is not None:
            self._reconcile(pl)
        self._commit(pl, pm, cfg.p4info, json_bytes, cookie)

    def _reconcile(self, new: Pipeline) -> None:
        """Carry entries of tables that keep their name, keys and actions."""
        old = self.pipeline.program
        for name, t in new.program.tables.items():
            o = old.tables.get(name)
            if o is None or [(k.match_type, k.width) for k in o.keys] != [(k.match_type, k.width) for k in t.keys]:
                continue
            for e in o.entries.values():
                if e.const or e.action is None or e.action.name not in t.actions:
                    continue
                na = t.actions[e.action.name]
                if len(na.params) != len(e.action.params):
                    continue
                e2 = codec.Entry(e.match, e.priority, na, e.data, metadata=e.metadata,
                                 controller_metadata=e.controller_metadata)
                try:
                    t.insert(e2)
                except Exception:  # noqa: BLE001 - best effort
                    pass

    def config_response(self, rtype: int) -> "p4r.GetForwardingPipelineConfigResponse":
        if self.pipeline is None or self.p4info is None:
            raise FailedPrecondition("no forwarding pipeline config set")
        R = p4r.GetForwardingPipelineConfigRequest
        resp = p4r.GetForwardingPipelineConfigResponse()
        resp.config.cookie.cookie = self.cookie
        if rtype in (R.ALL, R.P4INFO_AND_COOKIE):
            resp.config.p4info.CopyFrom(self.p4info)
        if rtype in (R.ALL, R.DEVICE_CONFIG_AND_COOKIE):
            resp.config.p4_device_config = self.json_bytes
        return resp

    def _pm(self) -> P4InfoMap:
        if self.pm is None:
            raise FailedPrecondition("no forwarding pipeline config set")
        return self.pm

    # -- writes -----------------------------------------------------------------
    def write(self, u: "p4r.Update") -> None:
        pm = self._pm()
        which = u.entity.WhichOneof("entity")
        if u.type not in (INSERT, MODIFY, DELETE):
            raise InvalidArgument("update type must be INSERT, MODIFY or DELETE")
        if which == "table_entry":
            self._write_table(pm, u.type, u.entity.table_entry)
        elif which == "action_profile_member":
            m = u.entity.action_profile_member
            prof = self._profile(pm, m.action_profile_id)
            if u.type == DELETE:
                prof.delete_member(m.member_id)
                return
            act, data = codec.decode_action(pm, m.action, None, default=False)
            (prof.add_member if u.type == INSERT else prof.modify_member)(m.member_id, act, data)
            self._touch_tables(prof)
        elif which == "action_profile_group":
            g = u.entity.action_profile_group
            prof = self._profile(pm, g.action_profile_id)
            if prof.selector is None:
                raise InvalidArgument(f"action profile {prof.name!r} has no selector; groups not allowed")
            if u.type == DELETE:
                for t in self._tables_of(prof):
                    if any(e.group_id == g.group_id for e in t.entries.values()):
                        raise FailedPrecondition(f"group {g.group_id} is referenced by table {t.name!r}")
                prof.delete_group(g.group_id)
            else:
                members = {}
                for m in g.members:
                    if m.member_id in members:
                        raise InvalidArgument(f"group {g.group_id}: member {m.member_id} listed twice")
                    members[m.member_id] = m.weight or 1
                prof.set_group(g.group_id, members, u.type == INSERT, g.max_size)
            self._touch_tables(prof)
        elif which == "counter_entry":
            c = u.entity.counter_entry
            if u.type != MODIFY:
                raise InvalidArgument("counter entries can only be modified")
            ca, idxs = _indexed_cells("counter", pm.counters, c.counter_id, c)
            for i in idxs:
                ca.packets[i], ca.bytes[i] = c.data.packet_count, c.data.byte_count
        elif which == "direct_counter_entry":
            d = u.entity.direct_counter_entry
            if u.type != MODIFY:
                raise InvalidArgument("direct counter entries can only be modified")
            ti = codec.table_info(pm, d.table_entry.table_id)
            match, prio = codec.decode_match(ti, d.table_entry)
            e = ti.table.get(match, prio)
            e.packets, e.bytes = d.data.packet_count, d.data.byte_count
        elif which == "meter_entry":
            m = u.entity.meter_entry
            if u.type != MODIFY:
                raise InvalidArgument("meter entries can only be modified")
            ma, idxs = _indexed_cells("meter", pm.meters, m.meter_id, m)
            for i in idxs:
                ma.configure(i, meter_config(m))
        elif which == "direct_meter_entry":
            d = u.entity.direct_meter_entry
            if u.type != MODIFY:
                raise InvalidArgument("direct meter entries can only be modified")
            ti = codec.table_info(pm, d.table_entry.table_id)
            if ti.table.direct_meter is None:
                raise InvalidArgument(f"table {ti.name!r} has no direct meter")
            match, prio = codec.decode_match(ti, d.table_entry)
            ti.table.direct_meter.configure(ti.table.get(match, prio).seq, meter_config(d))
        elif which == "register_entry":
            r = u.entity.register_entry
            if u.type != MODIFY:
                raise InvalidArgument("register entries can only be modified")
            reg = pm.registers.get(r.register_id)
            if reg is None:
                raise InvalidArgument(f"unknown register id {r.register_id}")
            v = codec.decode_value(r.data.bitstring, reg.bitwidth, f"register {reg.name!r}")
            idxs = [r.index.index] if r.HasField("index") else range(len(reg))
            for i in idxs:
                if not 0 <= i < len(reg):
                    raise InvalidArgument(f"register {reg.name!r}: index {i} out of range")
                reg[i] = v
        elif which == "packet_replication_engine_entry":
            self._write_pre(u.type, u.entity.packet_replication_engine_entry)
        elif which == "value_set_entry":
            self._write_vset(pm, u.type, u.entity.value_set_entry)
        else:
            raise Unimplemented(f"writing {which or 'an empty entity'} is not supported")

    def _write_table(self, pm: P4InfoMap, utype: int, te: "p4r.TableEntry") -> None:
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

    def _profile(self, pm: P4InfoMap, pid: int):
        ent = pm.profiles.get(pid)
        if ent is None:
            raise InvalidArgument(f"unknown action profile id {pid}")
        return ent[1]

    def _tables_of(self, prof) -> list:
        return [t for t in self.pipeline.program.tables.values() if t.profile is prof]

    def _touch_tables(self, prof) -> None:
        for t in self._tables_of(prof):
            t._cache.clear()

    def _write_pre(self, utype: int, pre: "p4r.PacketReplicationEngineEntry") -> None:
        if pre.WhichOneof("type") != "multicast_group_entry":
            raise Unimplemented("only multicast group entries are supported")
        g = pre.multicast_group_entry
        groups = self.pipeline.mcast_groups
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

    def _write_vset(self, pm: P4InfoMap, utype: int, v: "p4r.ValueSetEntry") -> None:
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

    # -- reads ------------------------------------------------------------------
    def read(self, ent: "p4r.Entity") -> Iterator["p4r.Entity"]:
        return read_entity(self, self._pm(), ent)

    # -- packets ----------------------------------------------------------------
    def receive(self, port: int, frame: bytes) -> None:
        """A frame arrived on a data port (or from the controller on the CPU port)."""
        pl = self.pipeline
        if pl is None:
            return
        for out_port, out in pl.process(frame, port):
            if out_port == self.cpu_port and self.cpu_port is not None:
                self._to_controller(out)
                continue
            send = self.ports.get(out_port)
            if send is None:
                self.no_port_drops += 1
                continue
            send(out)

    def _to_controller(self, frame: bytes) -> None:
        if self.packet_in is None:
            return
        meta, payload = unpack_meta(self.pm.packet_in, frame) if self.pm else ([], frame)
        self.packet_in(payload, meta)

    def packet_out(self, pkt: "p4r.PacketOut") -> None:
        pm = self._pm()
        if self.cpu_port is None:
            raise FailedPrecondition("packet-out needs --cpu-port")
        known = self._out_widths
        if known is None:
            known = self._out_widths = {fid: bw for fid, _n, bw in pm.packet_out.fields}
        vals = {}
        for m in pkt.metadata:
            fid = m.metadata_id
            bw = known.get(fid)
            if bw is None:
                raise InvalidArgument(f"packet_out: unknown metadata id {fid}")
            b = m.value
            v = int.from_bytes(b, "big")
            if not b or len(b) > (bw + 7) // 8 or v >> bw:  # the message only when it is wrong
                codec.decode_value(b, bw, f"packet_out metadata {fid}")
            vals[fid] = v
        self.receive(self.cpu_port, pack_meta(pm.packet_out, vals) + bytes(pkt.payload))


def _indexed_cells(kind: str, arrays: dict, array_id: int, entry) -> tuple:
    """The array and the cells an indexed counter/meter write addresses (one, or all
    when the index is unset), every index checked before anything is written."""
    arr = arrays.get(array_id)
    if arr is None:
        raise InvalidArgument(f"unknown {kind} id {array_id}")
    idxs = [entry.index.index] if entry.HasField("index") else range(arr.size)
    for i in idxs:
        if not 0 <= i < arr.size:
            raise InvalidArgument(f"{kind} {arr.name!r}: index {i} out of range 0..{arr.size - 1}")
    return arr, idxs
