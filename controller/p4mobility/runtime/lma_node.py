"""`p4mob lma run`: the LMA node (RFC 5213 §5) on a P4 switch.

Rule: adapter only. Punted MH frames -> mh decode -> `PbuReceived` ->
`LocalMobilityAnchor.handle`; actions -> entries (p4rt/entries.lma_changes),
PBA packet-outs routed by the pipeline. Each BCE is persisted as one
document ("bce", binding id) before its PBA leaves; a restart rebuilds the
core with `from_state` and reconciles the switch against it.
"""
from __future__ import annotations

import time
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from finsy import P4PacketOut

from p4mobility.mh import BindingUpdate
from p4mobility.p4rt.entries import Change, lma_base_entries, lma_changes
from p4mobility.p4rt.names import LMA_TABLES, PuntReason
from p4mobility.pmip.actions import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    SendMh,
)
from p4mobility.pmip.events import PbuReceived
from p4mobility.pmip.lma import LocalMobilityAnchor
from p4mobility.runtime.attach_buffer import AttachBuffer
from p4mobility.runtime.frames import FrameError, mh_frame, parse_mh_frame
from p4mobility.runtime.items import PacketIn, QueueItem
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.node import NodeRuntime, mh_fields
from p4mobility.runtime.nodeconfig import LmaNodeConfig

MH_PUNTS = (PuntReason.MOBILITY_HEADER, PuntReason.MOBILITY_HEADER_DECRYPTED)
BCE_ACTIONS = (BindingCreated, BindingUpdated, BindingMoved, BindingDeregistered, BindingDeleted)


class LmaNode(NodeRuntime):
    role = "lma"
    tables = LMA_TABLES

    def __init__(self, cfg: LmaNodeConfig, log: EventLog | None = None) -> None:
        super().__init__(cfg.node, log, cfg.ipsec)
        self.cfg = cfg
        self.core = LocalMobilityAnchor(cfg.lma, cfg.policy_store())
        self.buffer = AttachBuffer(max_frames=1024, max_age=cfg.lma.min_delay_before_bce_delete)
        self.buffered = 0
        self.last_now = 0.0

    def restore(self) -> list[Change]:
        changes = lma_base_entries(self.cfg.lma.lma_address, self.cfg.routes) + self.ipsec_changes()
        docs = self.store.load("bce") if self.store is not None else {}
        if docs:
            self.core = LocalMobilityAnchor.from_state(self.cfg.lma, self.cfg.policy_store(),
                                                       {"version": 1, "bindings": docs})
            for a in self.core.snapshot_actions():
                changes += lma_changes(a)
            self.log.event("state_restored", bindings=len(docs))
        self.update_gauges()
        return changes

    def on_item(self, item: QueueItem, now: float) -> list:
        self.last_now = now
        if not isinstance(item, PacketIn):
            return []
        pkt = item.packet
        try:
            reason = pkt["punt_reason"]
        except KeyError:
            reason = None
        if reason == PuntReason.PUNT_RULE:  # downlink to a de-registering binding: hold it
            self._hold_downlink(pkt.payload, now)
            return []
        if reason not in MH_PUNTS:
            self.log.event("punt_ignored", reason=reason)
            return []
        if self.clear_signaling_refused(pkt, reason):
            return []
        try:
            msg, src, dst = parse_mh_frame(pkt.payload)
        except FrameError as exc:  # RFC 6275 §9.2: silently discard
            self.metrics.mh_discarded.inc()
            self.log.event("mh_discarded", error=str(exc))
            return []
        if not isinstance(msg, BindingUpdate):
            self.log.event("mh_ignored", mh_type=int(msg.mh_type), src=src)
            return []
        self.metrics.pbu_rx.inc()
        self.log.event("pbu_rx", src=src, **mh_fields(msg))
        return self.core.handle(PbuReceived(msg, src, dst), now)

    def _hold_downlink(self, frame: bytes, now: float) -> None:
        if len(frame) < 54:
            return
        dst = IPv6Address(frame[38:54])
        bce = self.core.cache.for_prefix(IPv6Network((frame[38:46] + bytes(8), 64)))  # the usual /64 HNP
        if bce is None:
            bce = next((b for b in self.core.cache if any(dst in n for n in b.hnps)), None)
        if bce is None or not self.buffer.hold(bce.binding_id, frame, now):
            return
        self.buffered += 1
        if bce.state.value != "deregistering":  # punted before the binding forwarded again
            held = self.buffer.release(bce.binding_id, bce.hnps, now, by="dst")
            if self.switch is not None and held:
                self.send_soon([self.make_packet_out(f) for f in held])

    def packet_outs(self, action: Any) -> list[P4PacketOut]:
        if isinstance(action, (BindingMoved, BindingUpdated)):  # the binding forwards again
            held = self.buffer.release(action.binding_id, action.hnps, self.last_now, by="dst")
            if held:
                self.log.event("downlink_buffer_flushed", binding_id=action.binding_id, mn_id=action.mn_id,
                               frames=len(held))
            return [self.make_packet_out(f) for f in held]
        if isinstance(action, BindingDeleted):
            self.buffer.forget(action.binding_id)
        return super().packet_outs(action)

    def core_timer(self, now: float) -> list:
        self.last_now = now
        return self.core.handle_timer(now)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    def changes_for(self, action: Any) -> list[Change]:
        return lma_changes(action)

    def persist(self, actions: list) -> None:
        if self.store is None:
            return
        puts, deletes = [], []
        for bid in {a.binding_id for a in actions if isinstance(a, BCE_ACTIONS)}:
            bce = self.core.cache.by_id.get(bid)
            if bce is None:
                deletes.append(("bce", str(bid)))
            else:
                puts.append(("bce", str(bid), bce.to_dict()))
        if puts or deletes:
            self.store.apply(puts, deletes)

    def packet_out(self, action: Any) -> P4PacketOut | None:
        if isinstance(action, SendMh):
            return self.make_packet_out(mh_frame(action.message, action.src, action.dst))
        return None

    def counter_indices(self) -> list[int]:
        return sorted(self.core.cache.by_id)

    def update_gauges(self) -> None:
        self.metrics.bindings.set(len(self.core.cache.by_id))
        self.metrics.tunnel_peers.set(len(self.core.cache.peers))

    def show(self, what: str) -> dict:
        now = time.time()
        if what == "bindings":
            rows = [[b.binding_id, b.mn_id.decode("utf-8", "replace"), ",".join(map(str, b.hnps)),
                     str(b.proxy_coa), b.tunnel_peer_id, b.state, int(b.lifetime),
                     round(max(0.0, (b.delete_at or b.expires_at) - now), 1)]
                    for b in sorted(self.core.bindings(), key=lambda v: v.binding_id)]
            return {"ok": True, "columns": ["id", "mn_id", "hnp", "proxy_coa", "peer", "state", "lifetime",
                                            "expires_in"], "rows": rows}
        if what == "peers":
            rows = [[pid, str(addr), n] for addr, (pid, n) in sorted(self.core.tunnel_peers().items(),
                                                                     key=lambda kv: kv[1][0])]
            return {"ok": True, "columns": ["peer", "proxy_coa", "bindings"], "rows": rows}
        return {"ok": False, "error": f"unknown: {what}"}


__all__ = ["LmaNode"]
