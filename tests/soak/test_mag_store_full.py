"""The MAG node when its state file cannot be written (issue 14, disk full): the BUL is
persisted before the PBU leaves (docs/soak.md), so a refused write means no PBU, no entries
for that batch; the MN's inputs are handled again until the store takes them, then the MN is
served. Runs the node's own worker loop (no switch: packet-outs are held, entries planned)."""
from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

from scapy.layers.inet6 import ICMPv6ND_RS, IPv6
from scapy.layers.l2 import Ether

from p4mobility.lab import topology as T
from p4mobility.mh import BindingUpdate
from p4mobility.p4rt.names import PuntReason
from p4mobility.runtime import node as node_mod
from p4mobility.runtime.frames import parse_mh_frame
from p4mobility.runtime.items import PacketIn
from p4mobility.runtime.logs import EventLog, read_events
from p4mobility.runtime.mag_node import MagNode
from p4mobility.runtime.nodeconfig import mag_from_dict

from .store_full import fill_store, free_store
from .test_lma_store_full import Punted

POLL = 0.01
BOUND = 3000  # polls (30 s): a bound against a hang, not a timing assertion


def _mag(tmp_path: Path) -> MagNode:
    (tmp_path / "p.txtpb").write_text("")
    (tmp_path / "p.json").write_text("{}")
    settings = {"name": "mag1", "switch_address": "127.0.0.1:1", "p4info": str(tmp_path / "p.txtpb"),
                "p4blob": str(tmp_path / "p.json"), "control_socket": str(tmp_path / "mag1.sock"),
                "state_db": str(tmp_path / "mag1.db")}
    cfg = mag_from_dict(tomllib.loads(T.to_toml(T.mag_config("mag1", settings, T.LabOptions(ipsec=False)))))
    node = MagNode(cfg, EventLog("mag1", open(tmp_path / "mag1.log", "w")))
    node.entries.plan(node.restore())
    return node


def _rs() -> PacketIn:
    rs = Ether(src=T.MN_MAC, dst="33:33:00:00:00:02") / IPv6(src="fe80::ff:fe00:aa01", dst="ff02::2", hlim=255) \
        / ICMPv6ND_RS()
    return PacketIn(Punted(bytes(rs), punt_reason=PuntReason.PUNT_RULE, ingress_port=1))


async def _until(cond) -> None:
    for _ in range(BOUND):
        if cond():
            return
        await asyncio.sleep(POLL)
    raise AssertionError("condition never met")


def _pbus(outs) -> list[BindingUpdate]:
    msgs = []
    for p in outs:
        try:
            msg = parse_mh_frame(p.payload)[0]
        except Exception:  # noqa: BLE001 - an RA, not an MH
            continue
        if isinstance(msg, BindingUpdate):
            msgs.append(msg)
    return msgs


def test_full_disk_sends_no_pbu_and_the_mn_is_served_once_space_returns(tmp_path, monkeypatch):
    monkeypatch.setattr(node_mod, "STORE_RETRY", POLL)
    node = _mag(tmp_path)
    entries_before = len(node.entries)
    fill_store(node.store)

    async def run() -> list:
        worker = asyncio.create_task(node._worker())
        try:
            node.queue.put_nowait(_rs())
            await _until(lambda: node.metrics.store_errors._value.get() >= 3)  # retried, still full
            assert node.outbox.take_held() == []  # no PBU for a BUL entry that is not durable
            assert not node.core.binding_update_list()
            assert node.store.load("mag_bul") == {} and len(node.entries) == entries_before
            free_store(node.store)  # space is back: the RS is handled again and persisted
            await _until(lambda: node.store.load("mag_bul"))
            return node.outbox.take_held()
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    held = asyncio.run(run())
    (pbu,) = _pbus(held)
    assert pbu.lifetime_seconds > 0
    (entry,) = node.core.binding_update_list()
    assert entry.awaiting_pba and entry.last_sequence == pbu.sequence
    events = [e["event"] for e in read_events(str(tmp_path / "mag1.log"))]
    assert events.count("store_write_failed") == 1 and events.count("store_recovered") == 1
    assert events.count("rs_rx") == 1  # the retries' lines are not written again
    assert events.count("pbu_tx") == 1
