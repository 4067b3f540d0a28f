"""Handover gap and loss from the lab, repeated (default 20 runs).

Runs the pmip-handover scenario N times on the chosen target (root needed),
prints per-run loss / largest gap / signaling time, and the aggregate against
the baseline measured in the same run: the largest gap between echo replies
while NOT moving (the steady-state jitter of the 10 ms ping through the
switches). Goal (issue): no packet lost, gap < 20 ms.
Writes bench/results/handover.json.
Usage: python bench/bench_handover.py [--runs 20] [--target embedded|bmv2]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from p4mobility.lab.report import parse_ping
from p4mobility.lab.scenario import pmip_handover

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--target", default="embedded")
    ap.add_argument("--settle", type=float, default=1.5)
    args = ap.parse_args(argv)
    from p4mobility.lab.lab import lab_unavailable
    reason = lab_unavailable()
    if reason:
        print(f"bench_handover: skipped: {reason}")
        return 0
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="p4mob-bench-ho-") as tmp:
            out = Path(tmp)
            t = time.time()
            s = pmip_handover(out, target=args.target, echo=lambda *_: None, settle=args.settle)
            ping = parse_ping((out / "ping.log").read_text(errors="replace"))
            base = ping.max_gap(before=s["handover_at"])[1]  # steady state: before the move
            runs.append({"lost": s["lost"], "sent": s["sent"], "max_gap_ms": s["max_gap_ms"],
                         "baseline_gap_ms": round(base, 1), "signaling_ms": s["handover_signaling_ms"],
                         "move_to_first_reply_ms": s["handover_move_to_first_reply_ms"],
                         "seconds": round(time.time() - t, 1)})
            r = runs[-1]
            print(f"run {i + 1:>2}: lost {r['lost']:>3}/{r['sent']:<4} gap {r['max_gap_ms']:>7.1f} ms "
                  f"(steady {r['baseline_gap_ms']:.1f} ms) signaling {r['signaling_ms']} ms", flush=True)
    gaps = [r["max_gap_ms"] for r in runs]
    base = [r["baseline_gap_ms"] for r in runs] or [0.0]
    lost = [r["lost"] for r in runs]
    sig = [r["signaling_ms"] for r in runs if r["signaling_ms"] is not None]
    summary = {
        "target": args.target, "runs": len(runs),
        "lost_total": sum(lost), "lost_max": max(lost, default=0),
        "gap_ms_median": round(statistics.median(gaps), 1) if gaps else None, "gap_ms_max": max(gaps, default=None),
        "baseline_gap_ms_median": statistics.median(base),
        "gap_vs_baseline_ratio": round(statistics.median(gaps) / max(statistics.median(base), 1e-9), 2)
        if gaps else None,
        "signaling_ms_median": statistics.median(sig) if sig else None,
        "goal": "no loss, gap < 20 ms", "runs_detail": runs,
    }
    print(f"\n{len(runs)} handovers on {args.target}: lost total {summary['lost_total']} (max {summary['lost_max']}"
          f" per run), gap median {summary['gap_ms_median']} ms max {summary['gap_ms_max']} ms = "
          f"{summary['gap_vs_baseline_ratio']}x the steady-state gap ({summary['baseline_gap_ms_median']} ms); "
          f"PBU->PBA median {summary['signaling_ms_median']} ms")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "handover.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
