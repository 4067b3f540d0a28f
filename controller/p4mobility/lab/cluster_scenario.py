"""`p4mob lab --scenario lma-cluster` (issue 16; docs/cluster.md#the-lab-lma-cluster).

The MN attaches at MAG1 and pings the CN every 10 ms throughout. Then:
1. etcd member 1 (the first endpoint of both LMA instances) is killed -9, made raft's leader
   first (``etcd_kill="leader"``, the default) or a follower (``"follower"``), and the lab
   watches for 3 lease TTLs: the owner must keep its lease and nothing changes for the MN.
2. The owning LMA instance is killed -9 one second before MAG1's next refresh is due, so a
   PBU is outstanding from then on (the MAGs retransmit every 0.5 s at most in this lab).
   The survivor wins the election, restores from etcd, reconciles the switch and answers.
3. The MN moves to MAG2: the new owner answers MAG2's PBU.
4. What was acknowledged (both MAGs' binding update lists) is compared with the bindings in
   etcd and on the LMA switch.
"""
from __future__ import annotations

import time
from ipaddress import IPv6Network
from pathlib import Path
from typing import Any, Callable

from p4mobility.lab import topology as T
from p4mobility.lab.cluster_lab import INSTANCES, ClusterLab
from p4mobility.lab.lab import LabError
from p4mobility.lab.report import PingResult, parse_ping, write_summary

MN_LIFETIME = 40.0  # s, asked by the MAGs; with REFRESH_FRACTION a refresh every 12 s
REFRESH_FRACTION = 0.3
MAG_TIMERS = {"refresh_fraction": REFRESH_FRACTION, "initial_bindack_timeout_first_reg": 0.5,
              "initial_bindack_timeout": 0.25, "max_bindack_timeout": 0.5,
              "max_pbu_retransmissions": 40}
KILL_BEFORE_REFRESH = 1.0  # s


