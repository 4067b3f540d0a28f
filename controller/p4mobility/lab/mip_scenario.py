"""Host-mobility lab scenarios (`p4mob lab --scenario mip-nat | mcoa`), same summary.json shape
as pmip-handover.

mip-nat: the MN (the real `p4mob mn run` daemon) starts on IPv6 access A,
moves to the IPv4-only access behind the NAT, then back to A, while pinging
the CN every 10 ms over its IPv6 home address, every 100 ms over its IPv4
home address, and sending a TCP stream to the CN; it keeps both home
addresses throughout. mcoa: the MN uses two IPv6 accesses at once (RFC 5648,
two BIDs), two flows to the CN leave by different CoAs, one interface loses
its carrier and the flows that can move do. The run writes summary.json, the
HA's access-link pcaps (decoded by tshark with `-d udp.port==4191,ipv6`,
ESP decrypted with the exported `esp_sa`), timeline.txt and the ping plot.
"""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

from p4mobility.lab import mip_topology as M
from p4mobility.lab.mip_lab import MipLab
from p4mobility.lab.pcapcheck import DSMIPV6_DECODE, signaling_summary
from p4mobility.lab.report import format_timeline, parse_ping, plot, timeline, write_summary
from p4mobility.lab.supervisor import LabError

SETTLE = 2.0
TCP_PORT = 5001
COA = {**M.MN_COA, "nat": M.MN_V4_COA, "pub": M.MN_V4_PUBLIC}
MIP_EVENTS = ("bu_rx", "ba_tx", "bu_sent", "tunnel_changed", "BindingCreated", "BindingMoved", "BindingDeleted")


def move(lab: MipLab, to: str, away: str | None, echo: Callable[[str], None]) -> dict[str, Any]:
    """The MN attaches to ``to`` and leaves ``away``; back once its data tunnel runs on the new
    CoA, with the step's times (attach, move to tunnel, BU to BA)."""
    t = lab.attach(to)
    if away is not None:
        lab.detach(away)
    moved = lab.wait_event("mn", "tunnel_changed", since=t, timeout=60,
                           where=lambda e: (e.get("tunnel") or {}).get("coa") == str(COA[to]))
    bu = next((e for e in lab.events("mn", "bu_sent", since=t)
               if (e.get("path") or {}).get("coa") == str(COA[to])), None)
    step = {"to": to, "at": t, "care_of_address": str(COA[to]), "encapsulation": moved["tunnel"]["encapsulation"],
            "move_to_tunnel_ms": round((moved["ts"] - t) * 1000, 1),
            "bu_to_ba_ms": round((moved["ts"] - bu["ts"]) * 1000, 1) if bu else None}
    echo(f"  moved to {to}: tunnel {step['encapsulation']} via {step['care_of_address']} "
         f"after {step['move_to_tunnel_ms']} ms")
    return step


def _start_tcp(lab: MipLab) -> None:
    lab.sup.spawn("tcp-server", [sys.executable, "-m", "p4mobility.lab.tcpflow", "server", str(TCP_PORT),
                                 str(lab.out / "tcp-server.json")], lab.out / "tcp-server.out", ns=lab.ns("cn"))
    deadline = time.monotonic() + 30
    while True:  # the server listens: connect
        lab.sup.spawn("tcp-client", [sys.executable, "-m", "p4mobility.lab.tcpflow", "client", str(M.CN_ADDRESS),
                                     str(TCP_PORT), str(lab.out / "tcp-client.json")],
                      lab.out / "tcp-client.out", ns=lab.ns("mn"))
        time.sleep(0.5)
        if lab.sup.procs["tcp-client"].alive() or time.monotonic() > deadline:
            return


def _stop_tcp(lab: MipLab) -> dict[str, Any]:
    import json
    lab.sup.stop("tcp-client", sig=signal.SIGTERM, timeout=20)
    lab.sup.stop("tcp-server", sig=signal.SIGTERM, timeout=5)
    out: dict[str, Any] = {}
    for side in ("client", "server"):
        try:
            out[side] = json.loads((lab.out / f"tcp-{side}.json").read_text())
        except (OSError, ValueError):
            out[side] = None
    c, s = out["client"], out["server"]
    out["survived"] = bool(c and c.get("survived") and s and s.get("bytes") == c.get("bytes"))
    return out


