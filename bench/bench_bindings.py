"""100,000 bindings held by the LMA node with their entries written (issue 15).

Setup (root): the registration bench's rig (bench/lma_rig.py): one namespace
with the LMA's switch (embedded target by default), a generator sending real
PBUs on its port 1, the LMA node process (`p4mob lma run`, SQLite state) with
a profile per MN. The generator registers MNs mn0..mn<count-1> with a bounded
window of PBUs in flight, and stops (every PBA in) at count/100, count/10 and
count bindings (1k, 10k, 100k by default). At each mark it samples the node's
and the switch's RSS (/proc/PID/status VmRSS) and the registration rate, the
node's and the switch's CPU per registration over the last `--window`
registrations before the mark.
Baselines in the same run: the RSS of each process with no binding (the node
after its first reconcile, its profiles loaded), from which memory per binding
is the growth over the bindings; the rate of the first window, against which
the rates at 10k and 100k are ratios (flat = 1.0).
Then the node is killed (-9) and started again on its state: the time to its
`reconciled` line (state read and core rebuilt, pipeline, Read of every owned
entry, diff), with the reconcile's counts (0 written when nothing was lost).
Goal (issue): <= 2 KB of controller memory per binding in the whole node,
registration rate flat from 1k to 100k bindings. Writes bench/results/bindings.json.
Usage: python bench/bench_bindings.py [--count 100000] [--window 1000] [--target embedded|bmv2] [--punts port|stream]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import RESULTS, cpu_seconds  # noqa: E402
from lma_rig import Generator, lma_config, lma_namespace, rss_bytes, start_node, stop_node  # noqa: E402

GOAL_BYTES_PER_BINDING = 2048
LIFETIME_UNITS = 900  # 3600 s, the LMA's default max_binding_lifetime: none expires during the run
IN_FLIGHT = 512


def outer(args: argparse.Namespace) -> int:
    from p4mobility.lab.lab import lab_unavailable
    from p4mobility.lab.supervisor import Supervisor

    reason = lab_unavailable()
    if reason:
        print(f"bench_bindings: skipped: {reason}")
        return 0
    with Supervisor("bbind") as sup:
        out = Path(args.out).resolve()
        ns, switch_pid = lma_namespace(sup, args.target, out, args.punts == "port")
        inner = [sys.executable, __file__, "--inner", "--count", str(args.count), "--window", str(args.window),
                 "--out", str(out), "--target", args.target, "--switch-pid", str(switch_pid)]
        inner += ["--punts", args.punts]
        inner += ["--profile"] if args.profile else []
        return subprocess.call(["ip", "netns", "exec", ns] + inner)


def register(gen: Generator, first: int, last: int) -> None:
    """PBUs for MNs first..last-1, at most IN_FLIGHT unanswered; returns when all are answered."""
    for i in range(first, last):
        while i - len(gen.acked) >= IN_FLIGHT:
            time.sleep(0.0005)
        gen.send(i, 1)
    gen.wait(last, 600)


def mark(gen: Generator, pids: dict[str, int], done: int, count: int, window: int, profile: Path | None) -> dict:
    """Register up to ``count`` (the last ``window`` of them measured); RSS at ``count``.
    ``profile``: py-spy records the node over the window there (collapsed stacks)."""
    start = max(done, count - window)
    register(gen, done, start)
    spy = None
    if profile is not None:
        spy = subprocess.Popen([shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pids["node"]), "--format", "raw", "--nonblocking",
                                "-o", str(profile / f"node-{count}.txt")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
    gen_cpu0 = cpu_seconds(os.getpid())
    t0 = time.perf_counter()
    register(gen, start, count)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    acks = [gen.acked[i][0] for i in range(start, count) if i in gen.acked]
    n = len(acks)
    rate = n / (max(acks) - t0) if acks else 0.0
    cpu = {k: round((cpu_seconds(p) - cpu0[k]) * 1e6 / max(1, n)) for k, p in pids.items()}
    cpu["generator"] = round((cpu_seconds(os.getpid()) - gen_cpu0) * 1e6 / max(1, n))
    accepted = sum(1 for i in range(count) if gen.acked.get(i, (0, -1))[1] == 0)
    return {"bindings": count, "accepted": accepted, "window": count - start, "registrations_per_s": round(rate),
            "cpu_us_per_registration": cpu, "rss_bytes": {k: rss_bytes(p) for k, p in pids.items()}}


def restart(node: subprocess.Popen, config: Path, log: Path, switch_pid: int) -> tuple[subprocess.Popen | None, dict]:
    """kill -9 the node, start it on its state: seconds to `state_restored` and `reconciled`,
    CPU seconds of the new node and of the switch (its Read replies) until then."""
    from p4mobility.runtime.logs import read_events

    os.kill(node.pid, signal.SIGKILL)
    node.wait()
    seen = len(read_events(str(log)))
    t0 = time.time()
    switch_cpu = cpu_seconds(switch_pid)
    new = start_node(config, log, timeout=1800)
    took = time.time() - t0
    cpu = {"node": round(cpu_seconds(new.pid), 1) if new is not None else None,
           "switch": round(cpu_seconds(switch_pid) - switch_cpu, 1)}
    events = read_events(str(log))[seen:]
    first = {e["event"]: e for e in reversed(events)}  # the first line of each kind
    res = {"seconds_to_reconciled": round(took, 2), "cpu_seconds": cpu}
    if "state_restored" in first:
        res["seconds_to_state_restored"] = round(first["state_restored"]["ts"] - t0, 2)
        res["restored_bindings"] = first["state_restored"]["bindings"]
    if "reconciled" in first:
        r = first["reconciled"]
        res["reconciled"] = {k: r.get(k) for k in ("read", "inserted", "modified", "deleted", "desired")}
    res["node_rss_bytes_after"] = rss_bytes(new.pid) if new is not None else 0
    return new, res


def inner(args: argparse.Namespace) -> int:
    from p4mobility.lab.topology import to_toml

    out = Path(args.out)
    n = args.count
    marks = sorted({max(1, n // 100), max(1, n // 10), n})
    for f in ("lma.db", "lma.db-wal", "lma.db-shm", "lma.log"):
        (out / f).unlink(missing_ok=True)
    config = out / "lma.toml"
    config.write_text(to_toml(lma_config(out, n, "info", args.punts == "port", state_db=str(out / "lma.db"))))
    log = out / "lma.log"
    t = time.perf_counter()
    node = start_node(config, log, timeout=600)
    if node is None:
        return 1
    startup = time.perf_counter() - t
    gen = Generator(LIFETIME_UNITS)
    gc.disable()  # the generator's own full collections (its 100k records) would pace the windows
    pids = {"node": node.pid, "switch": args.switch_pid}
    try:
        rss0 = {k: rss_bytes(p) for k, p in pids.items()}
        print(f"node up in {startup:.1f} s with {n:,} MN profiles: RSS node {rss0['node'] / 2**20:.1f} MiB, "
              f"switch {rss0['switch'] / 2**20:.1f} MiB (no binding)", flush=True)
        rows, done = [], 0
        for m in marks:
            row = mark(gen, pids, done, m, args.window, out if args.profile else None)
            done = m
            for k in pids:
                row[f"{k}_bytes_per_binding"] = round((row["rss_bytes"][k] - rss0[k]) / m)
            row["node_total_rss_per_binding"] = round(row["rss_bytes"]["node"] / m)
            if rows:  # growth since the last mark: the start's freed memory is reused by then
                prev = rows[-1]
                for k in pids:
                    row[f"{k}_marginal_bytes_per_binding"] = round((row["rss_bytes"][k] - prev["rss_bytes"][k])
                                                                   / (m - prev["bindings"]))
            row["rate_vs_first"] = round(row["registrations_per_s"] / max(1, rows[0]["registrations_per_s"] if rows
                                                                           else row["registrations_per_s"]), 2)
            first_cpu = (rows[0] if rows else row)["cpu_us_per_registration"]["node"]
            row["node_cpu_vs_first"] = round(row["cpu_us_per_registration"]["node"] / first_cpu, 2) if first_cpu else None
            row["load_average_1min"] = round(os.getloadavg()[0], 2)
            rows.append(row)
            print(f"{m:>7,} bindings ({row['accepted']:,} accepted): {row['registrations_per_s']:,}/s over the last "
                  f"{row['window']} = {row['rate_vs_first']}x the first window; CPU/registration node "
                  f"{row['cpu_us_per_registration']['node']} us ({row['node_cpu_vs_first']}x), switch {row['cpu_us_per_registration']['switch']} us, generator "
                  f"{row['cpu_us_per_registration']['generator']} us;"
                  f" RSS node +{row['node_bytes_per_binding']:,} B/binding "
                  f"({row['node_bytes_per_binding'] / GOAL_BYTES_PER_BINDING:.2f}x the 2 KB goal; "
                  f"{row['node_total_rss_per_binding']:,} B/binding with everything), "
                  f"switch +{row['switch_bytes_per_binding']:,} B/binding"
                  + (f"; since the last mark node +{row['node_marginal_bytes_per_binding']:,}, switch "
                     f"+{row['switch_marginal_bytes_per_binding']:,} B/binding" if len(rows) > 1 else ""), flush=True)
        node, again = restart(node, config, log, args.switch_pid)
        print(f"kill -9 and restart with {n:,} bindings: state restored in {again.get('seconds_to_state_restored')} s,"
              f" reconciled in {again['seconds_to_reconciled']} s ({again.get('reconciled')}); RSS after "
              f"{again['node_rss_bytes_after'] / 2**20:.1f} MiB; CPU node {again['cpu_seconds']['node']} s, switch "
              f"{again['cpu_seconds']['switch']} s", flush=True)
    finally:
        gen.close()
        if node is not None:
            stop_node(node)
    last = rows[-1]
    res = {"target": args.target, "count": n, "punts": args.punts,
           "node_startup_s": round(startup, 2), "rss_no_binding_bytes": rss0, "marks": rows,
           "node_bytes_per_binding": last["node_bytes_per_binding"],
           "node_total_rss_per_binding": last["node_total_rss_per_binding"],
           "switch_bytes_per_binding": last["switch_bytes_per_binding"],
           "node_marginal_bytes_per_binding": last.get("node_marginal_bytes_per_binding"),
           "switch_marginal_bytes_per_binding": last.get("switch_marginal_bytes_per_binding"),
           "memory_vs_goal": round(last["node_bytes_per_binding"] / GOAL_BYTES_PER_BINDING, 3),
           "rate_last_vs_first": last["rate_vs_first"],
           "node_cpu_last_vs_first": round(last["cpu_us_per_registration"]["node"]
                                           / max(1, rows[0]["cpu_us_per_registration"]["node"]), 2),
           "restart": again, "cpus": os.cpu_count(),
           "goal": "<= 2048 B of node memory per binding; registration rate flat from 1k to 100k bindings"}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bindings.json").write_text(json.dumps(res, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--window", type=int, default=1000, help="registrations measured before each mark")
    ap.add_argument("--target", default="embedded")
    ap.add_argument("--out", help="the run's files (default: a new directory under $TMPDIR, so runs never share one)")
    ap.add_argument("--punts", default="port", choices=("port", "stream"),
                    help="the node's punts and packet-outs: a veth as the switch's port 255 (default, as "
                         "bench_registrations and examples/lma.toml) or the P4Runtime stream")
    ap.add_argument("--profile", action="store_true", help="py-spy (on PATH or beside python) records the node over each window")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--switch-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.out = args.out or tempfile.mkdtemp(prefix="p4mob-bench-bindings-")
    return inner(args) if args.inner else outer(args)


if __name__ == "__main__":
    sys.exit(main())
