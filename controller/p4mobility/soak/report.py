"""The soak's summary (JSON) and figure (PNG: load, RSS per process, bindings over time).

Rule: computes from what the run recorded; prints nothing. Memory slope: a
least-squares line through the RSS samples of one process after warm-up (the
longest stretch with one pid, without its first SETTLE_S: a restarted process
starts a new stretch), in KiB per minute. Recovery per fault kind: seconds from the fault to the moment
every PBU sent before it was restored had been answered.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from p4mobility.lab.report import parse_ping
from p4mobility.soak.faults import FaultRecord

SETTLE_S = 30.0  # s of a (re)started process left out of its memory slope
TIMES = ("recovery_s", "recovery_after_restore_s", "ready_s", "ping_gap_ms")


def slope_kib_per_min(t: list[float], rss: list, pids: list, after: float, settle: float = SETTLE_S) -> dict[str, Any]:
    """The line through the longest stretch of one pid after ``after``, each pid's own first
    ``settle`` seconds left out (a restarted node loads its state: a ramp, not a leak)."""
    best: list[tuple[float, int]] = []
    cur: list[tuple[float, int]] = []
    last_pid, born = None, 0.0
    for ti, v, pid in zip(t, rss, pids):
        if pid != last_pid:
            cur, last_pid, born = [], pid, ti
        if ti < after or v is None or ti < born + settle:
            continue
        cur.append((ti, v))
        if len(cur) >= len(best):
            best = cur
    if len(best) < 5:
        return {"kib_per_min": None, "points": len(best)}
    xs = [x / 60.0 for x, _ in best]
    ys = [y for _, y in best]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    k = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return {"kib_per_min": round(k, 1), "points": len(best), "from_s": best[0][0], "to_s": best[-1][0],
            "first_kib": ys[0], "last_kib": ys[-1], "max_kib": max(ys)}


def by_kind(faults: list[FaultRecord]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rec in faults:
        j = rec.as_json()
        d = out.setdefault(rec.kind, {"count": 0, "recovered": 0, "logs_ok": 0, **{k: [] for k in TIMES}})
        d["count"] += 1
        d["recovered"] += j["recovery_s"] is not None
        for key in TIMES:
            if j[key] is not None:
                d[key].append(j[key])
        d["logs_ok"] += all(v is not False for v in rec.logs.values())
        after = rec.detail.get("after")
        if after is not None:
            d["checked_after"] = d.get("checked_after", 0) + 1
            d["missing_after"] = d.get("missing_after", 0) + after["missing_in_switch"] + after["missing_in_store"]
    for d in out.values():
        for key in TIMES:
            vals = d[key]
            d[key] = {"median": round(statistics.median(vals), 3), "max": round(max(vals), 3)} if vals else None
    return out


def write_report(soak: Any, final: dict, ping_log: Path, t0: float) -> dict:
    o, s, m = soak.opts, soak.series, soak.model
    ping = parse_ping(ping_log.read_text(errors="replace")) if ping_log.exists() else None
    for rec in soak.faults:
        if ping is not None:
            rec.ping_gap_ms = round(ping.max_gap(after=rec.started, before=(rec.recovered or rec.restored) + 5)[1], 1)
        follower = rec.detail.pop("lma_log", None)
        if rec.kind == "disk_full" and follower is not None:
            found = follower.new_events("store_write_failed", "store_recovered")
            failed = rec.logs["store_write_failed"] or any(e["event"] == "store_write_failed" for e in found)
            rec.logs["store_write_failed"] = failed
            rec.logs["store_recovered"] = any(e["event"] == "store_recovered" for e in found) if failed else None
    duration = o.seconds
    fill = next((t for t, a in zip(s.t, s.acked) if a >= o.mns), None)
    warm = max((fill or 0.0) + 10.0, 0.25 * duration)
    in_load = [i for i, t in enumerate(s.t) if t <= duration]
    offered = s.offered[in_load[-1]] if in_load else 0
    acked = s.acked[in_load[-1]] if in_load else 0
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)), "target": o.target,
        "mns": o.mns, "seconds": duration, "rate_target": o.rate,
        "rate_offered": round(offered / duration, 1), "rate_acked": round(acked / duration, 1),
        "offered": m.stats.offered, "acked": m.stats.acked, "retransmitted": m.stats.retransmitted,
        "answered_156": m.stats.answered_156,
        "rejected": m.stats.rejected, "unmatched_pbas": m.stats.unmatched, "by_kind": m.stats.by_kind,
        "warmup_s": round(warm, 1), "all_registered_at_s": fill,
        "rss_slope": {name: slope_kib_per_min(s.t, s.rss[name], s.pids[name], warm) for name in sorted(s.rss)},
        "faults": by_kind(soak.faults), "fault_log": [r.as_json() for r in soak.faults],
        "fault_errors": soak.fault_errors, "unexpected_exits": soak.unexpected_exits,
        "ping": None if ping is None else {"sent": ping.transmitted, "received": ping.received},
        "final": final,
    }
    out = Path(soak.out)
    (out / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "soak-series.json").write_text(json.dumps(s.__dict__) + "\n")
    summary["png"] = plot(out / "soak.png", soak, t0)
    (out / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def plot(path: Path, soak: Any, t0: float) -> str | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    s = soak.series
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    rate = lambda xs: [0] + [b - a for a, b in zip(xs, xs[1:])]  # noqa: E731 - per-second from cumulative
    a1.plot(s.t, rate(s.offered), label="offered PBU/s")
    a1.plot(s.t, rate(s.acked), label="acknowledged PBU/s")
    a1.plot(s.t, rate(s.retransmitted), label="retransmitted/s", alpha=0.6)
    a1.set_ylabel("PBU/s")
    for name, vals in sorted(s.rss.items()):
        a2.plot(s.t, [None if v is None else v / 1024 for v in vals], label=name)
    a2.set_ylabel("RSS MiB")
    a3.plot(s.t, s.bindings, label="BCEs in the LMA's store")
    a3.plot(s.t, s.in_flight, label="PBUs in flight")
    a3.set_ylabel("count")
    a3.set_xlabel("s")
    for rec in soak.faults:
        for ax in (a1, a2, a3):
            ax.axvspan(rec.started - t0, max(rec.restored, rec.started + 0.5) - t0, color="red", alpha=0.12)
        a1.annotate(rec.kind, (rec.started - t0, 0), rotation=90, fontsize=7, va="bottom")
    for ax in (a1, a2, a3):
        ax.legend(fontsize=7, loc="upper left", ncol=3)
        ax.grid(alpha=0.3)
    fig.suptitle(f"soak: {soak.opts.rate} PBU/s target, {soak.opts.mns} MNs, {soak.opts.target} target")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return str(path)


__all__ = ["write_report", "slope_kib_per_min", "by_kind", "plot"]
