"""Handover gap and loss from the lab, repeated (default 20 runs).

Runs the pmip-handover scenario N times on the chosen target (root needed),
prints per-run loss / largest gap / signaling time, and the aggregate against
the baseline measured in the same run: the largest gap between echo replies
while NOT moving (the steady-state jitter of the 10 ms ping through the
switches). Goal (issue 15): no packet lost, gap <= 1.2x the steady-state gap.
Lost = requests up to the last one answered that got no reply (``lost_total``);
ping's own count (``ping_lost_total``) adds the requests still in flight when
the lab stops ping with SIGINT, which are not handover losses.
``--attach``: what starts MAG2's PBU: ``link`` (its access port's link-up, the
port naming the MN; the default), ``frame`` (the MN's first frame), ``both``
(alternating runs of each, so both face the same machine load). The top-level
fields are those of the first trigger measured; ``by_trigger`` has each.
Writes bench/results/handover.json.
Usage: python bench/bench_handover.py [--runs 20] [--target embedded|bmv2] [--attach link|frame|both]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from p4mobility.lab.report import parse_ping
from p4mobility.lab.scenario import pmip_handover

RESULTS = Path(__file__).resolve().parent / "results"
TRIGGERS = {"link": ["link"], "frame": ["frame"], "both": ["link", "frame"]}


def one_run(target: str, settle: float, trigger: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="p4mob-bench-ho-") as tmp:
        out = Path(tmp)
        t = time.time()
        s = pmip_handover(out, target=target, echo=lambda *_: None, settle=settle, port_mn=trigger == "link")
        ping = parse_ping((out / "ping.log").read_text(errors="replace"))
        base = ping.max_gap(before=s["handover_at"])[1]  # steady state: before the move
        return {"trigger": trigger, "lost": len(s["lost_seqs"]), "ping_lost": s["lost"], "sent": s["sent"], "max_gap_ms": s["max_gap_ms"],
                "baseline_gap_ms": round(base, 1), "signaling_ms": s["handover_signaling_ms"],
                "move_to_link_up_ms": s["handover_move_to_link_up_ms"],
                "move_to_pbu_ms": s["handover_move_to_pbu_ms"],
                "move_to_first_reply_ms": s["handover_move_to_first_reply_ms"],
                "load1": round(os.getloadavg()[0], 1), "seconds": round(time.time() - t, 1)}


def summarize(runs: list[dict]) -> dict:
    def median(key: str) -> float | None:
        values = [r[key] for r in runs if r[key] is not None]
        return round(statistics.median(values), 1) if values else None
    gaps = [r["max_gap_ms"] for r in runs]
    base = median("baseline_gap_ms") or 0.0
    lost = [r["lost"] for r in runs]
    return {
        "runs": len(runs), "lost_total": sum(lost), "lost_max": max(lost, default=0),
        "ping_lost_total": sum(r["ping_lost"] for r in runs),
        "runs_lossless": sum(1 for n in lost if n == 0),
        "gap_ms_median": median("max_gap_ms"), "gap_ms_max": max(gaps, default=None),
        "baseline_gap_ms_median": base,
        "gap_vs_baseline_ratio": round(statistics.median(gaps) / max(base, 1e-9), 2) if gaps else None,
        "signaling_ms_median": median("signaling_ms"), "move_to_link_up_ms_median": median("move_to_link_up_ms"),
        "move_to_pbu_ms_median": median("move_to_pbu_ms"), "load1_median": median("load1"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20, help="runs per trigger")
    ap.add_argument("--target", default="embedded")
    ap.add_argument("--settle", type=float, default=1.5)
    ap.add_argument("--attach", choices=sorted(TRIGGERS), default="link")
    args = ap.parse_args(argv)
    from p4mobility.lab.lab import lab_unavailable
    reason = lab_unavailable()
    if reason:
        print(f"bench_handover: skipped: {reason}")
        return 0
    triggers = TRIGGERS[args.attach]
    runs: list[dict] = []
    for i in range(args.runs):
        for trigger in triggers:
            r = one_run(args.target, args.settle, trigger)
            runs.append(r)
            print(f"run {i + 1:>2} ({trigger:<5}): lost {r['lost']:>3}/{r['sent']:<4} (ping: {r['ping_lost']}) gap {r['max_gap_ms']:>7.1f} ms "
                  f"(steady {r['baseline_gap_ms']:.1f} ms) move->PBU {r['move_to_pbu_ms']} ms "
                  f"PBU->PBA {r['signaling_ms']} ms load {r['load1']}", flush=True)
    by_trigger = {t: summarize([r for r in runs if r["trigger"] == t]) for t in triggers}
    summary = {"target": args.target, "attach": triggers[0], **by_trigger[triggers[0]],
               "goal": "0 lost in every run, gap <= 1.2x the steady-state gap", "by_trigger": by_trigger,
               "runs_detail": runs}
    for t, s in by_trigger.items():
        print(f"\n{s['runs']} handovers on {args.target}, PBU on {t}: lost total {s['lost_total']} (max "
              f"{s['lost_max']} per run, {s['runs_lossless']} runs lossless; ping's count, with the requests in "
              f"flight at its stop: {s['ping_lost_total']}), gap median {s['gap_ms_median']} ms "
              f"max {s['gap_ms_max']} ms = {s['gap_vs_baseline_ratio']}x the steady-state gap "
              f"({s['baseline_gap_ms_median']} ms); move->PBU median {s['move_to_pbu_ms_median']} ms, "
              f"PBU->PBA median {s['signaling_ms_median']} ms, load {s['load1_median']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "handover.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