def _finish(lab: MipLab, out: Path, summary: dict[str, Any], ping: Any, t0: float, echo: Callable[[str], None]
            ) -> dict[str, Any]:
    pcaps = sorted(out.glob("ha-acc*.pcap")) + sorted(out.glob("ha-nat.pcap"))
    summary["pcaps"] = [p.name for p in pcaps]
    summary["esp_sa"] = "esp_sa"
    summary["signaling_in_pcaps"] = signaling_summary(pcaps, out / "esp_sa", DSMIPV6_DECODE, scope="mipv6")
    events = {n: [e for e in lab.events(n) if e.get("event") in MIP_EVENTS] for n in ("mn", "ha")}
    rows = timeline({}, lab.marks, ping, None, t0)
    rows += [{"t": e["ts"], "t_ms": round((e["ts"] - t0) * 1000, 1), "node": n, "what": e["event"],
              **{k: e[k] for k in ("seq", "status", "coa", "src", "outer") if k in e}}
             for n, evs in events.items() for e in evs]
    rows.sort(key=lambda r: r["t"])
    png = plot(out, ping, lab.marks, t0)
    summary["plot"] = png.name if png else None
    write_summary(out, summary)
    (out / "timeline.txt").write_text(format_timeline(rows) + "\n")
    echo("\nSummary:")
    for k in ("scenario", "target", "ipsec", "sent", "lost", "max_gap_ms", "ipv4", "tcp_survived", "moves",
              "coas_used_by_flows", "flows_moved", "flows_lost_datagrams", "signaling_in_pcaps"):
        if k in summary:
            echo(f"  {k:<22} {summary.get(k)}")
    echo(f"\nwritten: {out / 'summary.json'}, timeline.txt, {', '.join(summary['pcaps'])}")
    return summary


def mip_nat(out: Path, target: str = "embedded", echo: Callable[[str], None] = print, settle: float = SETTLE,
            ipsec: bool = True) -> dict[str, Any]:
    if not ipsec:
        raise LabError("mip-nat needs IPsec (RFC 3776 §4.1: BUs are always protected)")
    with MipLab(out, target) as lab:
        if not lab.nat:
            raise LabError("mip-nat needs nftables for the NAT (apt-get install nftables)")
        t0 = lab.marks[0][0]
        echo(f"lab up ({target} target): HA switch + crypto path + HA node, MN daemon, IPv6 accesses and a NAT")
        lab.attach("acca")
        lab.start_mn()
        lab.wait_tunnel(COA["acca"], timeout=60)
        status = lab.mn_status() or {}
        echo(f"MN registered from {COA['acca']}: home addresses {M.HOME_ADDRESS} and {status.get('ipv4_home_address')}")
        if not (lab.ping(M.CN_ADDRESS) and lab.ping(M.CN_ADDRESS_V4)):
            raise LabError("the MN cannot reach the CN after registering")
        lab.start_ping(M.CN_ADDRESS)
        lab.start_ping(M.CN_ADDRESS_V4, name="ping4", interval=0.1)
        _start_tcp(lab)
        time.sleep(settle)
        moves = [move(lab, "nat", "acca", echo)]
        time.sleep(settle)
        moves.append(move(lab, "acca", "nat", echo))
        time.sleep(settle)
        tcp = _stop_tcp(lab)
        lab.stop_ping("ping4")
        lab.stop_ping()
        time.sleep(0.3)
        ping, ping4 = (parse_ping((out / f"{n}.log").read_text(errors="replace")) for n in ("ping", "ping4"))
        nat = next((e for e in lab.events("ha", "bu_rx") if e.get("outer")), None)
        final = lab.mn_status() or {}
        gap_end, gap = ping.max_gap()
        summary = {
            "scenario": "mip-nat", "target": target, "ipsec": True,
            "mn_address": str(M.HOME_ADDRESS), "ipv4_home_address": final.get("ipv4_home_address"),
            "home_addresses_kept": final.get("ipv4_home_address") == status.get("ipv4_home_address"),
            "sent": ping.transmitted, "received": ping.received, "lost": ping.lost, "max_gap_ms": round(gap, 1),
            "ping_interval_ms": 10, "ipv4": {"sent": ping4.transmitted, "lost": ping4.lost,
                                             "max_gap_ms": round(ping4.max_gap()[1], 1)},
            "tcp": tcp, "tcp_survived": tcp["survived"], "moves": moves,
            "nat_outer_source": nat.get("outer") if nat else None,
        }
        return _finish(lab, out, summary, ping, t0, echo)


FLOW_PORT = 9000
FLOW_SPORTS = tuple(range(41000, 41008))  # eight downlink flows: their ports are all that differs


def _flows_at(lab: MipLab, since: float, until: float = float("inf")) -> dict[int, list[str]]:
    """Source port -> the CoAs its downlink ESP left by in [since, until] (the switch's choice)."""
    from p4mobility.lab.esppcap import flow_byte, links_by_flow
    spi = next(sa.spi for sa in M.mip_sas() if sa.name == "data-in")
    links = links_by_flow({a: lab.out / f"ha-{a}.pcap" for a in ("acca", "accb")}, lab.out / "ha-crypto.pcap",
                          spi, since, until)
    return {sp: sorted(str(COA[a]) for a in links.get(flow_byte(sp, FLOW_PORT), set())) for sp in FLOW_SPORTS}


