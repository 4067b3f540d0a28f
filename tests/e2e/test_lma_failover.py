"""Two LMA instances on etcd for one switch, the owner killed -9 under load (issue 16, docs/cluster.md).

A real switch (embedded target; bmv2 when simple_switch_grpc is installed), a real etcd
(tests/etcd_server.py; skipped when absent), two `p4mob lma run` with one election, the
soak's load model offering about 1,000 PBU/s (registrations, refreshes, handovers between
two MAGs) as real PBUs on the wire, and downlink data to MNs the load leaves alone
(lma_cluster.py). The owner is killed -9 mid-load; the survivor takes over. Then every
MN's binding in etcd and on the switch is the one last acknowledged, no MN has two and no
prefix is on two MNs; no PBA answered a refresh or a handover with another prefix; the
downlink kept flowing through the switch during the outage; the survivor's reconcile
wrote exactly the difference between the switch as the old owner left it and etcd.
The test's own P4Runtime client also deletes a few entries and changes a few members while
no instance owns the switch, so there is a difference to write. The MAGs' retransmissions
(RFC 5213 §6.9.4) are held from the kill until the survivor has reconciled, so that
difference can be read off the switch before and after.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from ipaddress import IPv6Network

import pytest

from p4mobility.mh import HomeNetworkPrefix
from p4mobility.soak.plan import GEN_MAGS, mn_id
from tests.dataplane.targets import lab_binary_or_skip
from tests.etcd_server import EtcdCluster, EtcdServer

from .lma_alone import PORT, LmaAlone
from .lma_cluster import ClusterLma, Downlink, Load, wait_event

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
MNS, STATIC, RATE = 1500, 8, 1000
TTL = 8  # s: the lease; long enough to read the switch as the old owner left it before the takeover
TAMPER_DELETE, TAMPER_MODIFY = 3, 2  # entries the test removes and members it changes before the takeover


def _cluster_lma(target: str, tmp_path, endpoints: list[str], mns: int) -> ClusterLma:
    binary = lab_binary_or_skip(target)
    out = tmp_path / "lma"
    out.mkdir()
    store = {"kind": "etcd", "endpoints": endpoints, "timeout": 2.0, "election": "lma-sw", "lease_ttl": TTL}
    return ClusterLma(target, binary, out, store, mns)


def diff_counts(before: dict, after: dict) -> tuple[int, int, int]:
    """(inserted, modified, deleted) entities from ``before`` to ``after`` (identity -> the rest)."""
    return (len(after.keys() - before.keys()), sum(1 for k in after.keys() & before.keys() if after[k] != before[k]),
            len(before.keys() - after.keys()))


def switch_bindings(state: dict) -> dict[str, str]:
    """HNP -> the MAG its `bindings` entry's member tunnels to."""
    rows = [json.loads(v) for v in state.values()]
    mags = {r["member_id"]: r["args"].get("dst_addr") for r in rows if r.get("profile") == "binding_profile"
            and "member_id" in r}
    return {str(IPv6Network(r["match"]["dst_addr"])): mags.get(r.get("member_id")) for r in rows
            if r.get("table") == "bindings"}


