"""`python -m p4mobility.soak [--seconds S] [--rate R] [--mns N] [--faults k1,k2] [--target T] [--out DIR]`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from p4mobility.soak.faults import KINDS


def main(argv: list[str] | None = None) -> int:
    from p4mobility.lab.lab import lab_unavailable
    from p4mobility.lab.supervisor import LabError
    from p4mobility.soak.run import Soak, SoakOptions

    ap = argparse.ArgumentParser(prog="python -m p4mobility.soak", description="PBU load, faults, RSS over time")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--rate", type=int, default=200, help="PBUs per second offered")
    ap.add_argument("--mns", type=int, default=2000)
    ap.add_argument("--faults", default=",".join(KINDS), help=f"comma list of {', '.join(KINDS)} ('' none)")
    ap.add_argument("--fault-every", type=float, default=20.0)
    ap.add_argument("--fault-hold", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=0.0, help="s before the first fault (0: once all registered)")
    ap.add_argument("--window", type=int, default=0)
    ap.add_argument("--target", default="embedded", choices=("embedded", "bmv2"))
    ap.add_argument("--state-mb", type=int, default=64)
    ap.add_argument("--out", default="soak-out")
    ap.add_argument("--punts", default="port", choices=("port", "stream"),
                    help="the LMA's punts and packet-outs: a veth (default) or the P4Runtime stream")
    args = ap.parse_args(argv)
    faults = tuple(f for f in args.faults.split(",") if f)
    bad = [f for f in faults if f not in KINDS]
    if bad:
        ap.error(f"unknown fault {bad[0]!r}; known: {', '.join(KINDS)}")
    reason = lab_unavailable()
    if reason:
        print(f"soak: skipped: {reason}")
        return 0
    opts = SoakOptions(seconds=args.seconds, rate=args.rate, mns=args.mns, faults=faults,
                       fault_every=args.fault_every, fault_hold=args.fault_hold, warmup=args.warmup,
                       window=args.window, target=args.target, state_mb=args.state_mb,
                       punt_port=args.punts == "port")
    try:
        s = Soak(Path(args.out).resolve(), opts, echo=lambda m: print(m, flush=True)).run()
    except LabError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 1
    f = s["final"]
    print(f"\nsoak {s['seconds']:.0f} s, {s['mns']} MNs: offered {s['rate_offered']} PBU/s (target {s['rate_target']}),"
          f" acknowledged {s['rate_acked']} PBU/s, retransmitted {s['retransmitted']}, rejected {s['rejected']}")
    print(f"bindings: expected {f['expected_bindings']}, lost {f['bindings_lost']}, wrong {f['wrong_coa_or_hnp']},"
          f" in doubt {f['in_doubt']}; switch entries == store: {f['entries_equal_store']}"
          f" ({f['switch_binding_entries']} entries, {f['store_bindings']} in the store)")
    for name, sl in s["rss_slope"].items():
        print(f"  RSS {name:14s} {sl.get('last_kib', 0) / 1024:7.1f} MiB  slope {sl['kib_per_min']} KiB/min")
    for kind, d in s["faults"].items():
        print(f"  fault {kind:15s} x{d['count']}: recovered {d['recovered']}, recovery {d['recovery_s']},"
              f" ready {d['ready_s']}, ping gap ms {d['ping_gap_ms']}, logs ok {d['logs_ok']},"
              f" checked after {d.get('checked_after', 0)} (missing {d.get('missing_after', 0)})")
    if f["not_running_at_end"]:
        print(f"not running at the end: {', '.join(f['not_running_at_end'])}")
    for e in s["fault_errors"]:
        print(f"fault error: {e[:400]}")
    for e in s["unexpected_exits"]:
        print(f"unexpected exit: {e['process']} (code {e['code']}): ...{e['log_tail'][-300:]}")
    print(f"summary: {Path(args.out) / 'soak.json'}  figure: {s.get('png')}")
    print(json.dumps({"bindings_lost": f["bindings_lost"], "entries_equal_store": f["entries_equal_store"]}))
    ok = f["bindings_lost"] == 0 and f["entries_equal_store"] and not f["wrong_coa_or_hnp"] and not s["fault_errors"] \
        and not s["unexpected_exits"] \
        and not f["not_running_at_end"] and s["acked"] > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
