"""P4Runtime server behaviour over real gRPC (P4Runtime spec §5, §9, §11, §12).

The server runs in-process on a free TCP port; clients are finsy and the raw
P4Runtime stub from finsy's protos.
"""

from __future__ import annotations

import asyncio
import socket
import time

import finsy as fy
import grpc
import pytest
from finsy.proto import p4r, p4r_grpc
from google.protobuf import text_format
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from p4mob_switch.device import Device
from p4mob_switch.ports import MemoryPort
from p4mob_switch.runtime import serve

from .tlib import CPU_PORT, FEATURES_JSON, FEATURES_P4INFO, require_features


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self) -> None:
        self.addr = f"127.0.0.1:{free_port()}"
        self.device = Device(1, CPU_PORT)
        self.ports = {n: MemoryPort(n, self.device.receive) for n in (1, 2, 3)}
        for n, p in self.ports.items():
            self.device.ports[n] = p.send

    async def __aenter__(self) -> "Server":
        self.server = await serve(self.device, self.addr)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.server.stop(0)


def options(**kw) -> fy.SwitchOptions:
    return fy.SwitchOptions(p4info=FEATURES_P4INFO, p4blob=FEATURES_JSON, **kw)


def run(coro) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))


def arb_request(eid: int, role: str = "") -> p4r.StreamMessageRequest:
    m = p4r.StreamMessageRequest()
    m.arbitration.device_id = 1
    m.arbitration.election_id.low = eid
    if role:
        m.arbitration.role.name = role
    return m


@pytest.fixture(autouse=True)
def _need_program() -> None:
    require_features()


def test_p4runtime_5_arbitration_primary_backup_and_failover() -> None:
    async def body() -> None:
        async with Server() as srv:
            async with grpc.aio.insecure_channel(srv.addr) as ch:
                stub = p4r_grpc.P4RuntimeStub(ch)
                q1: asyncio.Queue = asyncio.Queue()
                q2: asyncio.Queue = asyncio.Queue()
                s1 = stub.StreamChannel()
                await s1.write(arb_request(10))
                r = await s1.read()
                assert r.arbitration.status.code == grpc.StatusCode.OK.value[0]
                s2 = stub.StreamChannel()
                await s2.write(arb_request(5))
                r = await s2.read()
                assert r.arbitration.status.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
                assert r.arbitration.election_id.low == 10
                # a backup may not write
                req = p4r.WriteRequest(device_id=1)
                req.election_id.low = 5
                with pytest.raises(grpc.aio.AioRpcError) as ei:
                    await stub.Write(req)
                assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
                # the same election id twice ends that stream (§5.3, not a StreamError)
                s3 = stub.StreamChannel()
                await s3.write(arb_request(10))
                with pytest.raises(grpc.aio.AioRpcError) as ended:
                    await s3.read()
                assert ended.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                # primary leaves -> backup is told it is primary
                s1.cancel()
                r = await s2.read()
                assert r.arbitration.status.code == grpc.StatusCode.OK.value[0]
                assert r.arbitration.election_id.low == 5
                s2.cancel()
                del q1, q2
    run(body())


def test_p4runtime_set_pipeline_bad_json_is_invalid_argument_and_server_survives() -> None:
    async def body() -> None:
        async with Server() as srv:
            async with grpc.aio.insecure_channel(srv.addr) as ch:
                stub = p4r_grpc.P4RuntimeStub(ch)
                s = stub.StreamChannel()
                await s.write(arb_request(1))
                await s.read()
                req = p4r.SetForwardingPipelineConfigRequest(device_id=1, action=3)
                req.election_id.low = 1
                text_format.Parse(FEATURES_P4INFO.read_text(), req.config.p4info)
                for bad, needle in ((b"{not json", "not valid JSON"),
                                    (b'{"__meta__": {"version": [3, 0]}}', "major version 3"),
                                    (FEATURES_JSON.read_bytes().replace(b'"ethernet_t"', b'"nosuch_t"', 1),
                                     "unknown header_type 'ethernet_t'")):
                    req.config.p4_device_config = bad
                    with pytest.raises(grpc.aio.AioRpcError) as ei:
                        await stub.SetForwardingPipelineConfig(req)
                    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                    assert needle in ei.value.details()
                with pytest.raises(grpc.aio.AioRpcError) as ei:
                    await stub.GetForwardingPipelineConfig(p4r.GetForwardingPipelineConfigRequest(device_id=1))
                assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                req.config.p4_device_config = FEATURES_JSON.read_bytes()
                req.action = p4r.SetForwardingPipelineConfigRequest.VERIFY
                await stub.SetForwardingPipelineConfig(req)
                assert srv.device.pipeline is None  # VERIFY does not commit
                req.action = p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
                req.config.cookie.cookie = 42
                await stub.SetForwardingPipelineConfig(req)
                got = await stub.GetForwardingPipelineConfig(p4r.GetForwardingPipelineConfigRequest(device_id=1))
                assert got.config.p4_device_config == FEATURES_JSON.read_bytes()
                assert got.config.p4info == req.config.p4info and got.config.cookie.cookie == 42
                s.cancel()
    run(body())


