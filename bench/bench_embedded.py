"""Embedded P4 target packets/s: mobility.p4 downlink encap and uplink decap.

Rule: every figure is printed as a ratio against baselines measured in the
same run, on the same veths, with the same program and entries:
- bmv2 simple_switch_grpc (when installed; goal: embedded >= 0.5x bmv2),
- a raw AF_PACKET forwarder in Python (the ceiling for any Python switch on
  veths; always measured).
The in-process pipeline rate (no kernel, no sockets) is reported too, and the
CPU time per frame of the forwarder and of each switch process (utime + stime
from /proc/PID/stat around each case: steadier than rates on a shared machine).
The forwarder and the targets run --rounds times in turn; ratios are taken within
a round and each figure is the median over the rounds. Each case keeps a bounded window of frames in flight (bench_bmv2.measure), so no
queue drops distort the rate. Writes bench/results/embedded.json. Not run by
the test suite (tests/target/test_bench_smoke.py runs the in-process part).

    sudo .venv/bin/python bench/bench_embedded.py [--count 20000] [--rounds 3] [--targets embedded]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import finsy as fy  # noqa: E402
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from p4mob_switch.device import Device, load_p4info  # noqa: E402

RESULTS = REPO / "bench" / "results" / "embedded.json"
MOBILITY_JSON = REPO / "p4src" / "build" / "mobility.json"
MOBILITY_P4INFO = REPO / "p4src" / "build" / "mobility.p4info.txtpb"
CPU_PORT = 255


def _bench_bmv2():
    """bench_bmv2.py holds the shared mobility entries, frames and measure()."""
    spec = importlib.util.spec_from_file_location("bench_bmv2", REPO / "bench" / "bench_bmv2.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cases(bb) -> dict[str, tuple[int, int, bytes]]:
    """name -> (in port, out port, frame), as in bench_bmv2."""
    payload = Raw(b"\x00" * 64)
    eth = Ether(dst=bb.SWITCH_MAC, src=bb.HOST_MAC)
    downlink = eth / IPv6(src=bb.CN, dst=bb.MN) / UDP(sport=1, dport=2) / payload
    uplink = eth / IPv6(src=bb.COA, dst=bb.LMA) / IPv6(src=bb.MN, dst=bb.CN) / UDP(sport=1, dport=2) / payload
    return {"downlink_encap": (2, 1, bytes(downlink)), "uplink_decap": (2, 1, bytes(uplink))}


def _as_match(e):
    """finsy wants P4TableMatch, bench_bmv2 writes plain dicts."""
    if isinstance(e, fy.P4TableEntry) and isinstance(e.match, dict) and not isinstance(e.match, fy.P4TableMatch):
        return dataclasses.replace(e, match=fy.P4TableMatch(e.match))
    return e


class _MatchFixing:
    def __init__(self, client) -> None:
        self.client = client

    def insert(self, entities) -> None:
        self.client.insert([_as_match(e) for e in entities])


def program_mobility(bb):
    return lambda client: bb.program_mobility(_MatchFixing(client))


class _DeviceClient:
    """The P4RuntimeClient.insert() face over an in-process Device."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.schema = fy.P4Schema(MOBILITY_P4INFO, MOBILITY_JSON)

    def insert(self, entities) -> None:
        for e in entities:
            self.device.write((+_as_match(e)).encode_update(self.schema))


def inproc_pps(bb, frame: bytes, in_port: int, out_port: int, count: int) -> float:
    dev = Device(1, CPU_PORT)
    dev.load(MOBILITY_JSON.read_bytes(), load_p4info(MOBILITY_P4INFO.read_bytes()))
    bb.program_mobility(_DeviceClient(dev))
    pl = dev.pipeline
    out = pl.process(frame, in_port)
    if [p for p, _ in out] != [out_port]:
        raise RuntimeError(f"in-process check failed: frame went to {[p for p, _ in out]}, not {out_port}")
    t0 = time.perf_counter()
    for _ in range(count):
        pl.process(frame, in_port)
    return count / (time.perf_counter() - t0)


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


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_with_cpu(bb, ns, pid: int, i: int, o: int, frame: bytes, count: int) -> tuple[float, float]:
    """(frames/s, CPU microseconds per frame of process `pid`) for one case."""
    c0 = cpu_seconds(pid)
    pps = bb.measure(ns, i, o, frame, count)
    return pps, (cpu_seconds(pid) - c0) * 1e6 / count


