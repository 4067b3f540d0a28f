"""Embedded P4 target throughput: downlink encap and uplink decap on veths.

Rule: every figure is a ratio against baselines measured in the same run:
a raw AF_PACKET forwarder (the ceiling for a Python switch on veths), and
bmv2 simple_switch_grpc on the same program and entries when installed
(goal: embedded >= 0.5x bmv2). The in-process pipeline rate (no kernel) is
reported too. Writes bench/results/embedded.json. Not run by the test suite
(tests/target/test_bench_smoke.py runs the in-process part with a tiny count).

    sudo .venv/bin/python bench/bench_embedded.py [--count 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import finsy as fy  # noqa: E402
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from tests.target.tlib import CPU_PORT, FEATURES_JSON, FEATURES_P4INFO, Rig, find_tool  # noqa: E402
from tests.target.veth import VethSet, veth_unavailable  # noqa: E402

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
RESULTS = REPO / "bench" / "results" / "embedded.json"


def scenario_frames() -> dict[str, bytes]:
    inner = IPv6(src="2001:db8::1", dst="2001:db8:1::5") / UDP(sport=1000, dport=2000) / (b"p" * 64)
    return {
        "downlink_encap": bytes(Ether(dst=M1, src=M2) / inner),
        "uplink_decap": bytes(Ether(dst=M1, src=M2) / IPv6(src="2001:db8:ff::2", dst="2001:db8:ff::1", nh=41) /
                              IPv6(src="2001:db8:1::5", dst="2001:db8::1") / UDP() / (b"q" * 64)),
    }


def entries() -> list:
    E, M, A = fy.P4TableEntry, fy.P4TableMatch, fy.P4TableAction
    return [
        +E("v6_tunnel", match=M(dst="2001:db8:1::5", inner=0),
           action=A("encap_v6", src="2001:db8:ff::1", dst="2001:db8:ff::2", port=2)),
        +E("v6_tunnel", match=M(dst="2001:db8:ff::1", inner=1), action=A("decap_v6", port=2)),
    ]


def inproc_pps(frame: bytes, count: int) -> float:
    rig = Rig(2)
    for e in entries():
        rig.write(e)
    pl = rig.device.pipeline
    t0 = time.perf_counter()
    for _ in range(count):
        pl.process(frame, 1)
    return count / (time.perf_counter() - t0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RAW_FORWARDER = r"""
import socket, sys
a, b = sys.argv[1:3]
ra = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); ra.bind((a, 3))
wb = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); wb.bind((b, 3))
print("ready", flush=True)
while True:
    f, addr = ra.recvfrom(65535)
    if addr[2] != 4:
        wb.send(f)
"""


def measure(veths: VethSet, frame: bytes, count: int) -> float:
    """Blast `count` frames into port 1, count frames out of port 2; pps delivered."""
    sock = veths.socks[2]
    sock.settimeout(1.0)
    got = {"n": 0, "first": 0.0, "last": 0.0}

    def rx() -> None:
        while True:
            try:
                f, addr = sock.recvfrom(65535)
            except (TimeoutError, socket.timeout):
                return
            if addr[2] == 4:
                continue
            now = time.perf_counter()
            if got["n"] == 0:
                got["first"] = now
            got["n"] += 1
            got["last"] = now
    veths.drain(2)
    t = threading.Thread(target=rx)
    t.start()
    t0 = time.perf_counter()
    send = veths.socks[1].send
    for i in range(count):
        send(frame)
        if i % 256 == 255:
            time.sleep(0.001)  # let a single-core receiver keep up without kernel drops
    t.join()
    n = got["n"]
    if n < 2:
        return 0.0
    return n / (got["last"] - t0)


def start_switch(binary: str, veths: VethSet) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    argv = [binary]
    for n, ifname in veths.switch_ifs().items():
        argv += ["-i", f"{n}@{ifname}"]
    argv += ["--device-id", "1", "--no-p4", "--", "--grpc-server-addr", f"127.0.0.1:{port}",
             "--cpu-port", str(CPU_PORT)]
    if "p4mob-switch" in binary:
        argv.insert(1, "--log-level=warning")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{binary} did not start")
            time.sleep(0.1)
    addr = f"127.0.0.1:{port}"

    async def program() -> None:
        opts = fy.SwitchOptions(p4info=FEATURES_P4INFO, p4blob=FEATURES_JSON)
        async with fy.Switch("sw", addr, opts) as sw:
            await sw.write(entries())
    asyncio.run(program())
    return proc, addr


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20000, help="frames per scenario and target")
    ap.add_argument("--inproc-only", action="store_true", help="skip veth measurements")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    result: dict = {"count": args.count, "scenarios": {}, "notes": []}
    frames = scenario_frames()
    for name, frame in frames.items():
        result["scenarios"][name] = {"inproc_pps": round(inproc_pps(frame, args.count), 1)}
    reason = None if not args.inproc_only else "--inproc-only"
    reason = reason or veth_unavailable()
    if reason:
        result["notes"].append(f"veth measurements skipped: {reason}")
    else:
        targets = {"embedded": str(Path(sys.executable).with_name("p4mob-switch"))}
        bmv2 = find_tool("simple_switch_grpc")
        if bmv2:
            targets["bmv2"] = bmv2
        else:
            result["notes"].append("bmv2 not installed: no bmv2 ratio")
        veths = VethSet(2)
        try:
            (s1, s2) = veths.switch_ifs()[1], veths.switch_ifs()[2]
            fwd = subprocess.Popen([sys.executable, "-c", RAW_FORWARDER, s1, s2], stdout=subprocess.PIPE)
            fwd.stdout.readline()
            for name, frame in frames.items():
                result["scenarios"][name]["raw_forwarder_pps"] = round(measure(veths, frame, args.count), 1)
            stop(fwd)
            for tname, binary in targets.items():
                proc, _addr = start_switch(binary, veths)
                try:
                    for name, frame in frames.items():
                        result["scenarios"][name][f"{tname}_pps"] = round(measure(veths, frame, args.count), 1)
                finally:
                    stop(proc)
        finally:
            veths.close()
    for name, r in result["scenarios"].items():
        emb = r.get("embedded_pps")
        if emb and r.get("raw_forwarder_pps"):
            r["embedded_vs_raw_forwarder"] = round(emb / r["raw_forwarder_pps"], 3)
        if emb and r.get("bmv2_pps"):
            r["embedded_vs_bmv2"] = round(emb / r["bmv2_pps"], 3)
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in r.items()))
    for n in result["notes"]:
        print("note:", n)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    if os.environ.get("P4MOB_BENCH_PROFILE"):
        import cProfile
        cProfile.run("main()", sort="cumtime")
    else:
        main()