def test_p4runtime_12_batch_reports_per_update_errors() -> None:
    async def body() -> None:
        async with Server() as srv:
            async with fy.Switch("sw", srv.addr, options()) as sw:
                def entry(dst: str, port: int) -> fy.P4TableEntry:
                    return fy.P4TableEntry("ipv4_lpm", match=fy.P4TableMatch(dst=dst),
                                           action=fy.P4TableAction("ipv4_forward", port=port, dmac=1))
                await sw.write([+entry("10.0.0.0/8", 1)])
                with pytest.raises(fy.P4ClientError) as ei:
                    await sw.write([+entry("11.0.0.0/8", 1), +entry("10.0.0.0/8", 2), +entry("12.0.0.0/8", 1)])
                details = ei.value.details
                assert list(details) == [1]
                assert details[1].canonical_code == fy.GRPCStatusCode.ALREADY_EXISTS
                with pytest.raises(fy.P4ClientError) as ei:
                    await sw.write([-entry("13.0.0.0/8", 1)])
                assert ei.value.details[0].canonical_code == fy.GRPCStatusCode.NOT_FOUND
                with pytest.raises(fy.P4ClientError) as ei:
                    await sw.write([~entry("13.0.0.0/8", 1)])
                assert ei.value.details[0].canonical_code == fy.GRPCStatusCode.NOT_FOUND
                names = {e.match["dst"] for e in [x async for x in sw.read(fy.P4TableEntry("ipv4_lpm"))]}
                assert len(names) == 3
    run(body())


def test_p4runtime_invalid_argument_for_widths_and_unknown_ids() -> None:
    async def body() -> None:
        async with Server() as srv:
            async with fy.Switch("sw", srv.addr, options()) as sw:
                schema = sw.p4info
                good = fy.P4TableEntry("l2", match=fy.P4TableMatch(dst=1),
                                       action=fy.P4TableAction("set_port_counted", port=2))
                base = (+good).encode_update(schema)

                def variant(mutate) -> p4r.Update:
                    u = p4r.Update()
                    u.CopyFrom(base)
                    mutate(u.entity.table_entry)
                    return u

                cases = {
                    "too wide": lambda te: setattr(te.match[0].exact, "value", b"\x01" * 7),
                    "does not fit": lambda te: setattr(te.action.action.params[0], "value", b"\x02\x00"),
                    "unknown table id": lambda te: setattr(te, "table_id", 12345),
                    "unknown action id": lambda te: setattr(te.action.action, "action_id", 999),
                    "unknown param id": lambda te: setattr(te.action.action.params[0], "param_id", 9),
                    "unknown match field id": lambda te: setattr(te.match[0], "field_id", 9),
                    "priority must be 0": lambda te: setattr(te, "priority", 3),
                }
                for needle, mutate in cases.items():
                    req = p4r.WriteRequest(device_id=1, updates=[variant(mutate)])
                    req.election_id.CopyFrom(fy.proto.U128.encode(sw.options.initial_election_id))
                    with pytest.raises(grpc.aio.AioRpcError) as ei:
                        await sw._p4client._stub.Write(req)
                    st = fy.p4client.P4RpcStatus.from_rpc_error(ei.value)
                    assert st.details[0].canonical_code == fy.GRPCStatusCode.INVALID_ARGUMENT, needle
                    assert needle in st.details[0].message
                # the server still works
                await sw.write([+fy.P4TableEntry("l2", match=fy.P4TableMatch(dst=1),
                                                 action=fy.P4TableAction("set_port_counted", port=2))])
                assert len([x async for x in sw.read(fy.P4TableEntry("l2"))]) == 1
    run(body())


