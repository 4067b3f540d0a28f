"""P4Runtime gRPC servicer (grpc.aio) over a Device.

Rule: this layer only decodes requests, enforces mastership and reports
errors as the P4Runtime spec says; table semantics live in device.py.
- §5 arbitration: per role, the stream with the highest election_id is the
  primary; every stream of the role is told (OK for the primary,
  ALREADY_EXISTS for backups). A bad arbitration update ends the stream with
  its status (§5.3, never a StreamError, §16.1): unknown device NOT_FOUND, a
  reused election_id INVALID_ARGUMENT, another device or role on a live stream
  FAILED_PRECONDITION.
- Write / SetForwardingPipelineConfig from anyone but the primary of the
  role: PERMISSION_DENIED. Wrong device_id: NOT_FOUND.
- §12 batch errors: a Write with failed updates returns UNKNOWN with a
  google.rpc.Status in grpc-status-details-bin holding one p4.v1.Error per
  update (OK ones included), so clients can tell which update failed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import grpc
from finsy.proto import p4r, p4r_grpc, rpc_status
from google.protobuf import any_pb2

from .device import Device
from .errors import Code, TargetError
from .tls import ServerTls

log = logging.getLogger(__name__)

P4RUNTIME_VERSION = "1.3.0"
STREAM_QUEUE = 1024  # packet-ins queued per stream before dropping


def _u128(e: "p4r.Uint128") -> int:
    return (e.high << 64) | e.low


@dataclass(eq=False)
class Stream:
    queue: asyncio.Queue
    role: str = ""
    election_id: int | None = None
    arbitrated: bool = False
    dropped: int = 0
    ended: bool = False  # an arbitration error ends the stream


@dataclass(frozen=True)
class _EndStream:
    code: int
    message: str


@dataclass
class Counters:
    writes: int = 0
    write_errors: int = 0
    packet_ins_dropped: int = 0
    extras: dict = field(default_factory=dict)


class P4RuntimeServicer(p4r_grpc.P4RuntimeServicer):
    def __init__(self, device: Device) -> None:
        self.device = device
        self.streams: list[Stream] = []
        self.counters = Counters()
        device.packet_in = self._packet_in

    # -- arbitration -------------------------------------------------------------
    def primary(self, role: str) -> Stream | None:
        best = None
        for s in self.streams:
            if s.arbitrated and s.role == role and s.election_id is not None:
                if best is None or s.election_id > best.election_id:
                    best = s
        return best

    def _notify_role(self, role: str) -> None:
        prim = self.primary(role)
        for s in self.streams:
            if s.arbitrated and s.role == role:
                self._send_arbitration(s, prim)

    def _send_arbitration(self, s: Stream, prim: Stream | None) -> None:
        msg = p4r.StreamMessageResponse()
        a = msg.arbitration
        a.device_id = self.device.device_id
        if s.role:
            a.role.name = s.role
        eid = prim.election_id if prim is not None else s.election_id or 0
        a.election_id.high, a.election_id.low = eid >> 64, eid & ((1 << 64) - 1)
        if prim is s:
            a.status.code, a.status.message = Code.OK, "primary"
        elif prim is not None:
            a.status.code, a.status.message = Code.ALREADY_EXISTS, "backup (a primary exists)"
        else:
            a.status.code, a.status.message = Code.NOT_FOUND, "no primary"
        self._put(s, msg)

    def _put(self, s: Stream, msg) -> None:
        try:
            s.queue.put_nowait(msg)
        except asyncio.QueueFull:
            s.dropped += 1
            self.counters.packet_ins_dropped += 1

    def _stream_error(self, s: Stream, code: int, message: str, packet_out=None) -> None:
        msg = p4r.StreamMessageResponse()
        msg.error.canonical_code, msg.error.message = code, message
        if packet_out is not None:
            msg.error.packet_out.packet_out.CopyFrom(packet_out)
        self._put(s, msg)

    def _end(self, s: Stream, code: int, message: str) -> None:
        s.ended = True
        self._drop_stream(s)
        if s.queue.full():
            s.queue.get_nowait()  # room for the end: one queued packet-in less
        s.queue.put_nowait(_EndStream(code, message))

    def _arbitrate(self, s: Stream, arb: "p4r.MasterArbitrationUpdate") -> None:
        role = arb.role.name if arb.HasField("role") else ""
        if arb.device_id != self.device.device_id:
            code = Code.FAILED_PRECONDITION if s.arbitrated else Code.NOT_FOUND
            self._end(s, code, f"unknown device id {arb.device_id}")
            return
        if s.arbitrated and role != s.role:
            self._end(s, Code.FAILED_PRECONDITION, "a stream keeps its role; open a new stream for another")
            return
        eid = _u128(arb.election_id) if arb.HasField("election_id") else None
        for o in self.streams:
            if o is not s and o.arbitrated and o.role == role and eid is not None and o.election_id == eid:
                self._end(s, Code.INVALID_ARGUMENT, f"election id {eid} is already in use")
                return
        s.role, s.election_id, s.arbitrated = role, eid, True
        self._notify_role(role)

    def _check_primary(self, device_id: int, role: str, election_id: "p4r.Uint128", has_eid: bool) -> None:
        if device_id != self.device.device_id:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"unknown device id {device_id}")
        prim = self.primary(role)
        if prim is None or not has_eid or _u128(election_id) != prim.election_id:
            raise _Abort(grpc.StatusCode.PERMISSION_DENIED,
                         "not the primary controller for this role (election id mismatch)")

    # -- stream ------------------------------------------------------------------
    async def StreamChannel(self, request_iterator, context):
        s = Stream(asyncio.Queue(STREAM_QUEUE))
        self.streams.append(s)

        async def reader() -> None:
            try:
                async for req in request_iterator:
                    self._on_stream_message(s, req)
                    if s.ended:
                        break
            except (asyncio.CancelledError, grpc.RpcError):
                pass
            except Exception:  # never let a client kill the server
                log.exception("stream reader failed")
            finally:
                s.queue.put_nowait(None) if not s.queue.full() else None
                self._drop_stream(s)

        task = asyncio.create_task(reader())
        queue = s.queue
        try:
            while True:
                msg = queue.get_nowait() if queue.qsize() else await queue.get()  # queued: no wake-up
                if msg is None:
                    break
                if isinstance(msg, _EndStream):
                    await context.abort(_grpc_code(msg.code), msg.message)
                yield msg
        finally:
            task.cancel()
            self._drop_stream(s)

    def _drop_stream(self, s: Stream) -> None:
        if s in self.streams:
            self.streams.remove(s)
            if s.arbitrated:
                self._notify_role(s.role)

    def _on_stream_message(self, s: Stream, req: "p4r.StreamMessageRequest") -> None:
        which = req.WhichOneof("update")
        if which == "arbitration":
            self._arbitrate(s, req.arbitration)
        elif which == "packet":
            if not s.arbitrated or self.primary(s.role) is not s:
                self._stream_error(s, Code.PERMISSION_DENIED, "packet-out from a non-primary client", req.packet)
                return
            try:
                self.device.packet_out(req.packet)
            except TargetError as exc:
                self._stream_error(s, exc.code, str(exc), req.packet)
        elif which == "digest_ack":
            pass
        else:
            self._stream_error(s, Code.UNIMPLEMENTED, f"stream message {which!r} not supported")

    def _packet_in(self, payload: bytes, meta: list) -> None:
        msg = p4r.StreamMessageResponse()
        msg.packet.payload = payload
        for fid, value, bw in meta:
            msg.packet.metadata.add(metadata_id=fid, value=value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))
        roles = {s.role for s in self.streams if s.arbitrated}
        for role in roles:
            prim = self.primary(role)
            if prim is not None:
                self._put(prim, msg)

    # -- unary RPCs --------------------------------------------------------------
    async def Capabilities(self, request, context):
        return p4r.CapabilitiesResponse(p4runtime_api_version=P4RUNTIME_VERSION)

    async def SetForwardingPipelineConfig(self, request, context):
        try:
            role = request.role if request.role else ""
            self._check_primary(request.device_id, role, request.election_id, request.HasField("election_id"))
            self.device.set_pipeline(request)
        except _Abort as a:
            await context.abort(a.code, a.message)
        except TargetError as exc:
            await context.abort(_grpc_code(exc.code), str(exc))
        return p4r.SetForwardingPipelineConfigResponse()

    async def GetForwardingPipelineConfig(self, request, context):
        if request.device_id != self.device.device_id:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown device id {request.device_id}")
        try:
            return self.device.config_response(request.response_type)
        except TargetError as exc:
            await context.abort(_grpc_code(exc.code), str(exc))

    async def Write(self, request, context):
        try:
            self._check_primary(request.device_id, request.role, request.election_id,
                                request.HasField("election_id"))
        except _Abort as a:
            await context.abort(a.code, a.message)
        if self.device.pm is None:  # §12.1 check 3, after device and primary
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no forwarding pipeline config set")
        if request.atomicity != p4r.WriteRequest.CONTINUE_ON_ERROR:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "only CONTINUE_ON_ERROR atomicity is supported")
        errors = []
        failed = 0
        for u in request.updates:
            self.counters.writes += 1
            err = p4r.Error(canonical_code=Code.OK)
            try:
                self.device.write(u)
            except TargetError as exc:
                err.canonical_code, err.message = int(exc.code), str(exc)
                failed += 1
            except Exception as exc:  # defensive: report, never crash
                log.exception("write failed")
                err.canonical_code, err.message = int(Code.INTERNAL), f"internal error: {exc}"
                failed += 1
            errors.append(err)
        if failed:
            self.counters.write_errors += failed
            st = rpc_status.Status(code=Code.UNKNOWN, message=f"{failed} of {len(errors)} updates failed")
            for e in errors:
                a = any_pb2.Any()
                a.Pack(e)
                st.details.append(a)
            first = next(e for e in errors if e.canonical_code)
            await context.abort(grpc.StatusCode.UNKNOWN, f"Write failure: {first.message}",
                                trailing_metadata=(("grpc-status-details-bin", st.SerializeToString()),))
        return p4r.WriteResponse()

    async def Read(self, request, context):
        if request.device_id != self.device.device_id:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown device id {request.device_id}")
        resp = p4r.ReadResponse()
        try:
            for ent in request.entities:
                for out in self.device.read(ent):
                    resp.entities.append(out)
                    if len(resp.entities) >= 1000:
                        yield resp
                        resp = p4r.ReadResponse()
        except TargetError as exc:
            await context.abort(_grpc_code(exc.code), str(exc))
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:  # defensive, as Write
            log.exception("read failed")
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error: {exc}")
        yield resp


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


_BY_VALUE = {c.value[0]: c for c in grpc.StatusCode}


def _grpc_code(code: int) -> grpc.StatusCode:
    return _BY_VALUE.get(int(code), grpc.StatusCode.UNKNOWN)


async def serve(device: Device, addr: str, tls: ServerTls | None = None) -> grpc.aio.Server:
    """Start the P4Runtime server on `addr` (plaintext, or TLS with `tls`)."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 256 << 20),
                                      ("grpc.max_send_message_length", 256 << 20)])
    p4r_grpc.add_P4RuntimeServicer_to_server(P4RuntimeServicer(device), server)
    port = server.add_insecure_port(addr) if tls is None else server.add_secure_port(addr, tls.credentials())
    if port == 0:
        raise OSError(f"cannot listen on {addr}")
    await server.start()
    return server
