"""Failover time of two LMA instances on etcd, and registrations/s with etcd against SQLite.

Setup (root): the LMA switch (embedded target by default) with port 1 on a veth into a
namespace, a real etcd (one member, loopback, Debian's etcd-server) and two `p4mob lma
run` for that switch with one election ([store] election, lease_ttl), the rig of
tests/e2e/lma_cluster.py. The soak's load model sends real PBUs (registrations,
refreshes, handovers from two MAGs, RFC 5213 §6.9.4 retransmissions) at ``--rate``.

1. Failover, ``--runs`` times: kill -9 of the owner; the time to the first PBA the new
   owner sends (received by the generator after its `election_won`), split into kill ->
   election_won (etcd's lease expiry, then the waiting instance's next try every TTL/3)
   and election_won -> first PBA (restore from etcd, P4Runtime arbitration, reconcile,
   the first PBU answered). The killed instance is started again as the waiting one.
   The lease TTL dominates: the ratio failover / TTL is printed.
2. Registrations/s, the same burst (``--count`` new MNs, at most 512 in flight) against
   an LMA with SQLite (the baseline, [node] state_db) and one with etcd and the election,
   ``--rounds`` times alternating, in the same run on fresh switches: the ratio of the
   medians etcd/SQLite.

Writes bench/results/failover.json. Skipped with the reason when not root, or etcd or
the target's switch is missing.
Usage: python bench/bench_failover.py [--runs 20] [--lease-ttl 2] [--count 2000] [--rounds 3] [--rate 200]
       [--target embedded|bmv2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from benchlib import RESULTS, spread  # noqa: E402

WINDOW = 512  # PBUs in flight at most in the registration burst


def unavailable(target: str) -> str | None:
    from p4mobility.lab.lab import lab_unavailable
    from tests.dataplane.targets import find_binary

    if shutil.which("etcd") is None:
        return "etcd not found on PATH (apt-get install etcd-server)"
    reason = lab_unavailable()
    if reason:
        return reason
    binary, reason = find_binary(target)
    return None if binary else reason


def cluster(target: str, out: Path, store: dict | None, mns: int):
    from tests.dataplane.targets import find_binary
    from tests.e2e.lma_cluster import ClusterLma

    out.mkdir(parents=True)
    return ClusterLma(target, find_binary(target)[0], out, store, mns)  # store None: SQLite (LmaAlone)


def last_role(log: Path, since: float) -> str | None:
    """"owner" or "waiting": the instance's last election event since ``since`` (None: none yet)."""
    from p4mobility.runtime.logs import read_events

    roles = {"election_won": "owner", "election_waiting": "waiting"}
    events = [e for e in read_events(str(log)) if e.get("ts", 0) >= since and e.get("event") in roles]
    return roles[events[-1]["event"]] if events else None


def settle(h, started: dict[str, float], lost: list[dict]) -> tuple[str, str]:
    """(owner, waiting): an instance that exited by itself (its ownership lost: a keepalive
    late under load) is recorded in ``lost`` and started again, until one owns and one waits."""
    from p4mobility.runtime.logs import read_events

    deadline = time.monotonic() + 120
    while True:
        for tag, (proc, log, _) in list(h.instances.items()):
            if proc.poll() is not None:
                why = [e for e in read_events(str(log)) if e.get("event") == "ownership_lost"
                       and e.get("ts", 0) >= started[tag]]
                lost.append({"instance": tag, "status": proc.returncode, "error": why[-1]["error"] if why else None})
                print(f"instance {tag} exited by itself: {lost[-1]}", flush=True)
                started[tag] = time.time()
                h.start_instance(tag)
        roles = {tag: last_role(log, started[tag]) for tag, (_, log, _) in h.instances.items()}
        owners = [t for t, r in roles.items() if r == "owner"]
        if len(owners) == 1 and all(r is not None for r in roles.values()):
            return owners[0], next(t for t in roles if t != owners[0])
        assert time.monotonic() < deadline, f"no owner and waiting instance: {roles}"
        time.sleep(0.05)


