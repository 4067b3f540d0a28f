"""bench_ha part 2: the movement gap, the MN moving between the two IPv6 access networks.

Rule: the lab is lab/mip_lab.py as the mip-nat scenario builds it, the moves
are mip_scenario.move, the captures are read with lab/esppcap.py and the
ping with lab/report.py; here only the run's order and the arithmetic:
- the MN registers on access A and pings the CN every 10 ms; after
  ``steady`` s it moves A -> B -> A ... ``moves`` times, ``settle`` s apart;
- per move, within its window (from the previous move to the next): the time
  from the last ESP packet of the data SA on the old access link's capture
  to the first on the new one after the move, downlink (SA data-in, HA ->
  MN) and uplink (data-out); negative when both links carried it at once;
- the ping gap across the move (the largest gap between echo replies ending
  in the window after the move) and the echoes it lost;
- baseline: the largest gap of each kind before the first move (steady state).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchlib import spread

from p4mobility.lab import mip_topology as M

SPI = {sa.name: sa.spi for sa in M.mip_sas()}
DIRECTIONS = {"downlink": SPI["data-in"], "uplink": SPI["data-out"]}


def link_gap(times_old: list[float], times_new: list[float], at: float, lo: float, hi: float) -> float | None:
    """ms from the last time on the old link in [lo, hi) to the first on the new one in [at, hi)
    (before ``at`` the new link still carried the previous move's tail)."""
    old = [t for t in times_old if lo <= t < hi]
    new = [t for t in times_new if at <= t < hi]
    return (min(new) - max(old)) * 1000.0 if old and new else None


def largest_gap(times: list[float], lo: float, hi: float) -> float | None:
    """ms: the largest gap between consecutive times in [lo, hi)."""
    ts = sorted(t for t in times if lo <= t < hi)
    return max((b - a) * 1000.0 for a, b in zip(ts, ts[1:])) if len(ts) > 1 else None


def lost_between(replies: list[tuple[float, int, float]], lo: float, hi: float) -> int:
    """Echo sequence numbers missing before the replies received in [lo, hi) (ping -D replies)."""
    by_seq = sorted((seq, t) for t, seq, _ in replies)
    return sum(b - a - 1 for (a, _), (b, t) in zip(by_seq, by_seq[1:]) if lo <= t < hi)


def analyse(moves: list[dict[str, Any]], esp: dict[str, dict[str, list[float]]],
            replies: list[tuple[float, int, float]], start: float, end: float) -> dict[str, Any]:
    """The figures of a run: ``moves`` ({"from", "to", "at"} each), ``esp`` access link ->
    direction -> packet times, ``replies`` the ping's (time, seq, rtt), [start, end) the ping's run."""
    bounds = [m["at"] for m in moves] + [end]
    first = bounds[0]
    pings = [t for t, _, _ in replies]
    base = {"ping_gap_ms": largest_gap(pings, start, first)}
    per: dict[str, list[float | None]] = {"ping_gap_ms": [], "lost": []}
    for d in DIRECTIONS:
        base[f"{d}_gap_ms"] = largest_gap(esp[moves[0]["from"]][d], start, first) if moves else None
        per[f"{d}_gap_ms"] = []
    for i, m in enumerate(moves):
        lo, hi = (bounds[i - 1] if i else start), bounds[i + 1]
        for d in DIRECTIONS:
            per[f"{d}_gap_ms"].append(link_gap(esp[m["from"]][d], esp[m["to"]][d], m["at"], lo, hi))
        before = [t for t in pings if t < m["at"]]  # from the last reply before the move
        per["ping_gap_ms"].append(largest_gap(pings, max(before, default=m["at"]), hi))
        per["lost"].append(lost_between(replies, m["at"], hi))
    out: dict[str, Any] = {"moves": len(moves), "baseline_steady_state": {k: _r(v) for k, v in base.items()}}
    for key, values in per.items():
        out[key] = spread(values, 0 if key == "lost" else 1)
        if key != "lost" and base.get(key) and out[key]["median"] is not None:
            out[key]["median_vs_steady_state"] = round(out[key]["median"] / base[key], 2)
    out["lost_total"] = sum(v for v in per["lost"] if v is not None)
    return out


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def movement(args: argparse.Namespace) -> dict[str, Any] | None:
    from p4mobility.lab.esppcap import esp_on_link
    from p4mobility.lab.mip_lab import MipLab
    from p4mobility.lab.mip_scenario import COA, move
    from p4mobility.lab.report import parse_ping

    out = Path(args.out).resolve() / "moves"
    with MipLab(out, args.target, tag="bhm") as lab:
        if not lab.pcap:
            print("bench_ha moves: skipped: no tcpdump (the gaps come from the HA's captures)")
            return None
        lab.attach("acca")
        lab.start_mn()
        lab.wait_tunnel(COA["acca"], timeout=60)
        log = lab.start_ping(M.CN_ADDRESS, interval=0.01)
        lab.wait_for(lambda: parse_ping(log.read_text(errors="replace")).replies, "the first echo reply", 30)
        start = time.time()
        time.sleep(args.steady)
        here, there, moves = "acca", "accb", []
        for i in range(args.moves):
            step = move(lab, there, here, lambda s: None)
            moves.append({"from": here, **step})
            print(f"move {i + 1:>2}: {here} -> {there}, tunnel after {step['move_to_tunnel_ms']} ms "
                  f"(BU->BA {step['bu_to_ba_ms']} ms)", flush=True)
            here, there = there, here
            time.sleep(args.settle)
        end = time.time()
        lab.stop_ping()
        time.sleep(0.5)  # tcpdump writes each packet (-U); let the last ones land
        ping = parse_ping(log.read_text(errors="replace"))
        esp = {acc: {d: [e.t for e in esp_on_link(out / f"ha-{acc}.pcap") if e.spi == spi]
                     for d, spi in DIRECTIONS.items()} for acc in ("acca", "accb")}
    res = {"target": args.target, "ping_interval_ms": 10, "steady_s": args.steady, "settle_s": args.settle,
           "sent": ping.transmitted, "received": ping.received,
           **analyse(moves, esp, ping.replies, start, end),
           "move_to_tunnel_ms": spread([m["move_to_tunnel_ms"] for m in moves]),
           "bu_to_ba_ms": spread([m["bu_to_ba_ms"] for m in moves])}
    base = res["baseline_steady_state"]
    print(f"\n{res['moves']} moves on {args.target}: ping sent {res['sent']}, lost {res['lost_total']}")
    for key, label in (("downlink_gap_ms", "downlink ESP, last on old CoA -> first on new"),
                       ("uplink_gap_ms", "uplink ESP, last on old CoA -> first on new"),
                       ("ping_gap_ms", "ping gap across the move")):
        r = res[key]
        print(f"  {label}: min {r['min']} median {r['median']} max {r['max']} ms "
              f"(steady state {base[key]} ms, median = {r.get('median_vs_steady_state')}x)")
    print(f"  move -> data tunnel on the new CoA: median {res['move_to_tunnel_ms']['median']} ms, "
          f"BU->BA median {res['bu_to_ba_ms']['median']} ms")
    return res


__all__ = ["movement", "analyse", "link_gap", "largest_gap", "lost_between", "DIRECTIONS"]
