"""The p4mob-switch process on real veths: AF_PACKET ports, P4Runtime from
finsy over TCP, packets in and out, the same argv the data-plane harness uses."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import finsy as fy
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from .tlib import CPU_PORT, FEATURES_JSON, FEATURES_P4INFO, require_features
from .veth import VethSet, veth_unavailable

pytestmark = pytest.mark.root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def switch():
    require_features()
    reason = veth_unavailable()
    if reason:
        pytest.skip(reason)
    veths = VethSet(3)
    port = _free_port()
    script = Path(sys.executable).with_name("p4mob-switch")
    argv = [str(script)]
    for n, ifname in veths.switch_ifs().items():
        argv += ["-i", f"{n}@{ifname}"]
    argv += ["--device-id", "1", "--no-p4", "--", "--grpc-server-addr", f"127.0.0.1:{port}",
             "--cpu-port", str(CPU_PORT)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "switch did not open its gRPC port"
                time.sleep(0.05)
        yield veths, f"127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        veths.close()


def test_af_packet_forwarding_and_packet_in_through_the_process(switch) -> None:
    veths, addr, proc = switch
    m1 = "02:00:00:00:00:01"
    frame = bytes(Ether(dst=m1, src="02:00:00:00:00:02", type=0x88B6) / (b"veth-test" + os.urandom(8)))
    bad_ip = bytes(Ether(dst="02:00:00:00:00:07") / IP(dst="1.2.3.4", ihl=6) / UDP() / os.urandom(16))

    async def body() -> None:
        opts = fy.SwitchOptions(p4info=FEATURES_P4INFO, p4blob=FEATURES_JSON)
        async with fy.Switch("sw", addr, opts) as sw:
            await sw.write([+fy.P4TableEntry("l2", match=fy.P4TableMatch(dst=m1),
                                             action=fy.P4TableAction("set_port_counted", port=3))])
            loop = asyncio.get_running_loop()
            veths.send(1, frame)
            got = await loop.run_in_executor(None, veths.recv, 3, 10.0, lambda f: f == frame)
            assert got == frame
            veths.send(2, bad_ip)
            pin = await asyncio.wait_for(sw.read_packets().__anext__(), 10)
            assert pin.payload == bad_ip and pin["ingress_port"] == 2
            out = fy.P4PacketOut(frame, egress_port=1, _pad=0)
            await sw.write([out])
            got = await loop.run_in_executor(None, veths.recv, 1, 10.0, lambda f: f == frame)
            assert got == frame

    asyncio.run(asyncio.wait_for(body(), 60))
    assert proc.poll() is None