def failover_runs(h, load, runs: int, started: dict[str, float], lost: list[dict], echo=print) -> list[dict]:
    """``runs`` kills of the owner; per run: kill -> election_won, election_won -> first PBA (s)."""
    from tests.e2e.lma_cluster import wait_event

    out = []
    for k in range(runs):
        owner, waiting = settle(h, started, lost)
        log_w = h.instances[waiting][1]
        t_kill = h.kill(owner)
        won = wait_event(log_w, "election_won", since=t_kill, timeout=120)
        deadline = time.monotonic() + 120
        first = None
        while first is None and h.instances[waiting][0].poll() is None:  # (it may lose its lease first)
            with load.lock:
                first = min((t for t in load.answers.times if t > won["ts"]), default=None)
            assert time.monotonic() < deadline, "no PBA from the new owner"
            time.sleep(0.01)
        started[owner] = time.time()
        h.start_instance(owner)  # the killed one back, as the waiting instance
        if first is None:
            echo(f"run {k + 1}/{runs}: the new owner exited before its first PBA (not counted)")
            continue
        out.append({"kill_to_election_won_s": won["ts"] - t_kill, "election_won_to_first_pba_s": first - won["ts"],
                    "failover_s": first - t_kill})
        echo(f"run {k + 1}/{runs}: failover {1000 * (first - t_kill):.0f} ms (kill -> election_won "
             f"{1000 * (won['ts'] - t_kill):.0f} ms, election_won -> first PBA {1000 * (first - won['ts']):.0f} ms)")
    return out


def failover(args: argparse.Namespace, work: Path) -> dict:
    from tests.e2e.lma_alone import PORT
    from tests.e2e.lma_cluster import Load, wait_event
    from tests.etcd_server import EtcdServer

    etcd = EtcdServer(work / "etcd").start()
    h = load = None
    try:
        store = {"kind": "etcd", "endpoints": [etcd.endpoint], "election": "lma-sw", "lease_ttl": args.lease_ttl}
        started = {"a": time.time()}
        h = cluster(args.target, work / "failover", store, args.mns)
        wait_event(h.log, "election_won")
        started["b"] = time.time()
        h.start_instance("b")
        load = Load(h.ns.name, h.ns.ports[PORT].test_ifname, args.mns, args.rate, window=args.mns)
        load.start()
        time.sleep(2.0)
        lost: list[dict] = []
        runs = failover_runs(h, load, args.runs, started, lost)
        stats = load.model.stats
        return {"runs": runs, "offered": stats.offered, "acked": stats.acked, "retransmitted": stats.retransmitted,
                "inconsistent_answers": len(load.answers.inconsistent), "ownership_lost_by_itself": lost}
    finally:
        if load is not None:
            load.close()
        if h is not None:
            h.close()
        etcd.stop()


def burst(h, count: int) -> tuple[float, float]:
    """Registrations/s of ``count`` new MNs sent as fast as the generator goes (WINDOW in
    flight), and the node's P4Runtime updates per write batch meanwhile (its `status`)."""
    from tests.e2e.lma_alone import PORT
    from tests.e2e.lma_cluster import Load

    load = Load(h.ns.name, h.ns.ports[PORT].test_ifname, count, rate=1_000_000, window=WINDOW)
    try:
        w0 = h.control({"cmd": "status"})["written"]
        t0 = time.time()
        load.start()
        deadline = time.monotonic() + 300
        while load.model.stats.acked < count and time.monotonic() < deadline:
            time.sleep(0.005)
        acked, dt = load.model.stats.acked, time.time() - t0
        w = h.control({"cmd": "status"})["written"]
        batches = w["batches"] - w0["batches"]
        return acked / dt, (w["updates"] - w0["updates"]) / batches if batches else 0.0
    finally:
        load.close()


