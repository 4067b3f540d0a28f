"""The LMA node with its bindings in etcd ([store] kind = "etcd", docs/cluster.md), on the wire.

One LMA node alone on a real switch (lma_alone.py), a real etcd started by the test in a
temp dir (tests/etcd_server.py; skipped when etcd is absent). kill -9 of the node: the
restarted node rebuilds its bindings from etcd and its reconcile changes nothing on the
switch. etcd killed: a new registration gets no PBA (nothing is acknowledged that is not
durable; the MAG retransmits, RFC 5213 §6.9.4), the node says why in a log line and its
status, the switch keeps every entry, and the retransmission is accepted once etcd is back.
"""
from __future__ import annotations

import signal
import time
from ipaddress import IPv6Network
from pathlib import Path

import pytest

from p4mobility.lab.lab import lab_unavailable
from p4mobility.mh import HomeNetworkPrefix
from p4mobility.runtime.store_etcd import EtcdBindingStore
from tests.dataplane.targets import find_binary, selected_targets
from tests.etcd_server import EtcdServer

from .lma_alone import MAG1, LmaAlone, frame, mh_bytes, pbu

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]
NO_ANSWER_WINDOW = 1.0  # s: how long a refused PBU is watched for an answer after its log line


@pytest.fixture
def lma(tmp_path):
    etcd = EtcdServer(tmp_path)  # skips when etcd is absent
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
    h = None
    try:
        h = LmaAlone(target, binary, out, store={"kind": "etcd", "endpoints": [etcd.endpoint], "timeout": 2.0})
        h.etcd = etcd
        yield h
    finally:
        if h is not None:
            h.close()
        etcd.stop()


def hnp(pba) -> IPv6Network:
    return IPv6Network((pba.option(HomeNetworkPrefix).prefix, 64))


def in_etcd(h: LmaAlone) -> dict[str, set[str]]:
    """{MN-ID: HNPs} as etcd holds the node's bindings, read by a store of the test's own."""
    docs = EtcdBindingStore([h.etcd.endpoint], "/p4mob/lma").load("bce")
    return {bytes.fromhex(d["mn_id"]).decode(): set(d["hnps"]) for d in docs.values()}


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