def test_p4runtime_packet_io_and_wildcard_reads() -> None:
    async def body() -> None:
        async with Server() as srv:
            async with fy.Switch("sw", srv.addr, options()) as sw:
                await sw.write([+fy.P4TableEntry("l2", match=fy.P4TableMatch(dst="02:00:00:00:00:01"),
                                                 action=fy.P4TableAction("set_port_counted", port=2)),
                                +fy.P4ActionProfileMember("ecmp_selector", member_id=1,
                                             action=fy.P4TableAction("set_port", port=3))])
                frame = bytes(Ether(dst="02:00:00:00:00:05") / IP(dst="1.2.3.4") / UDP() / b"abc")
                await sw.write([fy.P4PacketOut(frame, egress_port=3, _pad=0)])
                deadline = time.monotonic() + 10
                while not srv.ports[3].sent and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                assert srv.ports[3].take() == [frame]
                # a frame with a bad IPv4 header goes to the CPU as packet-in
                bad = bytes(Ether(dst="02:00:00:00:00:05") / IP(dst="1.2.3.4", ihl=6) / (b"\x00" * 30))
                srv.ports[2].inject(bad)
                pin = await asyncio.wait_for(sw.read_packets().__anext__(), 10)
                assert pin.payload == bad and pin["ingress_port"] == 2
                ents = [e async for e in sw.read(fy.P4TableEntry())]
                assert {e.table_id for e in ents} >= {"l2", "tos_map"}
                mems = [m async for m in sw.read(fy.P4ActionProfileMember("ecmp_selector"))]
                assert [(m.member_id, m.action.name) for m in mems] == [(1, "set_port")]
                ctrs = [c async for c in sw.read(fy.P4CounterEntry("port_rx"))]
                assert len(ctrs) == 8 and ctrs[2].data.packet_count == 1
    run(body())


def test_p4runtime_save_commit_and_reconcile_keeps_entries() -> None:
    async def body() -> None:
        async with Server() as srv:
            async with fy.Switch("sw", srv.addr, options()) as sw:
                await sw.write([+fy.P4TableEntry("l2", match=fy.P4TableMatch(dst=5),
                                                 action=fy.P4TableAction("set_port_counted", port=2))])
                stub = sw._p4client._stub
                A = p4r.SetForwardingPipelineConfigRequest
                req = A(device_id=1, action=A.RECONCILE_AND_COMMIT)
                req.election_id.CopyFrom(fy.proto.U128.encode(sw.options.initial_election_id))
                text_format.Parse(FEATURES_P4INFO.read_text(), req.config.p4info)
                # a different (but compatible) device config: same program, reformatted JSON
                req.config.p4_device_config = FEATURES_JSON.read_bytes() + b"\n"
                await stub.SetForwardingPipelineConfig(req)
                assert srv.device.json_bytes.endswith(b"\n")
                assert len([e async for e in sw.read(fy.P4TableEntry("l2"))]) == 1
                # VERIFY_AND_SAVE then COMMIT replaces the program and its state
                req.action = A.VERIFY_AND_SAVE
                req.config.p4_device_config = FEATURES_JSON.read_bytes()
                await stub.SetForwardingPipelineConfig(req)
                assert len([e async for e in sw.read(fy.P4TableEntry("l2"))]) == 1
                commit = A(device_id=1, action=A.COMMIT)
                commit.election_id.CopyFrom(req.election_id)
                await stub.SetForwardingPipelineConfig(commit)
                assert [e async for e in sw.read(fy.P4TableEntry("l2"))] == []
                with pytest.raises(grpc.aio.AioRpcError) as ei:
                    await stub.SetForwardingPipelineConfig(commit)
                assert ei.value.code() == grpc.StatusCode.NOT_FOUND  # §13.2: no saved config
    run(body())