def _ms(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round((b - a) * 1000.0, 1)


def _first(events: list[dict], where: Callable[[dict], bool] = lambda e: True) -> dict | None:
    return next((e for e in sorted(events, key=lambda e: e["ts"]) if where(e)), None)


def _kill_before_refresh(lab: ClusterLab, victim: str) -> float:
    """kill -9 ``victim`` KILL_BEFORE_REFRESH s before MAG1's next refresh PBU is due."""
    while True:
        acks = [e for e in lab.events("mag1", "pba_rx") if e.get("status") == 0 and e.get("lifetime")]
        if not acks:
            raise LabError("MAG1 holds no accepted registration")
        last = acks[-1]
        due = last["ts"] + REFRESH_FRACTION * float(last["lifetime"])
        wait = due - KILL_BEFORE_REFRESH - time.time()
        if wait >= 0:
            time.sleep(wait)
            t = lab.mark(f"kill -9 {victim} (owner)")
            lab.kill_controller(victim)
            return t
        lab.wait_event("mag1", "pba_rx", since=last["ts"] + 0.001, timeout=60)  # the next refresh


Binding = tuple[str, str]  # (home network prefix, care-of address)


def compare_bindings(acked: dict[str, set[Binding]], bces: dict[str, dict], switch: list[Binding]
                     ) -> dict[str, Any]:
    """Acknowledged {MN-ID: (HNP, CoA)} against etcd's BCE documents and the LMA switch's
    `bindings` entries (prefix, tunnel destination). A binding is lost when etcd's BCEs of
    its MN or the switch lack it (a wrong CoA included); duplicated are MNs holding more
    than one BCE, prefixes held by two MNs' BCEs, and switch prefixes held twice or
    acknowledged to no MN."""
    per_mn: dict[str, list[set[Binding]]] = {}
    for doc in bces.values():
        held = {(h, p["remote"]) for h in doc["hnps"] for p in doc.get("paths", [])}
        per_mn.setdefault(bytes.fromhex(doc["mn_id"]).decode(errors="replace"), []).append(held)
    holders: dict[str, set[str]] = {}
    for mn, sets in per_mn.items():
        for held in sets:
            for prefix, _ in held:
                holders.setdefault(prefix, set()).add(mn)
    lost = [(mn, b) for mn, bs in acked.items() for b in sorted(bs)
            if b not in set().union(*per_mn.get(mn, [set()])) or b not in set(switch)]
    acked_prefixes = {prefix for bs in acked.values() for prefix, _ in bs}
    switch_prefixes = [prefix for prefix, _ in switch]
    dup_mns = [mn for mn, sets in per_mn.items() if len(sets) > 1]
    dup_prefixes = [p for p, mns in holders.items() if len(mns) > 1]
    dup_switch = sorted({p for p in switch_prefixes if switch_prefixes.count(p) > 1}
                        | (set(switch_prefixes) - acked_prefixes))
    return {"bindings_acknowledged": sum(len(bs) for bs in acked.values()), "bindings_in_etcd": len(bces),
            "bindings_on_switch": len(switch), "bindings_lost": len(lost),
            "bindings_duplicated": len(dup_mns) + len(dup_prefixes) + len(dup_switch),
            "lost_bindings": [f"{mn} {prefix} via {coa}" for mn, (prefix, coa) in lost],
            "duplicated": {"mns_with_several_bces": dup_mns, "prefixes_on_several_mns": dup_prefixes,
                           "switch_prefixes_twice_or_unacknowledged": dup_switch}}


def _lost_before(ping: PingResult, t: float) -> list[int]:
    """Echo requests without a reply up to the last one answered before ``t`` (here: the
    move to MAG2; the window holds both kills and the failover)."""
    last = ping.last_reply_before(t)
    return [q for q in ping.missing() if last and q < last[1]]


def _acknowledged(lab: ClusterLab) -> dict[str, set[Binding]]:
    """{MN-ID: (HNP, the MAG's Proxy-CoA)} of every BUL entry the MAGs hold as accepted
    (bound or refreshing)."""
    out: dict[str, set[Binding]] = {}
    for mag in ("mag1", "mag2"):
        table = lab.control(mag, {"cmd": "show", "what": "bindings"})
        cols = table["columns"]
        for row in table["rows"]:
            r = dict(zip(cols, row))
            if r["state"] in ("bound", "refreshing"):
                out.setdefault(r["mn_id"], set()).update((h, str(T.MAG_COA[mag])) for h in r["hnps"].split())
    return out


def _switch_bindings(lab: ClusterLab) -> list[Binding]:
    """(prefix, tunnel destination) of each `bindings` entry of the LMA switch."""
    members = {m["member_id"]: m for m in lab.read_switch("lma", "binding_profile")}
    return [(str(e["match"]["dst_addr"]), str(members.get(e.get("member_id"), {}).get("args", {}).get("dst_addr")))
            for e in lab.read_switch("lma", "bindings")]


def lma_cluster(out: Path, target: str = "embedded", echo: Callable[[str], None] = print,
                settle: float = 2.0, ipsec: bool = True, port_mn: bool = True, tag: str | None = None,
                etcd_kill: str = "leader") -> dict[str, Any]:
    if etcd_kill not in ("leader", "follower"):
        raise LabError(f"etcd_kill: expected leader or follower, got {etcd_kill!r}")
    opts = T.LabOptions(ipsec=ipsec, port_mn=port_mn, mn_lifetime=MN_LIFETIME, mag=dict(MAG_TIMERS))
    with ClusterLab(out, target, opts, tag=tag) as lab:
        assert lab.etcd is not None
        ttl = lab.lease_ttl
        echo(f"lab up ({target} target): etcd members {', '.join(lab.etcd.endpoints)}, LMA instances "
             f"{' and '.join(INSTANCES)} (lease {ttl} s)" + (", PBU/PBA in ESP" if ipsec else ", no IPsec"))
        owner_before = lab.owner()
        won_before = lab.events(owner_before or "lma-a", "election_won")[-1]
        lab.attach("mag1")
        addr = lab.mn_address(timeout=30)
        echo(f"MN configured {addr} by SLAAC at MAG1 ({owner_before} answered)")
        if not lab.ping_once(count=3, timeout=10):
            raise LabError("MN cannot reach the CN after attaching at MAG1")
        lab.start_ping()
        time.sleep(settle)

        # 1. an etcd member killed: the first endpoint of both instances, leader or follower
        member = lab.etcd.names[0]
        lab.etcd.make_leader(member if etcd_kill == "leader" else lab.etcd.names[1])
        leader_before = lab.etcd.leader()
        t_member = lab.mark(f"kill -9 {member}")
        lab.etcd.kill(member)
        time.sleep(3 * ttl)
        leader_after = lab.etcd.leader()
        member_changes = [f"{n} {e['event']}" for n in INSTANCES for e in lab.events(n, since=t_member)
                          if e["event"] in ("election_won", "ownership_lost", "store_write_failed")]
        echo(f"killed {member} (leader before: {leader_before}, after: {leader_after}); "
             f"ownership changes: {member_changes or 'none'}")
        if lab.owner() != owner_before:
            raise LabError(f"the owner changed after {member} died: {member_changes}")

        # 2. the owner killed -9 with MAG1's refresh about to be sent
        survivor = next(n for n in INSTANCES if n != owner_before)
        assert owner_before is not None
        t_kill = _kill_before_refresh(lab, owner_before)
        won = lab.wait_event(survivor, "election_won", since=t_kill, timeout=60)
        restored = lab.wait_event(survivor, "state_restored", since=t_kill, timeout=60)
        rec = lab.wait_event(survivor, "reconciled", since=t_kill, timeout=120)
        pba = lab.wait_event(survivor, "pba_tx", since=t_kill, timeout=60, where=lambda e: e.get("status") == 0)
        pbu_after_kill = _first(lab.events("mag1", "pbu_tx", since=t_kill))
        echo(f"killed {owner_before}: {survivor} won (election id {won['election_id']} > "
             f"{won_before['election_id']}), restored {restored.get('bindings')} binding(s), reconcile "
             f"inserted/modified/deleted {rec.get('inserted')}/{rec.get('modified')}/{rec.get('deleted')}, "
             f"first PBA {_ms(t_kill, pba['ts'])} ms after the kill")
        time.sleep(settle)

        # 3. handover: the new owner answers MAG2
        t_move = lab.move("mag2")
        mag2_ack = lab.wait_event("mag2", "pba_rx", since=t_move, timeout=30, where=lambda e: e.get("status") == 0)
        answered = _first(lab.events(survivor, "pba_tx", since=t_move),
                          lambda e: e.get("status") == 0 and e.get("dst") == str(T.MAG_COA["mag2"]))
        time.sleep(settle)
        lab.stop_ping()

        # 4. what was acknowledged against etcd and the switch
        acked = _acknowledged(lab)
        bces = lab.etcd_docs("bce")
        compared = compare_bindings(acked, bces, _switch_bindings(lab))
        shown = lab.control(survivor, {"cmd": "show", "what": "cluster"})
        cluster_row = dict(zip(shown.get("columns", []), (shown.get("rows") or [[]])[0]))
        ping = parse_ping((out / "ping.log").read_text(errors="replace"))
        t0, marks = lab.marks[0][0], list(lab.marks)
    summary: dict[str, Any] = {
        "scenario": "lma-cluster", "target": target, "ipsec": ipsec, "mn_address": addr,
        # lost: requests without a reply up to the last one answered; those still in flight
        # when ping was stopped (SIGINT) are unanswered_at_stop, not losses (lab/report.py)
        "sent": ping.transmitted, "received": ping.received, "lost": len(ping.missing()),
        "lost_seqs": ping.missing(), "unanswered_at_stop": ping.lost - len(ping.missing()),
        "lost_during_failover": len(_lost_before(ping, t_move)),
        "max_gap_ms": round(ping.max_gap()[1], 1), "ping_interval_ms": 10,
        "max_gap_during_failover_ms": round(ping.max_gap(after=t_kill, before=pba["ts"])[1], 1),
        "marks": [{"t_ms": round((t - t0) * 1000.0, 1), "what": what} for t, what in marks],
        "lease_ttl_s": ttl, "owner_before": owner_before, "owner_after": survivor,
        "election_id_before": won_before["election_id"], "election_id_after": won["election_id"],
        "failover_ms": _ms(t_kill, pba["ts"]),
        "failover_election_won_ms": _ms(t_kill, won["ts"]),
        "failover_reconciled_ms": _ms(t_kill, rec["ts"]),
        "mag1_first_pbu_after_kill_ms": _ms(t_kill, pbu_after_kill["ts"] if pbu_after_kill else None),
        "restored_bindings": restored.get("bindings"),
        "reconcile": {k: rec.get(k) for k in ("inserted", "modified", "deleted")},
        "new_owner_answered_mag2": answered is not None and mag2_ack is not None,
        "handover_signaling_ms": _ms(t_move, mag2_ack["ts"]),
        "etcd_member_killed": member, "etcd_member_killed_was": etcd_kill, "etcd_leader_before": leader_before, "etcd_leader_after": leader_after,
        "etcd_member_kill_changes": member_changes,
        "show_cluster": cluster_row,
        **compared,
    }
    summary["mn_address_is_slaac_eui64"] = str(T.slaac_address(IPv6Network(f"{addr}/64", strict=False),
                                                                 T.MN_MAC)) == addr
    write_summary(out, summary)
    echo("\nSummary:")
    for k in ("scenario", "target", "ipsec", "sent", "lost", "lost_during_failover", "max_gap_during_failover_ms", "owner_before", "owner_after",
              "election_id_before", "election_id_after", "failover_ms", "failover_election_won_ms",
              "failover_reconciled_ms", "reconcile", "new_owner_answered_mag2", "etcd_member_killed",
              "etcd_leader_before", "etcd_member_kill_changes", "bindings_acknowledged", "bindings_in_etcd",
              "bindings_on_switch", "bindings_lost", "bindings_duplicated"):
        echo(f"  {k:<28} {summary[k]}")
    echo(f"\nwritten: {out / 'summary.json'}")
    return summary


__all__ = ["lma_cluster", "compare_bindings"]
