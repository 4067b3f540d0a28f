"""Target switch_p4rt: the embedded target's P4Runtime request handling, in process:
the Device calls the servicer makes for Write (each Update), Read (each Entity) and
SetForwardingPipelineConfig (VERIFY, with the real P4Info and bmv2 JSON), on
protobuf messages parsed from the mutated bytes.

Oracle: every call returns or raises a TargetError (the typed error the servicer
turns into a gRPC status); bytes that are no protobuf message are skipped. An
INSERT that succeeds is deleted again, so the tables do not grow with the run. A Read
is taken up to its first 100 entities (1000 through the servicer; a wildcard read of every counter cell is
200k entities, ~1 s, the same code each time).
The first input byte picks the request: 0 Write, 1 Read, 2 Write of one Update,
3 SetForwardingPipelineConfig; 4 and 5 send the Write / Read through the servicer
(runtime.py: device id, primary election id, atomicity, per-update statuses) with
a stand-in gRPC context, where an INTERNAL status (the servicer's net for an
unexpected exception) is a crash.
"""
from __future__ import annotations

from itertools import islice

MAX_LEN = 4096
READ_LIMIT = 100  # entities taken from one Read at the device (the servicer path: its first response, <= 1000)
INSTRUMENT = ("p4mob_switch",)


class InternalError(AssertionError):
    """The servicer answered INTERNAL: an exception escaped the device."""


class Aborted(Exception):
    """context.abort(): the servicer's gRPC status for a refused request."""


class StandInContext:
    async def abort(self, code, details="", trailing_metadata=()):
        if "internal error" in details or str(code) == "StatusCode.INTERNAL":
            raise InternalError(details)
        raise Aborted(code, details)


def drive(coro):
    """Run a coroutine that never suspends (the servicer's unary handlers here)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise AssertionError("the handler waited on something")


def undo_insert(dev, u) -> None:
    """Delete what an INSERT added, so the tables do not grow from input to input."""
    from finsy.proto import p4r
    from p4mob_switch.errors import TargetError

    if u.type != p4r.Update.INSERT:
        return
    undo = p4r.Update()
    undo.CopyFrom(u)
    undo.type = p4r.Update.DELETE
    try:
        dev.write(undo)
    except TargetError:
        pass


def setup():
    from finsy.proto import p4r
    from google.protobuf.message import DecodeError

    from fuzz.switch_state import make_device
    from p4mob_switch.errors import TargetError

    from p4mob_switch.runtime import P4RuntimeServicer, Stream

    dev = make_device()
    servicer = P4RuntimeServicer(dev)
    primary = Stream(queue=__import__("asyncio").Queue(8), role="", election_id=1, arbitrated=True)
    servicer.streams.append(primary)
    ctx = StandInContext()

    def via_servicer(sel: int, body: bytes) -> None:
        try:
            if sel == 4:
                req = p4r.WriteRequest.FromString(body)
                drive(servicer.Write(req, ctx))
                for u in req.updates:  # keep the tables as they were
                    undo_insert(dev, u)
            else:
                req = p4r.ReadRequest.FromString(body)
                agen = servicer.Read(req, ctx)
                try:  # the first response (<= 1000 entities): a wildcard read of every counter
                    drive(agen.__anext__())  # cell is 200k entities, ~1 s, and adds no coverage
                except StopAsyncIteration:
                    pass
                drive(agen.aclose())
        except Aborted:
            pass
        except (DecodeError, RuntimeError):
            pass

    def write(u) -> None:
        try:
            dev.write(u)
        except TargetError:
            return
        undo_insert(dev, u)

    def check(data: bytes) -> None:
        if not data:
            return
        sel, body = data[0] % 6, data[1:]
        if sel >= 4:
            via_servicer(sel, body)
            return
        try:
            if sel == 0:
                req = p4r.WriteRequest.FromString(body)
            elif sel == 1:
                req = p4r.ReadRequest.FromString(body)
            elif sel == 2:
                req = p4r.Update.FromString(body)
            else:
                req = p4r.SetForwardingPipelineConfigRequest.FromString(body)
        except (DecodeError, RuntimeError):  # not a message of that type (RuntimeError: upb recursion limit)
            return
        if sel == 0:
            for u in req.updates:
                write(u)
        elif sel == 1:
            for ent in req.entities:
                try:
                    for _ in islice(dev.read(ent), READ_LIMIT):
                        pass
                except TargetError:
                    pass
        elif sel == 2:
            write(req)
        else:
            req.action = p4r.SetForwardingPipelineConfigRequest.VERIFY
            try:
                dev.set_pipeline(req)
            except TargetError:
                pass

    return check
