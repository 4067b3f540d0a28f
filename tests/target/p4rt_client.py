"""A raw P4Runtime client for error tests: it sends requests as built, malformed ones
included (finsy refuses to encode most of them), and reports what the server answered.

Rule: an answer is an ``Outcome``: the gRPC status code name of the RPC and, for a
Write whose status carries p4.v1.Error details (P4Runtime spec §12.3), the canonical
code name of each update. Messages are kept for the failure report, never compared.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc
from finsy.proto import p4i, p4r, p4r_grpc, rpc_status
from google.protobuf import text_format

from p4mob_switch.errors import Code

A = p4r.SetForwardingPipelineConfigRequest


@dataclass(frozen=True)
class Outcome:
    code: str  # gRPC status code name of the RPC ("OK", "INVALID_ARGUMENT", ...)
    updates: tuple[str, ...] = ()  # per-update canonical codes of a failed Write batch
    message: str = ""

    def key(self) -> tuple:
        return (self.code, self.updates)


def outcome_of(exc: grpc.RpcError) -> Outcome:
    updates: tuple[str, ...] = ()
    message = ""
    for k, v in exc.trailing_metadata() or ():
        if k == "grpc-status-details-bin":
            st = rpc_status.Status.FromString(v)
            errs, texts = [], []
            for d in st.details:
                e = p4r.Error()
                if d.Unpack(e):
                    errs.append(Code(e.canonical_code).name)
                    texts.append(e.message)
            updates = tuple(errs)
            message = " | ".join(t for t in texts if t)
    return Outcome(exc.code().name, updates, message or exc.details() or "")


def u128(v: int) -> "p4r.Uint128":
    return p4r.Uint128(high=v >> 64, low=v & ((1 << 64) - 1))


class P4Info:
    """Ids by short name ("l2", "set_port", "port_rx") from a P4Info text file."""

    def __init__(self, path: Path) -> None:
        self.msg = text_format.Parse(path.read_text(), p4i.P4Info())
        self.ids: dict[str, int] = {}
        for kind in ("tables", "actions", "counters", "registers", "action_profiles", "direct_counters"):
            for obj in getattr(self.msg, kind):
                self.ids.setdefault(obj.preamble.name.split(".")[-1], obj.preamble.id)

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


class Client:
    """One gRPC channel; ``arbitrate`` opens a StreamChannel and waits for the answer."""

    def __init__(self, addr: str, device_id: int = 1) -> None:
        self.channel = grpc.insecure_channel(addr)
        self.stub = p4r_grpc.P4RuntimeStub(self.channel)
        self.device_id = device_id
        self.election_id: int | None = None
        self._out: queue.Queue = queue.Queue()
        self.stream_msgs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def arbitrate(self, election_id: int, timeout: float = 30.0, device_id: int | None = None,
                  role: str | None = None) -> "p4r.StreamMessageResponse | Outcome":
        """Send an arbitration update; the answer, or the Outcome the stream ended with."""
        if self._thread is None:
            def requests():
                while (m := self._out.get()) is not None:
                    yield m
            responses = self.stub.StreamChannel(requests())

            def pump():
                try:
                    for r in responses:
                        self.stream_msgs.put(r)
                except grpc.RpcError as exc:
                    self.stream_msgs.put(Outcome(exc.code().name, (), exc.details() or ""))
            self._thread = threading.Thread(target=pump, daemon=True)
            self._thread.start()
        req = p4r.StreamMessageRequest()
        req.arbitration.device_id = self.device_id if device_id is None else device_id
        req.arbitration.election_id.CopyFrom(u128(election_id))
        if role is not None:
            req.arbitration.role.name = role
        self._out.put(req)
        self.election_id = election_id
        while True:
            msg = self.stream_msgs.get(timeout=timeout)
            if isinstance(msg, Outcome) or msg.WhichOneof("update") == "arbitration":
                return msg

    def close(self) -> None:
        self._out.put(None)
        self.channel.close()

    # -- RPCs, answered as Outcomes -------------------------------------------------
    def call(self, method: str, request) -> Outcome:
        try:
            resp = getattr(self.stub, method)(request, timeout=60)
            if method == "Read":
                list(resp)
        except grpc.RpcError as exc:
            return outcome_of(exc)
        return Outcome("OK")

    def write_request(self, updates, election_id: int | None = -1, device_id: int | None = None,
                      atomicity: int = p4r.WriteRequest.CONTINUE_ON_ERROR) -> "p4r.WriteRequest":
        req = p4r.WriteRequest(device_id=self.device_id if device_id is None else device_id,
                               atomicity=atomicity)
        eid = self.election_id if election_id == -1 else election_id
        if eid is not None:
            req.election_id.CopyFrom(u128(eid))
        req.updates.extend(updates)
        return req

    def write(self, *updates, **kw) -> Outcome:
        return self.call("Write", self.write_request(updates, **kw))

    def read(self, *entities, device_id: int | None = None) -> Outcome:
        req = p4r.ReadRequest(device_id=self.device_id if device_id is None else device_id)
        req.entities.extend(entities)
        return self.call("Read", req)

    def read_entities(self, *entities) -> list:
        req = p4r.ReadRequest(device_id=self.device_id)
        req.entities.extend(entities)
        return [e for r in self.stub.Read(req, timeout=60) for e in r.entities]

    def set_pipeline(self, p4info: "p4i.P4Info | None", device_config: bytes,
                     action: int = A.VERIFY_AND_COMMIT, election_id: int | None = -1) -> Outcome:
        req = A(device_id=self.device_id, action=action)
        eid = self.election_id if election_id == -1 else election_id
        if eid is not None:
            req.election_id.CopyFrom(u128(eid))
        if p4info is not None:
            req.config.p4info.CopyFrom(p4info)
        req.config.p4_device_config = device_config
        return self.call("SetForwardingPipelineConfig", req)