@pytest.mark.parametrize("target", ["embedded", "bmv2"])
def test_owner_killed_9_under_load_loses_and_duplicates_nothing(target, tmp_path):
    etcd = EtcdServer(tmp_path / "etcd")  # skips when etcd is absent
    etcd.start()
    h = load = dl = None
    try:
        h = _cluster_lma(target, tmp_path, [etcd.endpoint], MNS + STATIC)
        won_a = wait_event(h.log, "election_won")
        _, log_b = h.start_instance("b")
        wait_event(log_b, "election_waiting")
        load = Load(h.ns.name, h.ns.ports[PORT].test_ifname, MNS, RATE, window=RATE, static=STATIC)
        load.register_static()
        dl = Downlink(h.ns.name, h.ns.ports[PORT].test_ifname, list(load.static.values()))
        dl.start()
        load.start()
        deadline = time.monotonic() + 300
        while load.model.stats.acked < MNS + RATE:  # every MN registered, then refreshes and handovers
            assert time.monotonic() < deadline, f"load: {load.model.stats}"
            time.sleep(0.2)
        offered_at_kill = load.model.stats.offered
        t_kill = h.kill("a")  # mid-load
        rate_at_kill = offered_at_kill / (t_kill - load.started)
        load.pause()  # the MAGs' retransmissions wait for the takeover (below)
        in_flight_at_kill = load.model.in_flight
        h.tamper(won_a["election_id"], delete=TAMPER_DELETE, modify=TAMPER_MODIFY,
                 spare=set(load.static.values()))  # and more differs
        left_by_old_owner = h.switch_state()
        t_read = time.time()
        won_b = wait_event(log_b, "election_won", since=t_kill, timeout=120)
        assert t_read < won_b["ts"], "the switch was read after the takeover: raise TTL"
        assert won_b["election_id"] > won_a["election_id"]
        ev = wait_event(log_b, "reconciled", since=t_kill, timeout=120)
        reconciled = h.switch_state()
        load.resume()
        # the reconcile wrote exactly what differs between the switch and etcd
        written = diff_counts(left_by_old_owner, reconciled)
        assert (ev["inserted"], ev["modified"], ev["deleted"]) == written
        assert written[0] >= TAMPER_DELETE and written[1] >= TAMPER_MODIFY
        time.sleep(3.0)  # the survivor under the load
        load.stop()
        load.drain()
        dl.stop()

        model = load.model
        expected = {mn_id(i).decode(): (str(GEN_MAGS[mag]), str(hnp)) for i, (mag, hnp) in model.expected().items()}
        expected.update({mn_id(i).decode(): (str(GEN_MAGS[0]), str(hnp)) for i, hnp in load.static.items()})
        docs = h.etcd_bindings([etcd.endpoint])
        per_mn = Counter(bytes.fromhex(d["mn_id"]).decode() for d in docs)
        per_hnp = Counter(p for d in docs for p in d["hnps"])
        at_switch = switch_bindings(h.switch_state())
        in_etcd = {bytes.fromhex(d["mn_id"]).decode(): (d["paths"][0]["remote"], d["hnps"]) for d in docs}
        print(f"\n{target}: {model.stats.offered} PBUs offered ({offered_at_kill} before the kill at "
              f"{rate_at_kill:.0f}/s, {in_flight_at_kill} in flight at it), {model.stats.acked} accepted, "
              f"{model.stats.retransmitted} retransmitted, {model.in_flight} unanswered, rejected "
              f"{model.stats.rejected}; reconcile {ev['inserted']}/{ev['modified']}/{ev['deleted']} "
              f"of {len(left_by_old_owner)} entities; kill -> election_won {won_b['ts'] - t_kill:.2f} s")
        assert load.answers.inconsistent == []
        assert [m for m, n in per_mn.items() if n > 1] == []  # no MN with two bindings
        assert [p for p, n in per_hnp.items() if n > 1] == []  # no prefix on two MNs
        wrong = {m: (want, in_etcd.get(m)) for m, want in expected.items()
                 if in_etcd.get(m) != (want[0], [want[1]]) or at_switch.get(want[1]) != want[0]}
        assert wrong == {}, list(wrong.items())[:5]  # nothing acknowledged lost, every one as acknowledged
        assert set(at_switch) == set(per_hnp)  # the switch holds what etcd holds, nothing else
        # downlink data of the static MNs kept flowing while no instance owned the switch
        sent, received = dl.between(t_kill, won_b["ts"])
        print(f"downlink during the outage ({won_b['ts'] - t_kill:.2f} s): {received}/{sent} packets through")
        assert sent > 0 and received > 0
    finally:
        for x in (load, dl):
            if x is not None:
                x.stop() if x is dl else x.close()
        if h is not None:
            h.close()
        etcd.stop()


def test_an_etcd_member_killed_changes_nothing_for_registrations(tmp_path):
    # three members; the node's election and store talk to a follower first, which is killed -9
    cluster = EtcdCluster(tmp_path / "etcd", 3).start()
    h = None
    try:
        leader = cluster.leader()
        order = [i for i in range(3) if i != leader] + [leader]  # a follower first
        endpoints = [cluster.members[i].endpoint for i in order]
        store = {"kind": "etcd", "endpoints": endpoints, "timeout": 2.0, "election": "lma-sw", "lease_ttl": 2}
        out = tmp_path / "lma"
        out.mkdir()
        h = LmaAlone.start_or_skip("embedded", out, store=store)
        first = h.register("mn0", 1)
        assert first.status == 0
        t_kill = time.time()
        cluster.members[order[0]].stop()
        time.sleep(3 * 2)  # past the lease's TTL: the owner keeps it through another member
        again = h.register("mn0", 2)
        new = h.register("mn1", 1)
        assert again.status == 0 and new.status == 0
        assert again.option(HomeNetworkPrefix).prefix == first.option(HomeNetworkPrefix).prefix
        assert h.events("store_write_failed", since=t_kill) == [] and h.events("ownership_lost") == []
        assert h.node.poll() is None
        shown = h.control({"cmd": "show", "what": "cluster"})
        assert shown["rows"][0][7] == "owner" and len(shown["members"]["rows"]) == 3
        from p4mobility.runtime.store_etcd import EtcdBindingStore

        docs = EtcdBindingStore(endpoints[1:], "/p4mob/lma").load("bce")
        assert sorted(bytes.fromhex(d["mn_id"]).decode() for d in docs.values()) == ["mn0", "mn1"]
    finally:
        if h is not None:
            h.close()
        cluster.stop()
