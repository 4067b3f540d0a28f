"""The switch device: forwarding pipeline config, P4Runtime entity writes
(writes.py) and reads (reads.py), and packet I/O between ports, pipeline and
controller.

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
from .errors import FailedPrecondition, InvalidArgument, NotFound, PipelineLoadError
from .p4info import P4InfoMap, PacketMeta
from .pipeline import Pipeline
from .program import Program
from .reads import read_entity
from .writes import write_update

log = logging.getLogger(__name__)


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
                raise NotFound("COMMIT: no saved pipeline config (use VERIFY_AND_SAVE first)")  # §13.2
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
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            # JSON of the wrong shape the loader did not name: still a config that cannot be realized (§13.2)
            raise InvalidArgument(f"bad pipeline config: malformed bmv2 JSON ({type(exc).__name__}: {exc})") from None
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

    # -- writes (writes.py) ------------------------------------------------------
    def write(self, u: "p4r.Update") -> None:
        write_update(self, self._pm(), u)

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

