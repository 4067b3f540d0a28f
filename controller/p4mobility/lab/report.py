"""Lab results: ping output parsing, the timeline, summary.json and the PNG plot.

Rule: pure functions over what the run left behind (ping -D output, the
nodes' JSON event logs, the lab's marks); nothing here talks to a node.
Loss = transmitted - received as ping counts them; ``missing()`` are the
requests up to the last one answered that got no reply: ping's count less
the requests still in flight when ping was stopped (SIGINT ends ping at once,
a request sent just before has no time to be answered). A gap is the time
between two consecutive echo replies (ping -D receive timestamps).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

_REPLY = re.compile(r"^\[(\d+\.\d+)\].*icmp_seq=(\d+).*time=([\d.]+) ms")
_STATS = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


@dataclass
class PingResult:
    transmitted: int = 0
    received: int = 0
    replies: list[tuple[float, int, float]] = field(default_factory=list)  # (t, seq, rtt ms)

    @property
    def lost(self) -> int:
        return max(0, self.transmitted - self.received)

    def missing(self) -> list[int]:
        """Sequence numbers without a reply, up to the last one answered."""
        seqs = {seq for _, seq, _ in self.replies}
        return [q for q in range(1, max(seqs, default=0)) if q not in seqs]

    def gaps(self) -> list[tuple[float, float]]:
        """(time of the reply that ended the gap, gap in ms) between consecutive replies."""
        ts = sorted(t for t, _, _ in self.replies)
        return [(b, (b - a) * 1000.0) for a, b in zip(ts, ts[1:])]

    def max_gap(self, after: float = 0.0, before: float = float("inf")) -> tuple[float, float]:
        """(end time, ms) of the largest gap ending in [after, before]."""
        best = (0.0, 0.0)
        for end, gap in self.gaps():
            if after <= end <= before and gap > best[1]:
                best = (end, gap)
        return best

    def first_reply_after(self, t: float) -> tuple[float, int] | None:
        later = sorted((ts, seq) for ts, seq, _ in self.replies if ts >= t)
        return later[0] if later else None

    def last_reply_before(self, t: float) -> tuple[float, int] | None:
        earlier = sorted((ts, seq) for ts, seq, _ in self.replies if ts < t)
        return earlier[-1] if earlier else None


def parse_ping(text: str) -> PingResult:
    res = PingResult()
    seen: set[int] = set()
    for line in text.splitlines():
        m = _REPLY.match(line.strip())
        if m:
            seq = int(m.group(2))
            if seq not in seen:  # (DUP!) replies count once
                seen.add(seq)
                res.replies.append((float(m.group(1)), seq, float(m.group(3))))
            continue
        s = _STATS.search(line)
        if s:
            res.transmitted, res.received = int(s.group(1)), int(s.group(2))
    if not res.transmitted and res.replies:  # interrupted before the summary
        res.transmitted = max(seq for _, seq, _ in res.replies)
        res.received = len(res.replies)
    return res


TIMELINE_EVENTS = {
    "rs_rx": "RS from the MN", "pbu_tx": "PBU sent", "pbu_rx": "PBU received", "pba_tx": "PBA sent",
    "pba_rx": "PBA received", "ra_tx": "RA to the MN", "link_down": "access link down",
    "link_up": "access link up", "BindingCreated": "BCE created", "BindingMoved": "BCE moved (handover)",
    "BindingDeregistered": "BCE de-registering", "BindingDeleted": "BCE deleted",
    "MagBindingInstalled": "forwarding installed", "MagBindingRemoved": "forwarding removed",
    "entries_written": "table entries written", "attach_by_traffic": "MN's first frame (attach)",
    "attach_buffer_flushed": "held uplink packets sent into the tunnel",
}


def timeline(events: dict[str, list[dict]], marks: Iterable[tuple[float, str]], ping: PingResult,
             handover_at: float | None, t0: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"t": t, "node": "lab", "what": what} for t, what in marks]
    for node, evs in events.items():
        for e in evs:
            name = e.get("event")
            if name not in TIMELINE_EVENTS:
                continue
            detail = {k: e[k] for k in ("mn_id", "seq", "status", "lifetime", "updates", "binding_id",
                                        "access_port", "reason", "frames") if k in e}
            rows.append({"t": e["ts"], "node": node, "what": TIMELINE_EVENTS[name], **detail})
    if ping.replies:
        first = min(ping.replies)
        rows.append({"t": first[0], "node": "mn", "what": f"first echo reply (seq {first[1]})"})
    if handover_at is not None:
        last = ping.last_reply_before(handover_at)
        nxt = ping.first_reply_after(handover_at)
        if last:
            rows.append({"t": last[0], "node": "mn", "what": f"last echo reply before the move (seq {last[1]})"})
        if nxt:
            rows.append({"t": nxt[0], "node": "mn", "what": f"first echo reply after the move (seq {nxt[1]})"})
    rows.sort(key=lambda r: r["t"])
    for r in rows:
        r["t_ms"] = round((r["t"] - t0) * 1000.0, 1)
    return rows


def format_timeline(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        extra = " ".join(f"{k}={v}" for k, v in r.items() if k not in ("t", "t_ms", "node", "what"))
        lines.append(f"{r['t_ms']:>10.1f} ms  {r['node']:<5} {r['what']}{'  ' + extra if extra else ''}")
    return "\n".join(lines)


def write_summary(out: Path, summary: dict[str, Any]) -> Path:
    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return path


def plot(out: Path, ping: PingResult, marks: Iterable[tuple[float, str]], t0: float) -> Path | None:
    """PNG of RTT per echo reply over time, with the lab's marks; None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    if ping.replies:
        xs = [(t - t0) for t, _, _ in ping.replies]
        ys = [rtt for _, _, rtt in ping.replies]
        ax.plot(xs, ys, ".", markersize=3, label="echo reply RTT (ms)")
    lo = min((t for t, _, _ in ping.replies), default=t0) - 0.5
    hi = max((t for t, _, _ in ping.replies), default=t0) + 0.5
    for t, what in marks:
        if not lo <= t <= hi:
            continue
        ax.axvline(t - t0, color="tab:red", linestyle="--", linewidth=0.8)
        ax.text(t - t0, ax.get_ylim()[1] * 0.95, what, rotation=90, fontsize=7, va="top", ha="right")
    gap_end, gap = ping.max_gap()
    if gap:
        ax.axvspan(gap_end - t0 - gap / 1000.0, gap_end - t0, color="tab:orange", alpha=0.3,
                   label=f"largest gap {gap:.1f} ms")
    ax.set_xlim(lo - t0, hi - t0)
    ax.set_xlabel("time since the lab was up (s)")
    ax.set_ylabel("RTT (ms)")
    ax.set_title(f"ping MN -> CN every 10 ms: {ping.received}/{ping.transmitted} replies, {ping.lost} lost")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = out / "ping-timeline.png"
    fig.savefig(path)
    plt.close(fig)
    return path


__all__ = ["PingResult", "parse_ping", "timeline", "format_timeline", "write_summary", "plot"]
