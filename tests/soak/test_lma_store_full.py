"""The LMA node when its state file cannot be written (disk full), found by the soak (issue 14):
sqlite3.OperationalError went through the worker and the node exited. Now the batch is not
acknowledged (no PBA, no entries), the core goes back to what the store holds, the node logs
`store_write_failed` once, and the MAG's retransmission succeeds once space returns."""
from __future__ import annotations

import asyncio
import time
import tomllib
from pathlib import Path

from p4mobility.lab import topology as T
from p4mobility.p4rt.names import PuntReason
from p4mobility.runtime import node as node_mod
from p4mobility.runtime.items import PacketIn
from p4mobility.runtime.lma_node import LmaNode
from p4mobility.runtime.logs import EventLog, read_events
from p4mobility.runtime.nodeconfig import lma_from_dict
from p4mobility.soak.wire import pbu, pbu_frame

from .store_full import fill_store, free_store

T0 = time.time()


class Punted:
    def __init__(self, payload: bytes, **meta):
        self.payload, self.meta = payload, meta

    def __getitem__(self, key):
        return self.meta[key]


def _node(tmp_path: Path) -> LmaNode:
    (tmp_path / "p.txtpb").write_text("")
    (tmp_path / "p.json").write_text("{}")
    settings = {"name": "lma", "switch_address": "127.0.0.1:1", "p4info": str(tmp_path / "p.txtpb"),
                "p4blob": str(tmp_path / "p.json"), "control_socket": str(tmp_path / "lma.sock"),
                "state_db": str(tmp_path / "lma.db")}
    opts = T.LabOptions(ipsec=False)
    cfg = lma_from_dict(tomllib.loads(T.to_toml(T.lma_config(settings, opts))))
    node = LmaNode(cfg, EventLog("lma", open(tmp_path / "lma.log", "w")))
    node.entries.plan(node.restore())
    return node


def _fill(node: LmaNode) -> None:
    fill_store(node.store)


def _pbu_in(seq: int, now: float) -> PacketIn:
    frame = pbu_frame(pbu(T.MN_ID.encode(), seq, 1 if seq == 1 else 5, 100, now=now), T.MAG_COA["mag1"], T.LMA_ADDRESS,
                      "02:00:00:0f:00:01", "02:00:00:01:00:02")
    return PacketIn(Punted(frame, punt_reason=PuntReason.MOBILITY_HEADER, ingress_port=1))


def test_full_disk_acknowledges_nothing_and_recovers(tmp_path, monkeypatch):
    monkeypatch.setattr(node_mod, "STORE_RETRY", 0.0)
    node = _node(tmp_path)
    entries_before = len(node.entries)
    _fill(node)

    asyncio.run(node.apply(node.on_item(_pbu_in(1, T0 + 0), T0 + 0)))  # no exception: the node goes on
    assert node.outbox.take_held() == []  # no PBA promises state the store does not have
    assert node.core.binding_ids() == [] and node.store.load("bce") == {}
    assert len(node.entries) == entries_before
    asyncio.run(node.apply(node.on_item(_pbu_in(2, T0 + 1), T0 + 1)))  # the MAG retransmits: still full
    events = [e["event"] for e in read_events(str(tmp_path / "lma.log"))]
    assert events.count("store_write_failed") == 1 and node.metrics.store_errors._value.get() == 2

    free_store(node.store)  # space is back
    asyncio.run(node.apply(node.on_item(_pbu_in(3, T0 + 2), T0 + 2)))
    assert len(node.outbox.take_held()) == 1  # the PBA (held: no switch in this test)
    assert len(node.core.binding_ids()) == 1 and len(node.store.load("bce")) == 1
    assert len(node.entries) > entries_before
    assert "store_recovered" in [e["event"] for e in read_events(str(tmp_path / "lma.log"))]


def test_rollback_keeps_what_the_store_had(tmp_path, monkeypatch):
    monkeypatch.setattr(node_mod, "STORE_RETRY", 0.0)
    node = _node(tmp_path)
    asyncio.run(node.apply(node.on_item(_pbu_in(1, T0 + 0), T0 + 0)))
    (kept,) = node.core.bindings()
    _fill(node)
    # a refresh rewrites the document; with no page to spare it fails, and the core is
    # what the store holds (the registration), not the refresh
    asyncio.run(node.apply(node.on_item(_pbu_in(2, T0 + 10), T0 + 10)))
    (now,) = node.core.bindings()
    stored = node.store.load("bce")[str(now.binding_id)]
    assert stored["refreshed_at"] == now.refreshed_at == kept.refreshed_at
    assert now.home_prefixes == kept.home_prefixes and now.sequence == kept.sequence == 1
