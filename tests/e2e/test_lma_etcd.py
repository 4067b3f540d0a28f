"""The LMA node with its bindings in etcd ([store] kind = "etcd", docs/cluster.md), on the wire.

One LMA node alone on a real switch (lma_alone.py), a real etcd started by the test in a
temp dir (tests/etcd_server.py; skipped when etcd is absent). kill -9 of the node: the
restarted node rebuilds its bindings from etcd and its reconcile changes nothing on the
switch. etcd killed: a new registration gets no PBA (nothing is acknowledged that is not
durable; the MAG retransmits, RFC 5213 §6.9.4), the node says why in a log line and its
status, the switch keeps every entry, and the retransmission is accepted once etcd is back.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from ipaddress import IPv6Network
from pathlib import Path

import pytest

from p4mobility.lab.lab import lab_unavailable
from p4mobility.lab.topology import to_toml
from p4mobility.mh import HomeNetworkPrefix
from p4mobility.p4rt.names import PROFILES, TABLES
from p4mobility.runtime.control import request
from p4mobility.runtime.logs import read_events
from p4mobility.runtime.store_etcd import EtcdBindingStore
from tests.dataplane.targets import find_binary, free_tcp_port, selected_targets
from tests.etcd_server import EtcdServer

from .lma_alone import MAG1, LmaAlone, frame, mh_bytes, pbu

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]
SNAPSHOT_NAMES = [*TABLES, *PROFILES]
NO_ANSWER_WINDOW = 1.0  # s: how long a refused PBU is watched for an answer after its log line


def _lma_alone(tmp_path: Path, etcd: EtcdServer, election: dict | None = None) -> LmaAlone:
    """etcd started and the LMA node on its switch (skips when the lab cannot run here)."""
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    targets = selected_targets()
    target = "embedded" if "embedded" in targets else targets[0]  # the store does not depend on it
    binary, reason = find_binary(target)
    if binary is None:
        pytest.skip(reason)
    etcd.start()
    out = tmp_path / "lma"
    out.mkdir()
    store = {"kind": "etcd", "endpoints": [etcd.endpoint], "timeout": 2.0, **(election or {})}
    try:
        h = LmaAlone(target, binary, out, store=store)
    except BaseException:
        etcd.stop()
        raise
    h.etcd = etcd
    return h


@pytest.fixture
def lma(tmp_path):
    etcd = EtcdServer(tmp_path)  # skips when etcd is absent
    h = _lma_alone(tmp_path, etcd)
    yield h
    h.close()
    etcd.stop()


def _second_instance(h: LmaAlone) -> tuple[subprocess.Popen, Path]:
    """Another `p4mob lma run` for the same switch and store (its own socket, metrics, log)."""
    cfg = h.config()
    cfg["node"].update(control_socket=str(h.out / "lma-b.sock"), metrics_port=free_tcp_port())
    (h.out / "lma-b.toml").write_text(to_toml(cfg))
    log = h.out / "lma-b.log"
    with open(log, "ab") as f:
        proc = subprocess.Popen([sys.executable, "-m", "p4mobility.cli", "lma", "run", "-c", str(h.out / "lma-b.toml")],
                                stdout=f, stderr=subprocess.STDOUT)
    return proc, log


def _wait(log: Path, name: str, where=lambda e: True, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        for e in read_events(str(log)) if log.exists() else []:
            if e.get("event") == name and where(e):
                return e
        assert time.monotonic() < deadline, f"no {name} in {log.name} within {timeout} s: {log.read_text()[-1500:]}"
        time.sleep(0.05)


def hnp(pba) -> IPv6Network:
    return IPv6Network((pba.option(HomeNetworkPrefix).prefix, 64))


def in_etcd(h: LmaAlone) -> dict[str, set[str]]:
    """{MN-ID: HNPs} as etcd holds the node's bindings, read by a store of the test's own."""
    docs = EtcdBindingStore([h.etcd.endpoint], "/p4mob/lma").load("bce")
    return {bytes.fromhex(d["mn_id"]).decode(): set(d["hnps"]) for d in docs.values()}


def switch_entries(h: LmaAlone) -> list[dict]:
    res = subprocess.run([sys.executable, "-m", "p4mobility.lab.inspect", h.switch.grpc_addr, *SNAPSHOT_NAMES],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


async def _write_as(addr: str, election_id: int) -> str | None:
    """A P4Runtime client with ``election_id`` deletes one `bindings` entry: None when the
    switch took it, else the error (P4Runtime §5: only the primary writes)."""
    import asyncio

    import finsy
    from finsy import P4TableEntry

    from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO

    opts = finsy.SwitchOptions(p4info=DEFAULT_P4INFO, initial_election_id=election_id, device_id=1)
    async with finsy.Switch("stale-owner", addr, opts) as sw:
        entries = [e async for e in sw.read(P4TableEntry("bindings"))]
        assert entries
        try:
            await asyncio.wait_for(sw.write([-entries[0]]), 30)
        except finsy.P4ClientError as exc:
            return str(exc)
    return None


def rows_without_time(rows: list) -> list:
    return [r[:-1] for r in rows]  # all but expires_in


def test_kill9_restart_rebuilds_from_etcd_and_reconcile_changes_nothing(lma):
    pbas = {mn: lma.register(mn, 1) for mn in ("mn0", "mn1")}
    assert [p.status for p in pbas.values()] == [0, 0]
    assert in_etcd(lma) == {mn: {str(hnp(p))} for mn, p in pbas.items()}
    entries, rows = lma.snapshot()
    lma.kill_node()
    t_restart = time.time()
    lma.start_node()
    restored = lma.wait_event("state_restored", since=t_restart)
    ev = lma.wait_event("reconciled", since=t_restart)
    assert restored["bindings"] == 2
    assert (ev["inserted"], ev["modified"], ev["deleted"]) == (0, 0, 0)
    entries_after, rows_after = lma.snapshot()
    assert entries_after == entries and rows_without_time(rows_after) == rows_without_time(rows)
    again = lma.register("mn0", 2)  # a refresh after the restart: the same prefix
    assert again.status == 0 and hnp(again) == hnp(pbas["mn0"])


def test_etcd_down_refuses_new_registrations_keeps_the_switch_and_recovers(lma):
    first = lma.register("mn0", 1)
    assert first.status == 0
    entries, rows = lma.snapshot()
    lma.etcd.stop(signal.SIGKILL)
    t_down = time.time()

    new_pbu = frame(mh_bytes(pbu("mn3", 1), MAG1))
    lma.drain()
    lma.send(new_pbu)
    failed = lma.wait_event("store_write_failed", since=t_down)
    assert failed["store"].startswith(f"etcd {lma.etcd.endpoint}") and "UNAVAILABLE" in failed["error"]
    assert lma.answers(NO_ANSWER_WINDOW) == []  # no PBA for what etcd does not hold
    status = lma.control({"cmd": "status"})
    assert status["ok"] and "UNAVAILABLE" in status["store_failing"] and status["connected"]
    entries_now, rows_now = lma.snapshot()  # the switch keeps mn0's entries; no half binding of mn3
    assert entries_now == entries and rows_without_time(rows_now) == rows_without_time(rows)

    lma.etcd.start()
    t_back = time.time()
    deadline = time.monotonic() + 60
    answers: list = []
    while not answers:  # the MAG's retransmissions (RFC 5213 §6.9.4) until the store takes one
        assert time.monotonic() < deadline, "no PBA after etcd came back"
        lma.send(new_pbu)
        answers = lma.answers(1.0)
    (_, pba), = answers
    assert pba.status == 0
    assert lma.wait_event("store_recovered", since=t_back)["after"]
    assert lma.control({"cmd": "status"})["store_failing"] is None
    assert in_etcd(lma) == {"mn0": {str(hnp(first))}, "mn3": {str(hnp(pba))}}


def test_two_instances_one_switch_the_survivor_of_kill_9_takes_over(tmp_path):
    # two LMA instances for one switch ([store] election): the first owns it, the second waits;
    # the owner killed -9, the second owns it once the lease ran out, with a higher election id,
    # restores the bindings from etcd, finds the switch as it should be and answers the MAG
    etcd = EtcdServer(tmp_path)
    h = _lma_alone(tmp_path, etcd, election={"election": "lma-sw", "lease_ttl": 2})
    second = None
    try:
        first = h.register("mn0", 1)
        assert first.status == 0
        won = h.wait_event("election_won")
        entries, _ = h.snapshot()
        second, log_b = _second_instance(h)
        _wait(log_b, "election_waiting", lambda e: e["owner"].startswith("lma@"))
        h.kill_node()
        took = _wait(log_b, "election_won", timeout=60)
        assert took["election_id"] > won["election_id"]  # outranks the old owner on the switch
        assert _wait(log_b, "state_restored")["bindings"] == 1
        ev = _wait(log_b, "reconciled")
        assert (ev["inserted"], ev["modified"], ev["deleted"]) == (0, 0, 0)
        again = h.register("mn0", 2)  # the same wire and switch; the survivor answers
        assert again.status == 0 and hnp(again) == hnp(first)
        h.node = None  # (snapshot's `show bindings` asks the first node's socket: read the switch only)
        assert switch_entries(h) == entries
        shown = request(str(h.out / "lma-b.sock"), {"cmd": "show", "what": "cluster"})
        assert shown["ok"] and shown["rows"][0][1].startswith("lma@") and shown["rows"][0][7] == "owner"
        assert shown["rows"][0][3] == took["election_id"]
    finally:
        if second is not None and second.poll() is None:
            second.kill()
            second.wait(15)
        h.close()
        etcd.stop()


def test_a_paused_owner_that_wakes_up_stops_and_the_new_owner_keeps_the_switch(tmp_path):
    etcd = EtcdServer(tmp_path)
    h = _lma_alone(tmp_path, etcd, election={"election": "lma-sw", "lease_ttl": 2})
    second = None
    try:
        first = h.register("mn0", 1)
        second, log_b = _second_instance(h)
        _wait(log_b, "election_waiting")
        h.node.send_signal(signal.SIGSTOP)  # paused longer than its lease
        took = _wait(log_b, "election_won", timeout=60)
        _wait(log_b, "reconciled")
        # a write with an election id below the new owner's, as the paused owner's (whose own id its
        # still open stream holds) is refused by the switch
        import asyncio
        stale_id = h.events("election_won")[0]["election_id"] + 1
        assert stale_id < took["election_id"]
        refused = asyncio.run(_write_as(h.switch.grpc_addr, stale_id))
        assert refused is not None and "PERMISSION_DENIED" in refused, refused
        h.node.send_signal(signal.SIGCONT)
        assert h.node.wait(60) != 0  # it stops itself: its lease is gone
        lost = h.events("ownership_lost")  # (lease expired, or no keepalive for a TTL if one was on the way)
        assert lost and lost[0]["revision"] == h.events("election_won")[0]["revision"]
        assert "ownership lost" in h.log.read_text()
        h.node = None
        again = h.register("mn0", 2)  # the new owner answers; the old one wrote nothing meanwhile
        assert again.status == 0 and hnp(again) == hnp(first)
        assert took["election_id"] > h.events("election_won")[0]["election_id"]
        assert second.poll() is None
    finally:
        if second is not None and second.poll() is None:
            second.kill()
            second.wait(15)
        h.close()
        etcd.stop()


def test_metrics_time_store_writes_and_count_a_conflict(tmp_path):
    # a real apply, then a real conflict: another instance takes the election key, so etcd
    # refuses the owner's next Txn on its guard; the node's /metrics say both
    import asyncio

    import grpc
    from aetcd import rpc

    from p4mobility.runtime.election import Election

    etcd = EtcdServer(tmp_path)
    h = _lma_alone(tmp_path, etcd, election={"election": "lma-sw", "lease_ttl": 2})
    try:
        assert h.register("mn0", 1).status == 0
        m = h.metrics()
        assert m['p4mob_store_apply_seconds_count{store="etcd"}'] >= 1
        assert m['p4mob_store_apply_seconds_sum{store="etcd"}'] > 0
        assert m['p4mob_store_conflicts_total{store="etcd"}'] == 0
        assert m["p4mob_ownership_changes_total"] == 1
        with grpc.insecure_channel(etcd.endpoint) as channel:
            rpc.KVStub(channel).DeleteRange(rpc.DeleteRangeRequest(key=b"/p4mob/election/lma-sw"), timeout=5)
        intruder = Election([etcd.endpoint], "lma-sw", "intruder", 2)
        asyncio.run(intruder.campaign())
        t = time.time()
        h.drain()
        h.send(frame(mh_bytes(pbu("mn1", 1), MAG1)))
        failed = h.wait_event("store_write_failed", since=t)
        assert "not the owner any more" in failed["error"]
        m = h.metrics()
        assert m['p4mob_store_conflicts_total{store="etcd"}'] >= 1
        assert m["p4mob_store_errors_total"] >= 1
        assert m['p4mob_store_apply_seconds_count{store="etcd"}'] >= 2  # the refused Txn timed too
    finally:
        h.close()
        etcd.stop()
