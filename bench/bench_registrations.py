"""Registrations per second through the whole path, against the raw P4Runtime write rate.

Setup (root): one namespace holding an LMA switch (embedded target by
default) and, on the other end of its port-1 veth, a load generator that
sends real PBUs (our MH codec, Ethernet/IPv6 frames on an AF_PACKET socket)
from a trusted MAG address. The LMA node (`p4mob lma run`) decodes them,
runs the core, writes entries in batches and answers PBAs as packet-outs;
punts and packet-outs go over a veth that is the switch's port 255
(runtime/punt_port.py; `--punts stream`: the P4Runtime stream, as before).
Baseline measured in the same run, on the same switch, before the node
starts: raw P4Runtime INSERT rate of `tunnel_peers` entries (a table with
direct actions; `bindings` points to members) written by finsy in batches.
Printed: registrations/s (burst) and its ratio to the baseline write rate
(one registration = 3 updates: the binding's member, its `bindings` and
`uplink_sources` entries), the burst's updates per write batch,
CPU microseconds per registration of the switch, the node and the generator
(from /proc: the cost, whatever else shares the cores), and p50/p99 PBU->PBA
latency at a fixed rate (default 1000/s), a fifth of it and half the burst
rate (one the path sustains). The node logs at info, as deployed (--log-level debug
adds its line per PBU and PBA); batch sizes come from its `status`
("written"). Also the node alone: adapter + core + codec +
entries + SQLite + message encoding in process, no gRPC. Goal (issue):
>= 10,000 registrations/s with batching, p99 < 5 ms at 1,000/s. Writes
bench/results/registrations.json.
Usage: python bench/bench_registrations.py [--count 2000] [--rate 1000] [--target embedded|bmv2]
       [--burst-only] [--log-level info|debug] [--punts port|stream]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import RESULTS, cpu_seconds, percentiles, raw_write_rate  # noqa: E402
from lma_rig import Generator, lma_config, lma_namespace, pbu_frame, start_node, stop_node  # noqa: E402


def outer(args: argparse.Namespace) -> int:
    from p4mobility.lab.lab import lab_unavailable
    from p4mobility.lab.supervisor import Supervisor

    reason = lab_unavailable()
    if reason:
        print(f"bench_registrations: skipped: {reason}")
        return 0
    with Supervisor("breg") as sup:
        out = Path(args.out).resolve()
        ns, switch_pid = lma_namespace(sup, args.target, out, args.punts == "port")
        inner = [sys.executable, __file__, "--inner", "--count", str(args.count), "--rate", str(args.rate),
                 "--out", str(out), "--target", args.target, "--switch-pid", str(switch_pid)]
        inner += ["--burst-only"] if args.burst_only else []
        inner += ["--log-level", args.log_level, "--punts", args.punts]
        return subprocess.call(["ip", "netns", "exec", ns] + inner)


def node_alone_rate(cfg: dict, count: int, batch: int = 100) -> float:
    """The LMA adapter + core + codec + entry translation + SQLite + P4Runtime
    message encoding, in process: everything but the gRPC transport."""
    import tempfile

    from finsy import P4Schema

    from p4mobility.runtime.lma_node import LmaNode
    from p4mobility.runtime.logs import EventLog
    from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO, lma_from_dict

    schema = P4Schema(DEFAULT_P4INFO)
    try:
        from p4mobility.p4rt.fastenc import UpdateEncoder
        encode = UpdateEncoder(schema).encode
    except ImportError:  # a tree before fastenc: finsy encodes
        def encode(u):
            return u.encode_update(schema)

    class Punted:
        def __init__(self, payload: bytes) -> None:
            self.payload = payload

        def __getitem__(self, key: str) -> int:
            return {"punt_reason": 1, "ingress_port": 1}[key]

    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as devnull:
        c = json.loads(json.dumps(cfg))
        c["node"].update(control_socket=f"{tmp}/s", state_db=f"{tmp}/lma.db")
        node = LmaNode(lma_from_dict(c), EventLog("lma", devnull))
        node.entries.load(node.restore())  # as NodeRuntime.run
        try:  # typed queue items and the node's parts in their own modules (runtime/items.py, ...)
            from p4mobility.runtime.action_log import log_actions
            from p4mobility.runtime.items import PacketIn
            node.outbox.learn_fields(schema)
            item = PacketIn

            def record(acts):
                log_actions(node.log, node.metrics, acts)
        except ImportError:  # a tree before them
            node._out_fields = tuple(m.name for m in schema.controller_packet_metadata["packet_out"].metadata)
            record = node._log_actions

            def item(pkt):
                return ("packet", pkt)
        frames = [pbu_frame(i, (i + 1) & 0xFFFF) for i in range(count)]
        t = time.perf_counter()
        for k in range(0, count, batch):
            now = time.time()
            acts = [a for f in frames[k:k + batch] for a in node.on_item(item(Punted(f)), now)]
            node.persist(acts)
            [encode(u) for u in node.entries.plan([ch for a in acts for ch in node.changes_for(a)])]
            [p.encode_update(schema) for a in acts for p in node.packet_outs(a)]
            record(acts)
        dt = time.perf_counter() - t
        node.store.close()
    return count / dt


def inner(args: argparse.Namespace) -> int:
    from p4mobility.lab.topology import to_toml
    from p4mobility.runtime.control import request

    out = Path(args.out)
    n_burst, n_rate = args.count, max(100, min(args.count, 2000))
    baseline = asyncio.run(raw_write_rate(max(n_burst, 1000), 256))
    print(f"baseline: raw P4Runtime INSERT into tunnel_peers, batches of 256: {baseline:,.0f} entries/s", flush=True)
    total = n_burst + 3 * n_rate
    cfg = lma_config(out, total, args.log_level, args.punts == "port")
    (out / "lma.toml").write_text(to_toml(cfg))
    alone = node_alone_rate(cfg, min(total, 3000))
    print(f"node alone (no switch, in process, SQLite on, messages encoded, no gRPC): {alone:,.0f} registrations/s",
          flush=True)
    log = out / "lma.log"
    if log.exists():
        log.unlink()
    node = start_node(out / "lma.toml", log)
    if node is None:
        return 1
    gen = None
    try:
        gen = Generator()
        control = str(out / "lma.sock")
        written_before = request(control, {"cmd": "status"})["written"]
        procs = {"switch": args.switch_pid, "node": node.pid, "generator": os.getpid()}
        cpu0 = {k: cpu_seconds(p) for k, p in procs.items()}
        # 1. burst: as fast as the generator can send, with a bounded window
        t0 = time.perf_counter()
        window = 512
        for i in range(n_burst):
            while i - len(gen.acked) >= window:
                time.sleep(0.0005)
            gen.send(i, (i + 1) & 0xFFFF)
        gen.wait(n_burst, 120)
        done = [gen.acked[i][0] for i in range(n_burst) if i in gen.acked]
        burst_rate = len(done) / (max(done) - t0) if done else 0.0
        ok = sum(1 for i in range(n_burst) if gen.acked.get(i, (0, -1))[1] == 0)
        # CPU time per answered registration: the cost, whatever else shares the cores
        cpu_us = {k: round((cpu_seconds(p) - cpu0[k]) * 1e6 / max(1, len(done))) for k, p in procs.items()}
        # the burst is the first traffic: the largest batch so far is the burst's
        w = request(control, {"cmd": "status"})["written"]
        burst_batches = w["batches"] - written_before["batches"]
        burst_updates = w["updates"] - written_before["updates"]
        burst_largest = w["largest"]
        # 2. fixed rates: PBU -> PBA latency (the goal's rate, and a fifth of it)
        latency: dict[int, dict] = {}
        base_i = n_burst
        # the goal's rate, a fifth of it, and half the burst rate (one it sustains)
        rates = [] if args.burst_only else sorted({max(1, args.rate // 5), args.rate, max(1, int(burst_rate * 0.5))})
        cpu_by_rate: dict[int, dict] = {}
        for rate in rates:
            lat = []
            period = 1.0 / rate
            cpu_r = {k: cpu_seconds(p) for k, p in procs.items()}
            t_next = time.perf_counter()
            for k in range(n_rate):
                i = base_i + k
                delay = t_next - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)  # no busy wait: the switch and the node share the CPUs
                gen.send(i, (i + 1) & 0xFFFF)
                t_next += period
            gen.wait(base_i + n_rate, 60)
            for k in range(n_rate):
                i = base_i + k
                if i in gen.acked:
                    lat.append((gen.acked[i][0] - gen.sent[i]) * 1000.0)
            latency[rate] = {"answered": len(lat), "sent": n_rate, **percentiles(lat)}
            # per registration at this rate: small batches, where each write request's fixed cost shows
            cpu_by_rate[rate] = {k: round((cpu_seconds(p) - cpu_r[k]) * 1e6 / max(1, len(lat)))
                                 for k, p in procs.items()}
            base_i += n_rate
        written = request(control, {"cmd": "status"})["written"]
        node_cpu_s = cpu_seconds(node.pid) - cpu0["node"]
    finally:
        if gen is not None:
            gen.close()
        stop_node(node)
    ratio = burst_rate * 3 / baseline if baseline else 0.0
    res = {"target": args.target, "baseline_entries_per_s": round(baseline), "node_alone_per_s": round(alone),
           "burst_count": n_burst,
           "burst_accepted": ok, "registrations_per_s": round(burst_rate),
           "ratio_entries_vs_raw_write": round(ratio, 3), "latency_by_rate": latency,
           "write_batches": written["batches"],
           "mean_updates_per_batch": round(written["updates"] / written["batches"], 1) if written["batches"] else 0,
           "burst_write_batches": burst_batches,
           "burst_updates_per_batch": {"mean": round(burst_updates / burst_batches, 1) if burst_batches else 0,
                                       "max": burst_largest},
           "burst_cpu_us_per_registration": cpu_us,
           "node_cpu_us_per_registration_all_phases": round(node_cpu_s * 1e6 / max(1, len(gen.acked))),
           "cpu_us_per_registration_by_rate": cpu_by_rate,
           "node_log_level": args.log_level, "punts": args.punts,
           "load_average_1min": round(os.getloadavg()[0], 2),
           "cpus": os.cpu_count(),
           "goal": ">= 10000 registrations/s; p99 < 5 ms at 1000/s"}
    print(f"burst: {ok}/{n_burst} accepted, {burst_rate:,.0f} registrations/s = {ratio:.2f}x the raw write rate "
          f"(3 updates per registration; {res['burst_updates_per_batch']['mean']} updates per write batch, "
          f"max {res['burst_updates_per_batch']['max']})")
    print("burst CPU per registration: " + ", ".join(f"{k} {v} us" for k, v in cpu_us.items())
          + f"; node over all phases {res['node_cpu_us_per_registration_all_phases']} us")
    for rate, r in latency.items():
        c = cpu_by_rate.get(rate, {})
        print(f"at {rate}/s: {r['answered']}/{r['sent']} answered, PBU->PBA p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; "
              "CPU per registration " + ", ".join(f"{k} {v} us" for k, v in c.items()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "registrations.json").write_text(json.dumps(res, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--target", default="embedded")
    ap.add_argument("--out", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "p4mob-bench-reg"))
    ap.add_argument("--burst-only", action="store_true", help="skip the fixed-rate latency runs")
    ap.add_argument("--punts", default="port", choices=("port", "stream"),
                    help="the node's punts and packet-outs: a veth as the switch's port 255 (default, "
                         "runtime/punt_port.py) or the P4Runtime stream")
    ap.add_argument("--log-level", default="info", choices=("info", "debug"),
                    help="the LMA node's (info as deployed; debug adds a line per PBU and PBA)")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--switch-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    return inner(args) if args.inner else outer(args)


if __name__ == "__main__":
    sys.exit(main())
