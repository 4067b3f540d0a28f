"""Differential test: bmv2 simple_switch_grpc (on veths) and the embedded
target (in-process) get the same program, the same entries and the same
crafted and random frames; outputs must be byte-identical, or both dropped.
Skips cleanly when bmv2 or root is unavailable."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import time

import finsy as fy
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether

from tests.tooling import require_tool

from .test_pipeline import probe_frame
from .test_stacks import STACK_CASES
from .tlib import BUILD, CPU_PORT, FEATURES_JSON, FEATURES_P4INFO, Rig, require_features
from .veth import VethSet, veth_unavailable

pytestmark = [pytest.mark.bmv2, pytest.mark.root]

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
NPORTS = 4


def entries() -> list:
    E, M, A = fy.P4TableEntry, fy.P4TableMatch, fy.P4TableAction
    return [
        +E("l2", match=M(dst="02:00:00:00:00:aa"), action=A("set_port_counted", port=4)),
        +E("ipv4_lpm", match=M(dst="10.0.0.0/8"), action=A("ipv4_forward", port=2, dmac="02:00:00:00:00:22")),
        +E("ipv4_lpm", match=M(dst="10.1.0.0/16"), action=A("ipv4_forward", port=3, dmac="02:00:00:00:00:33")),
        +E("acl", match=M(src=("192.0.2.0", "255.255.255.0"), dport=(1000, 2000)), action=A("drop"), priority=10),
        +E("acl", match=M(src=("192.0.2.9", "255.255.255.255")), action=A("to_cpu"), priority=20),
        +fy.P4ActionProfileMember("ecmp_selector", member_id=1, action=A("set_port", port=1)),
        +fy.P4ActionProfileMember("ecmp_selector", member_id=2, action=A("set_port", port=2)),
        +fy.P4ActionProfileMember("ecmp_selector", member_id=3, action=A("set_port", port=3)),
        +fy.P4ActionProfileGroup("ecmp_selector", group_id=1, members=[fy.P4Member(1, weight=1), fy.P4Member(2, weight=1), fy.P4Member(3, weight=1)]),
        +E("ecmp", match=M(dst="2001:db8:2::1"), action=fy.P4IndirectAction(group_id=1)),
        +E("v6_tunnel", match=M(dst="2001:db8:1::5", inner=0),
           action=A("encap_v6", src="2001:db8:ff::1", dst="2001:db8:ff::2", port=3)),
        +E("v6_tunnel", match=M(dst="2001:db8:ff::1", inner=1), action=A("decap_v6", port=2)),
        +E("egress_filter", match=M(port=4), action=A("NoAction")),
    ]


def frames(seed: int = 1234, n_random: int = 25) -> list[bytes]:
    rnd = random.Random(seed)
    out = [
        bytes(Ether(dst="02:00:00:00:00:aa", src=M2, type=0x1234) / (b"l2 hit" * 5)),
        bytes(Ether(dst=M1, src=M2) / IP(src="192.0.2.1", dst="10.1.2.3", ttl=0) / UDP(dport=5) / (b"x" * 20)),
        bytes(Ether(dst=M1, src=M2) / IP(src="192.0.2.1", dst="10.2.2.3", tos=0x2E) / UDP(dport=3000) / (b"y" * 9)),
        bytes(Ether(dst=M1, src=M2) / IP(src="192.0.2.1", dst="10.2.2.3") / UDP(dport=1500) / b"acl drop"),
        bytes(Ether(dst=M1, src=M2) / IP(src="192.0.2.9", dst="10.2.2.3") / UDP(dport=1) / b"to cpu"),
        bytes(Ether(dst=M1, src=M2, type=0x9100) / Dot1Q(vlan=3, type=0x8100) / Dot1Q(vlan=4) /
              IP(src="198.51.100.1", dst="10.1.0.1") / UDP() / b"vlan"),
        bytes(Ether(dst=M1, src=M2) / IPv6(src="2001:db8::1", dst="2001:db8:1::5") / UDP() / b"encap me"),
        bytes(Ether(dst=M1, src=M2) / IPv6(src="2001:db8:ff::2", dst="2001:db8:ff::1", nh=41) /
              IPv6(src="2001:db8:1::5", dst="2001:db8::1") / UDP() / b"decap me"),
        bytes(Ether(dst=M1, src=M2) / IP(src="192.0.2.1", dst="10.0.0.1", ihl=6) / (b"\x00" * 30)),
        bytes(Ether(dst=M1, src=M2) / IP(src="192.0.2.1", dst="10.0.0.1"))[:25],
        probe_frame(0xDEADBEEF, 0x1234, 7),
        probe_frame(5, 0xFFFF, 200),
    ]
    for sport in range(8):
        out.append(bytes(Ether(dst=M1, src=M2) / IPv6(src=f"2001:db8::{sport + 1:x}", dst="2001:db8:2::1") /
                         UDP(sport=sport) / b"ecmp"))
    for _ in range(n_random):
        kind = rnd.randrange(4)
        if kind == 0:
            out.append(bytes(Ether(dst=M1, src=M2) /
                             IP(src=f"192.0.2.{rnd.randrange(256)}", dst=f"10.{rnd.randrange(3)}.{rnd.randrange(256)}.1",
                                ttl=rnd.randrange(256), tos=rnd.randrange(256)) /
                             UDP(sport=rnd.randrange(65536), dport=rnd.randrange(3000)) / rnd.randbytes(rnd.randrange(40))))
        elif kind == 1:
            out.append(probe_frame(rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(8)))
        elif kind == 2:
            out.append(bytes(Ether(dst=M1, src=M2)) + rnd.randbytes(rnd.randrange(1, 80)))
        else:
            base = bytes(Ether(dst=M1, src=M2) / IP(src="192.0.2.3", dst="10.1.1.1") / UDP() / (b"z" * 10))
            out.append(base[:rnd.randrange(14, len(base))])
    return [f if len(f) >= 14 else f + bytes(14 - len(f)) for f in out]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stacks_frames() -> list[bytes]:
    from .test_stacks import frame
    rnd = random.Random(5)
    out = [frame(k, o, i, b) for k, o, i, b, _ob, _r in STACK_CASES]
    out.append(frame(0, 0, 0, b"\x01\x02\x03\x04\x05\x00"))
    for _ in range(15):
        out.append(frame(rnd.randrange(3), rnd.randrange(5), rnd.randrange(4), rnd.randbytes(rnd.randrange(8))))
    return out


PROGRAMS = {
    "features": (FEATURES_JSON, FEATURES_P4INFO, entries, frames),
    "stacks": (BUILD / "stacks.json", BUILD / "stacks.p4info.txtpb", lambda: [], stacks_frames),
}


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_bmv2_and_embedded_give_identical_outputs(program: str) -> None:
    require_features()
    p4json, p4info, make_entries, make_frames = PROGRAMS[program]
    # P4MOB_DIFF_BINARY swaps the reference (e.g. p4mob-switch itself, to check this harness)
    binary = os.environ.get("P4MOB_DIFF_BINARY") or require_tool("simple_switch_grpc")
    reason = veth_unavailable()
    if reason:
        pytest.skip(reason)
    veths = VethSet(NPORTS)
    port = _free_port()
    argv = [binary]
    for n, ifname in veths.switch_ifs().items():
        argv += ["-i", f"{n}@{ifname}"]
    # a free Thrift port: the default 9090 may be held by a switch of a parallel run
    argv += ["--device-id", "1", "--no-p4", "--thrift-port", str(_free_port()), "--",
             "--grpc-server-addr", f"127.0.0.1:{port}",
             "--cpu-port", str(CPU_PORT)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rig = Rig(NPORTS, p4json, p4info)
    for ent in make_entries():
        rig.write(ent)
    mismatches = []

    async def body() -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "bmv2 did not start"
                await asyncio.sleep(0.1)
        opts = fy.SwitchOptions(p4info=p4info, p4blob=p4json)
        async with fy.Switch("bmv2", f"127.0.0.1:{port}", opts) as sw:
            await sw.write(make_entries())
            loop = asyncio.get_running_loop()
            pins: asyncio.Queue = asyncio.Queue()

            async def pump() -> None:
                async for p in sw.read_packets():
                    await pins.put(p.payload)
            task = asyncio.create_task(pump())
            for i, frame in enumerate(make_frames()):
                for p in range(1, NPORTS + 1):
                    veths.drain(p)
                veths.send(1, frame)
                got: dict[int, list[bytes]] = {}
                wait = 1.0
                while True:
                    r = await loop.run_in_executor(None, veths.recv_any, wait)
                    if r is None:
                        break
                    got.setdefault(r[0], []).append(r[1])
                    wait = 0.1
                cpu = []
                try:
                    cpu.append(await asyncio.wait_for(pins.get(), 0.5 if not got else 0.05))
                except asyncio.TimeoutError:
                    pass
                rig.packet_ins.clear()
                ours = rig.send(1, frame)
                our_cpu = [pl for pl, _meta in rig.packet_ins]
                if got != ours or cpu != our_cpu:
                    mismatches.append((i, frame.hex(), got, ours, cpu, our_cpu))
            task.cancel()

    try:
        asyncio.run(asyncio.wait_for(body(), 600))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        veths.close()
    assert not mismatches, mismatches[:3]