def _acknowledged(lab: MipLab, since: float, seen: float) -> float:
    """When the HA acknowledged the BU that its `show bindings` reflected at ``seen``: the BA
    leaves after the batch's switch writes, so from then on the switch has the new CoA. (The
    core answers `show` before those writes end; a datagram in between still took the old one.)"""
    def ba() -> dict | None:
        bus = [e for e in lab.events("ha", "bu_rx", since) if e["ts"] <= seen]
        if not bus:
            return None
        return next((e for e in lab.events("ha", "ba_tx", since) if e["seq"] == bus[-1]["seq"]), None)
    return max(seen, lab.wait_for(ba, "the HA's BA for the BU that left BID 2 only", 30, proc="ha")["ts"])


def mcoa(out: Path, target: str = "embedded", echo: Callable[[str], None] = print, settle: float = SETTLE,
         ipsec: bool = True) -> dict[str, Any]:
    import json
    if not ipsec:
        raise LabError("mcoa needs IPsec (RFC 3776 §4.1: BUs are always protected)")
    both = f"1:{COA['acca']} 2:{COA['accb']}"
    with MipLab(out, target, M.MipLabOptions(multiple_coa=True)) as lab:
        t0 = lab.marks[0][0]
        echo(f"lab up ({target} target): the MN in multiple-CoA mode (RFC 5648) with two IPv6 accesses")
        lab.attach("acca")
        lab.attach("accb")
        lab.start_mn()
        lab.wait_for(lambda: any(b["coa"] == both for b in lab.show("bindings")), "both CoAs registered", 60,
                     proc="mn")
        echo(f"MN registered {both} (BID:CoA) for {M.HOME_ADDRESS}")
        lab.sup.spawn("sink", [sys.executable, "-m", "p4mobility.lab.udpflows", "sink", str(M.HOME_ADDRESS),
                               str(FLOW_PORT), str(out / "flows.json")], out / "sink.out", ns=lab.ns("mn"))
        time.sleep(0.5)
        count = int((3 * settle + 2) / 0.02)
        lab.start_ping(M.CN_ADDRESS)
        t_flows = time.time()
        lab.sup.spawn("flows", [sys.executable, "-m", "p4mobility.lab.udpflows", "send", str(M.HOME_ADDRESS),
                                str(FLOW_PORT), *map(str, FLOW_SPORTS), "--count", str(count), "--interval", "0.02"],
                      out / "flows.out", ns=lab.ns("cn"))
        time.sleep(settle)
        t_lost = lab.detach("acca", carrier=False)
        echo("wlan0 lost its carrier (BID 1)")
        lab.wait_for(lambda: any(b["coa"] == f"2:{COA['accb']}" for b in lab.show("bindings")),
                     "the HA to keep BID 2 only", 60, proc="mn")
        t_moved = _acknowledged(lab, t_lost, time.time())
        echo(f"  the HA holds BID 2 only after {round((t_moved - t_lost) * 1000, 1)} ms")
        lab.wait_for(lambda: not lab.sup.procs["flows"].alive(), "the flows to end", 120)
        lab.stop_ping()
        time.sleep(0.5)
        got = json.loads((out / "flows.json").read_text() or "{}")
        before, after = _flows_at(lab, t_flows, t_lost), _flows_at(lab, t_moved)
        flows = {str(sp): {"sent": count, "received": got.get(str(sp), 0), "coas_before": before[sp],
                           "coas_after": after[sp]} for sp in FLOW_SPORTS}
        ping = parse_ping((out / "ping.log").read_text(errors="replace"))
        gap_end, gap = ping.max_gap()
        used = sorted({c for f in flows.values() for c in f["coas_before"]})
        summary = {
            "scenario": "mcoa", "target": target, "ipsec": True, "mn_address": str(M.HOME_ADDRESS),
            "sent": ping.transmitted, "received": ping.received, "lost": ping.lost, "max_gap_ms": round(gap, 1),
            "ping_interval_ms": 10, "care_of_addresses": [str(COA["acca"]), str(COA["accb"])],
            "flows": flows, "coas_used_by_flows": used,
            "flows_moved": sorted(sp for sp, f in flows.items() if str(COA["acca"]) in f["coas_before"]),
            "flows_lost_datagrams": sum(f["sent"] - f["received"] for f in flows.values()),
            "interface_lost": "wlan0", "loss_to_one_coa_ms": round((t_moved - t_lost) * 1000, 1),
        }
        echo(f"  {len(FLOW_SPORTS)} flows used {used} before, all on {COA['accb']} after")
        return _finish(lab, out, summary, ping, t0, echo)


__all__ = ["mip_nat", "mcoa", "move", "SETTLE", "COA"]