def registrations(args: argparse.Namespace, work: Path) -> dict[str, dict[str, list[float]]]:
    """``--rounds`` bursts on each store, alternating SQLite and etcd (each on a fresh switch)."""
    from tests.etcd_server import EtcdServer

    rates: dict[str, list[float]] = {"sqlite": [], "etcd": []}
    per_batch: dict[str, list[float]] = {"sqlite": [], "etcd": []}

    def measure(kind: str, h) -> None:
        rate, updates = burst(h, args.count)
        rates[kind].append(rate)
        per_batch[kind].append(updates)
    for r in range(args.rounds):
        h = cluster(args.target, work / f"sqlite{r}", None, args.count)
        try:
            measure("sqlite", h)
        finally:
            h.close()
        etcd = EtcdServer(work / f"etcd-burst{r}").start()
        try:
            store = {"kind": "etcd", "endpoints": [etcd.endpoint], "election": "lma-sw", "lease_ttl": args.lease_ttl}
            h = cluster(args.target, work / f"etcd-lma{r}", store, args.count)
            try:
                measure("etcd", h)
            finally:
                h.close()
        finally:
            etcd.stop()
        print(f"round {r + 1}/{args.rounds}: SQLite {rates['sqlite'][-1]:,.0f}/s "
              f"({per_batch['sqlite'][-1]:.1f} updates per write), etcd {rates['etcd'][-1]:,.0f}/s "
              f"({per_batch['etcd'][-1]:.1f} updates per write)", flush=True)
    return {"rates": rates, "updates_per_write": per_batch}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--lease-ttl", type=int, default=2, help="s (2..60), [store] lease_ttl")
    ap.add_argument("--count", type=int, default=2000, help="new MNs of the registration burst")
    ap.add_argument("--rounds", type=int, default=3, help="registration bursts per store, alternating")
    ap.add_argument("--mns", type=int, default=2000, help="MNs of the load during the failovers")
    ap.add_argument("--rate", type=int, default=200, help="PBUs/s during the failovers")
    ap.add_argument("--target", default="embedded")
    ap.add_argument("--work", help="keep the logs in this (new) directory")
    ap.add_argument("--out", default=str(RESULTS / "failover.json"))
    args = ap.parse_args(argv)
    reason = unavailable(args.target)
    if reason:
        print(f"bench_failover: skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory(prefix="p4mob-failover-") as tmp:
        work = Path(args.work or tmp)
        print(f"failover: {args.runs} kills of the owner, lease_ttl {args.lease_ttl} s, load {args.rate} PBU/s "
              f"over {args.mns} MNs, target {args.target}", flush=True)
        fo = failover(args, work)
        print(f"registrations: a burst of {args.count} new MNs, SQLite then etcd", flush=True)
        measured = registrations(args, work)
    rates = measured["rates"]
    ms = {k: spread([1000 * r[k + "_s"] for r in fo["runs"]], 0)
          for k in ("failover", "kill_to_election_won", "election_won_to_first_pba")}
    regs = {k: spread(v, 0) for k, v in rates.items()}
    ratio = regs["etcd"]["median"] / regs["sqlite"]["median"] if regs["sqlite"]["median"] else 0.0
    res = {"target": args.target, "lease_ttl_s": args.lease_ttl, "runs": len(fo["runs"]), "runs_asked": args.runs,
           "failover_ms": ms["failover"], "kill_to_election_won_ms": ms["kill_to_election_won"],
           "election_won_to_first_pba_ms": ms["election_won_to_first_pba"],
           "failover_over_lease_ttl": round(ms["failover"]["median"] / (1000 * args.lease_ttl), 2),
           "load": {k: fo[k] for k in ("offered", "acked", "retransmitted", "inconsistent_answers")},
           "ownership_lost_by_itself": fo["ownership_lost_by_itself"],
           "registrations_per_s": {"sqlite": regs["sqlite"], "etcd": regs["etcd"],
                                   "etcd_over_sqlite": round(ratio, 3), "count": args.count, "rounds": args.rounds,
                                   "updates_per_write": {k: spread(v, 1)
                                                         for k, v in measured["updates_per_write"].items()}},
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    for k, v in ms.items():
        print(f"{k.replace('_', ' ')}: median {v['median']:.0f} ms, min {v['min']:.0f}, max {v['max']:.0f} "
              f"({len(fo['runs'])} runs, lease_ttl {args.lease_ttl} s)")
    print(f"failover / lease TTL: {res['failover_over_lease_ttl']:.2f}; owners that lost the lease by "
          f"themselves (not killed): {len(fo['ownership_lost_by_itself'])}")
    print(f"registrations/s (median of {args.rounds}): SQLite {regs['sqlite']['median']:,.0f}, "
          f"etcd {regs['etcd']['median']:,.0f}: etcd/SQLite {ratio:.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
