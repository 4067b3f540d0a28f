"""Lab scenarios. `mip-nat` and `mcoa` (host mobility) are in mip_scenario.py, `lma-cluster`
(the LMA as two instances on a 3-member etcd cluster) in cluster_scenario.py. `pmip-handover`
(the default; `make lab`):

MN attaches at MAG1 and configures its address by SLAAC from the RA carrying
its home network prefix; it pings the CN every 10 ms; its link moves to MAG2
(same interface, same MAC); it keeps pinging; ping stops; it detaches and
MAG2 de-registers. The run prints a timeline and a summary and writes
summary.json, the LMA-MAG pcaps (captured on the LMA's two MAG-facing links)
and ping-timeline.png into the output directory.
"""
from __future__ import annotations

import time
from ipaddress import IPv6Network
from pathlib import Path
from typing import Any, Callable

from p4mobility.lab import topology as T
from p4mobility.lab.lab import Lab, LabError
from p4mobility.lab.pcapcheck import signaling_summary
from p4mobility.lab.report import format_timeline, parse_ping, plot, timeline, write_summary

SETTLE = 2.0  # seconds of pinging before and after the move


def pmip_handover(out: Path, target: str = "embedded", echo: Callable[[str], None] = print,
                  settle: float = SETTLE, ipsec: bool = True, port_mn: bool = True) -> dict[str, Any]:
    with Lab(out, target, T.LabOptions(ipsec=ipsec, port_mn=port_mn)) as lab:
        t0 = lab.marks[0][0]
        echo(f"lab up ({target} target): namespaces {lab.sup.prefix}*, switches and controllers running"
             + (", PBU/PBA in ESP (crypto path on port 254 of each switch)" if ipsec else ", no IPsec"))
        lab.attach("mag1")
        addr = lab.mn_address(timeout=30)
        echo(f"MN configured {addr} by SLAAC at MAG1")
        if not lab.ping_once(count=3, timeout=10):
            raise LabError("MN cannot reach the CN after attaching at MAG1")
        lab.start_ping()
        time.sleep(settle)
        t_move = lab.move("mag2")
        lab.wait_event("mag2", "ra_tx", since=t_move, timeout=30)
        time.sleep(settle)
        lab.stop_ping()
        t_detach = lab.detach()
        try:
            lab.wait_event("mag2", "pba_rx", since=t_detach, timeout=10, where=lambda e: e.get("lifetime") == 0)
            lab.wait_event("lma", "BindingDeregistered", since=t_detach, timeout=10)
        except LabError as exc:
            echo(f"warning: {exc}")
        time.sleep(0.3)
        ping = parse_ping((out / "ping.log").read_text(errors="replace"))
        events = {n: lab.events(n) for n in ("mag1", "mag2", "lma")}
        marks = list(lab.marks)
    rows = timeline(events, marks, ping, t_move, t0)
    pbu2 = next((e for e in events["mag2"] if e["event"] == "pbu_tx" and e["ts"] >= t_move), None)
    pba2 = next((e for e in events["mag2"] if e["event"] == "pba_rx" and pbu2 and e["ts"] >= pbu2["ts"]), None)
    ra2 = next((e for e in events["mag2"] if e["event"] == "ra_tx" and e["ts"] >= t_move), None)
    up2 = next((e for e in events["mag2"] if e["event"] == "link_up" and e["ts"] >= t_move), None)
    gap_end, gap = ping.max_gap()
    after = ping.first_reply_after(t_move)
    summary = {
        "scenario": "pmip-handover",
        "target": target,
        "mn_address": addr,
        "sent": ping.transmitted,
        "received": ping.received,
        "lost": ping.lost,
        "lost_seqs": ping.missing(),  # lost less those in flight when ping stopped
        "max_gap_ms": round(gap, 1),
        "handover_signaling_ms": round((pba2["ts"] - pbu2["ts"]) * 1000, 1) if pbu2 and pba2 else None,
        "handover_move_to_ra_ms": round((ra2["ts"] - t_move) * 1000, 1) if ra2 else None,
        "handover_move_to_link_up_ms": round((up2["ts"] - t_move) * 1000, 1) if up2 else None,
        "handover_move_to_pbu_ms": round((pbu2["ts"] - t_move) * 1000, 1) if pbu2 else None,
        "attach_trigger": "link-up" if port_mn else "first frame",
        "handover_move_to_first_reply_ms": round((after[0] - t_move) * 1000, 1) if after else None,
        "ping_interval_ms": 10,
        "handover_at": t_move,
        "steady_max_gap_ms": round(ping.max_gap(before=t_move)[1], 1),
        "pcaps": sorted(p.name for p in out.glob("lma-*.pcap")),
        "ipsec": ipsec,
        "esp_sa": "esp_sa" if ipsec else None,
    }
    summary["signaling_in_pcaps"] = signaling_summary(sorted(out.glob("lma-*.pcap")),
                                                      out / "esp_sa" if ipsec else None)
    expected = T.slaac_address(IPv6Network(f"{addr}/64", strict=False), T.MN_MAC)
    summary["mn_address_is_slaac_eui64"] = str(expected) == addr
    png = plot(out, ping, marks, t0)
    summary["plot"] = png.name if png else None
    write_summary(out, summary)
    (out / "timeline.txt").write_text(format_timeline(rows) + "\n")
    echo("\nTimeline (ms since the lab was up):")
    echo(format_timeline(rows))
    echo("\nSummary:")
    for k in ("scenario", "target", "ipsec", "attach_trigger", "mn_address", "sent", "lost", "max_gap_ms",
              "handover_move_to_pbu_ms", "handover_signaling_ms", "handover_move_to_ra_ms",
              "handover_move_to_first_reply_ms", "signaling_in_pcaps"):
        echo(f"  {k:<34} {summary[k]}")
    echo(f"\nwritten: {out / 'summary.json'}, timeline.txt, {', '.join(summary['pcaps'])}"
         f"{', ' + summary['plot'] if summary['plot'] else ''}")
    return summary


def _mip(name: str) -> Callable[..., dict[str, Any]]:
    def run(*args: Any, **kw: Any) -> dict[str, Any]:
        from p4mobility.lab import mip_scenario  # host mobility: lab/mip_scenario.py
        return getattr(mip_scenario, name)(*args, **kw)
    return run


def lma_cluster(*args: Any, **kw: Any) -> dict[str, Any]:
    from p4mobility.lab.cluster_scenario import lma_cluster as run  # the LMA on etcd: lab/cluster_scenario.py
    return run(*args, **kw)


SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {"pmip-handover": pmip_handover, "mip-nat": _mip("mip_nat"),
                                                       "mcoa": _mip("mcoa"), "lma-cluster": lma_cluster}

__all__ = ["pmip_handover", "SCENARIOS"]