def target_rates(bb, binary: str, ns, cs: dict, count: int) -> dict[str, tuple[float, float]]:
    """bench_bmv2.run_case with the switch's CPU per frame."""
    from tests.dataplane.p4rt import P4RuntimeClient

    sw = bb.SwitchProcess.start("bmv2", binary, {n: p.switch_ifname for n, p in ns.ports.items()})
    try:
        client = P4RuntimeClient(sw.grpc_addr, MOBILITY_P4INFO, MOBILITY_JSON)
        try:
            program_mobility(bb)(client)
            return {name: measure_with_cpu(bb, ns, sw.proc.pid, i, o, frame, count)
                    for name, (i, o, frame) in cs.items()}
        finally:
            client.close()
    finally:
        sw.stop()


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def veth_rates(bb, count: int, result: dict, wanted: list[str], embedded_binary: str | None,
               rounds: int) -> None:
    """Forwarder then each target, `rounds` times; per round the ratios, in the
    scenario the median of each figure over the rounds."""
    from tests.dataplane.netns import Namespace, netns_available
    from tests.dataplane.targets import find_binary

    reason = netns_available()
    if reason:
        result["notes"].append(f"veth measurements skipped: {reason}")
        return
    targets = {}
    for t in wanted:
        binary, why = (embedded_binary, "") if t == "embedded" and embedded_binary else find_binary(t)
        if binary:
            targets[t] = binary
        else:
            result["notes"].append(f"{t} not measured: {why}")
    cs = cases(bb)
    ns = Namespace.create([1, 2, bb.CRYPTO_PORT])
    try:
        ifs = {n: p.switch_ifname for n, p in ns.ports.items()}
        for rnd in range(rounds):
            got: dict[str, dict] = {name: {} for name in cs}
            fwd = subprocess.Popen([sys.executable, "-c", RAW_FORWARDER, ifs[2], ifs[1]], stdout=subprocess.PIPE)
            try:
                fwd.stdout.readline()
                for name, (i, o, frame) in cs.items():
                    pps, us = measure_with_cpu(bb, ns, fwd.pid, i, o, frame, count)
                    got[name].update(raw_forwarder_pps=round(pps, 1), raw_forwarder_cpu_us_per_frame=round(us, 2))
            finally:
                stop(fwd)
            for t, binary in targets.items():
                for name, (pps, us) in target_rates(bb, binary, ns, cs, count).items():
                    got[name].update({f"{t}_pps": round(pps, 1), f"{t}_cpu_us_per_frame": round(us, 2)})
            for name, r in got.items():
                _ratios(r)
                result["scenarios"][name].setdefault("rounds", []).append(r)
                print(f"round {rnd + 1}/{rounds} {name:15s} " + "  ".join(f"{k}={v}" for k, v in r.items()))
    finally:
        ns.close()
    for r in result["scenarios"].values():  # each figure: the median over the rounds
        for k in sorted({k for x in r.get("rounds", []) for k in x}):
            vals = [x[k] for x in r["rounds"] if k in x]
            r[k] = round(statistics.median(vals), 3)


def _ratios(r: dict) -> None:
    """Ratios within one round (same machine state): rates, CPU per frame, bmv2."""
    emb = r.get("embedded_pps")
    if emb and r.get("raw_forwarder_pps"):
        r["embedded_vs_raw_forwarder"] = round(emb / r["raw_forwarder_pps"], 3)
    if r.get("embedded_cpu_us_per_frame") and r.get("raw_forwarder_cpu_us_per_frame"):
        r["embedded_vs_raw_forwarder_cpu"] = round(r["raw_forwarder_cpu_us_per_frame"]
                                                   / r["embedded_cpu_us_per_frame"], 3)
    if emb and r.get("bmv2_pps"):
        r["embedded_vs_bmv2"] = round(emb / r["bmv2_pps"], 3)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20000, help="frames per case and target")
    ap.add_argument("--targets", default="embedded,bmv2", help="switches to measure (comma-separated)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="forwarder + targets this many times; figures are medians over the rounds")
    ap.add_argument("--embedded-binary", help="p4mob-switch to run (default: the one on PATH)")
    ap.add_argument("--inproc-only", action="store_true", help="skip the veth measurements")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    bb = _bench_bmv2()
    result: dict = {"count": args.count, "program": "p4src/build/mobility.json", "scenarios": {}, "notes": []}
    for name, (i, o, frame) in cases(bb).items():
        result["scenarios"][name] = {"inproc_pps": round(inproc_pps(bb, frame, i, o, args.count * 3), 1)}
    if args.inproc_only:
        result["notes"].append("veth measurements skipped: --inproc-only")
    else:
        veth_rates(bb, args.count, result, args.targets.split(","), args.embedded_binary, args.rounds)
    for name, r in result["scenarios"].items():
        print(f"{name:15s} median " + "  ".join(f"{k}={v}" for k, v in r.items() if k != "rounds"))
        if "embedded_vs_bmv2" in r:
            print(f"{'':15s} embedded/bmv2 = {r['embedded_vs_bmv2']:.3f} (goal >= 0.5)")
    for n in result["notes"]:
        print("note:", n)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
