"""`p4mob lma run`: the LMA node (RFC 5213 §5) on a P4 switch.

Rule: adapter only. Punted MH frames -> mh decode -> `PbuReceived` ->
`LocalMobilityAnchor.handle`; actions -> entries (p4rt/entries.lma_changes),
PBA packet-outs routed by the pipeline. Each BCE is persisted as one
document ("bce", binding id) before its PBA leaves; a restart rebuilds the
core with `from_state` and reconciles the switch against it.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from ipaddress import IPv6Address
from typing import Any

from finsy import P4PacketOut

from p4mobility.binding.statejson import StateError
from p4mobility.mh import BindingUpdate
from p4mobility.p4rt.entries import BINDING_PROFILE, Change, lma_base_entries, lma_before, lma_changes
from p4mobility.p4rt.entry_set import EntrySet
from p4mobility.p4rt.member_pool import MemberPool
from p4mobility.p4rt.names import profile_size
from p4mobility.p4rt.names import LMA_PROFILES, LMA_SELECTORS, LMA_TABLES, PuntReason
from p4mobility.pmip import lma_persist
from p4mobility.pmip.actions import (BindingDeleted, HoldDownlink, ReleaseDownlink, SendIcmpParameterProblem, SendMh,
                                     TunnelPeerAdded)
from p4mobility.pmip.events import DownlinkPunted, MhUndecodable, OtherMhReceived, PbuReceived
from p4mobility.pmip.lma import LocalMobilityAnchor
from p4mobility.runtime.attach_buffer import AttachBuffer
from p4mobility.runtime.frames import (FrameError, MhUndecodableFrame, icmp_parameter_problem_frame, mh_frame,
                                      parse_mh_frame)
from p4mobility.runtime.items import PacketIn, QueueItem
from p4mobility.runtime.lma_switches import SwitchFleet
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.node import NodeRuntime, mh_fields
from p4mobility.runtime.nodeconfig import LmaNodeConfig
from p4mobility.runtime.show_tables import binding_table, peer_table
from p4mobility.runtime.stores import set_aside

MH_PUNTS = (PuntReason.MOBILITY_HEADER, PuntReason.MOBILITY_HEADER_DECRYPTED)


class LmaNode(NodeRuntime):
    role = "lma"
    tables = LMA_TABLES
    profiles = LMA_PROFILES
    selectors = LMA_SELECTORS

    def __init__(self, cfg: LmaNodeConfig, log: EventLog | None = None) -> None:
        super().__init__(cfg.node, log, cfg.ipsec)
        self.cfg = cfg
        self.fleet = SwitchFleet(cfg) if cfg.switches else None  # [[switches]] (docs/cluster.md)
        if self.fleet is None:
            # a member for every binding id up to the pool's top: one WriteRequest per batch
            # (the bindings' members and entries are made from the core, not stored: entry_set.py)
            size = profile_size(cfg.node.p4info, BINDING_PROFILE)
            self.entries = EntrySet(MemberPool(min(size or cfg.lma.max_bindings, cfg.lma.max_bindings - 1)),
                                    derived=self.binding_entries)
        # else: each switch holds only the bindings of its pools, stored per switch (lma_switches.py)
        self.core = LocalMobilityAnchor(cfg.lma, cfg.policy_store())
        self.buffer = AttachBuffer(max_frames=1024, max_age=cfg.lma.min_delay_before_bce_delete)
        self.buffered = 0
        self.last_now = 0.0

    def rollback_to_store(self) -> None:
        """After a failed write: the core as the store holds it (the batch is forgotten)."""
        docs = self.store.committed("bce") if self.store is not None else {}  # (etcd may be down)
        records = lma_persist.load_bindings(docs, self.cfg.lma.lma_address) if docs else []
        self.core = LocalMobilityAnchor.from_state(self.cfg.lma, self.cfg.policy_store(), records)

    def restore(self) -> Iterable[Change]:
        """Base entries, then the restored bindings' entries, made as they are planned
        (100,000 bindings: never all of them, nor the stored documents, at once)."""
        restored = self._restore_core()
        self.update_gauges()
        if self.fleet is not None:  # each switch its own base and its bindings
            return self.fleet.restore(self.ipsec_changes(), self.core.snapshot_actions() if restored else ())
        base = lma_base_entries(self.cfg.lma.lma_address, self.cfg.routes) + self.ipsec_changes()
        if not restored:
            return base
        return itertools.chain(base, (c for a in self.core.snapshot_actions() for c in lma_changes(a)))

    def _restore_core(self) -> int:
        """The core from the store; the number of bindings restored."""
        docs = self.store.load("bce") if self.store is not None else {}
        count = len(docs)
        if not docs:
            return 0
        try:
            records = lma_persist.load_bindings(docs, self.cfg.lma.lma_address)
            del docs
            self.core = LocalMobilityAnchor.from_state(self.cfg.lma, self.cfg.policy_store(), records)
        except (StateError, ValueError) as exc:  # refused: start empty, the documents set aside
            self.log.event("state_refused", error=str(exc)[:300], kept_as=set_aside(self.store, "bce"))
            self.core = LocalMobilityAnchor(self.cfg.lma, self.cfg.policy_store())
            return 0
        self.log.event("state_restored", bindings=count)
        return count

    def on_item(self, item: QueueItem, now: float) -> list:
        self.last_now = now
        if not isinstance(item, PacketIn):
            return []
        pkt = item.packet
        try:
            reason = pkt["punt_reason"]
        except KeyError:
            reason = None
        if reason == PuntReason.PUNT_RULE:  # downlink to a binding that does not forward
            frame = pkt.payload
            if len(frame) < 54:
                return []
            return self.core.handle(DownlinkPunted(IPv6Address(frame[38:54]), frame), now)
        if reason not in MH_PUNTS:
            self.log.event("punt_ignored", reason=reason)
            return []
        if self.clear_signaling_refused(pkt, reason):
            return []
        try:
            msg, src, dst = parse_mh_frame(pkt.payload)
        except MhUndecodableFrame as exc:  # RFC 6275 §9.2: the core decides (discard, or Binding Error)
            self.metrics.mh_discarded.inc()
            self.log.event("mh_undecodable", error=type(exc.error).__name__, detail=str(exc.error)[:200],
                           src=exc.src)
            return self.core.handle(MhUndecodable(exc.error, exc.src, exc.dst, exc.packet, exc.mh_offset,
                                                  in_esp=reason == PuntReason.MOBILITY_HEADER_DECRYPTED), now)
        except FrameError as exc:  # no MH found in the frame: silently discard
            self.metrics.mh_discarded.inc()
            self.log.event("mh_discarded", error=str(exc))
            return []
        if not isinstance(msg, BindingUpdate):
            self.log.event("mh_ignored", mh_type=int(msg.mh_type), src=src)
            return self.core.handle(OtherMhReceived(msg, src, dst), now)
        self.metrics.pbu_rx.inc()
        if self.fleet is not None:  # its PBA leaves through the switch it came in
            self.fleet.heard(src, item.via)
        self.log.debug("pbu_rx", src=src, **mh_fields(msg))
        return self.core.handle(PbuReceived(msg, src, dst), now)

    def packet_outs(self, action: Any) -> list[P4PacketOut]:
        if isinstance(action, HoldDownlink):
            if self.buffer.hold(action.binding_id, action.frame, self.last_now):
                self.buffered += 1
                self.log.debug("downlink_held", binding_id=action.binding_id)
            return []
        if isinstance(action, ReleaseDownlink):  # the binding forwards again
            held = self.buffer.release(action.binding_id, action.home_prefixes, self.last_now, by="dst")
            if held:
                self.log.event("downlink_buffer_flushed", binding_id=action.binding_id, frames=len(held))
            outs = [self.make_packet_out(f) for f in held]
            if self.fleet is not None and self.fleet.send_through_serving(self, action.home_prefixes, outs):
                return []  # the serving switch has the binding
            return outs
        if isinstance(action, BindingDeleted):
            self.buffer.forget(action.binding_id)
        return super().packet_outs(action)

    def core_timer(self, now: float) -> list:
        self.last_now = now
        return self.core.handle_timer(now)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    def changes_for(self, action: Any) -> list[Change]:
        if self.fleet is not None:
            return self.fleet.changes_for(action)
        return lma_before(action) + lma_changes(action)  # type: ignore[operator]

    def binding_entries(self) -> Iterator[Change]:
        """Every binding's member and entries, made from the core (reconcile, `entries`)."""
        for a in self.core.snapshot_actions():
            if not isinstance(a, TunnelPeerAdded):
                yield from lma_changes(a)

    async def apply_other_switches(self, actions: list) -> None:
        if self.fleet is not None:
            await self.fleet.apply(self, actions)

    def extra_tasks(self) -> list:
        return self.fleet.tasks(self, self.owner_election_id) if self.fleet is not None else []

    def persist(self, actions: list) -> None:
        changed = self.core.take_changes()
        if self.store is None or not changed:
            return
        puts = [("bce", str(bid), lma_persist.binding_to_json(v)) for bid, v in changed.items() if v is not None]
        deletes = [("bce", str(bid)) for bid, v in changed.items() if v is None]
        self.store.apply(puts, deletes)

    def packet_out(self, action: Any) -> P4PacketOut | None:
        if isinstance(action, SendMh):
            pkt = self.make_packet_out(mh_frame(action.message, action.src, action.dst))
            if self.fleet is not None and self.fleet.send_through_ingress(self, action.dst, pkt):
                return None
            return pkt
        if isinstance(action, SendIcmpParameterProblem):  # RFC 6275 §9.2, RFC 4443 §3.4
            a = action
            return self.make_packet_out(icmp_parameter_problem_frame(a.code, a.pointer, a.invoking, a.src, a.dst))
        return None

    def counter_indices(self) -> list[int]:
        return self.core.binding_ids()

    def core_counters(self) -> dict[str, int]:
        return self.core.counters

    def update_gauges(self) -> None:
        self.metrics.bindings.set(self.core.binding_count())  # O(1): this runs once per batch
        self.metrics.tunnel_peers.set(self.core.tunnel_peer_count())

    def show(self, what: str) -> dict:
        if what == "bindings":
            table = binding_table(self.core.bindings(), time.time())
            if self.fleet is not None:
                table = self.fleet.with_switch_column(table, self.core.bindings())
            return {"ok": True, **table}
        if what == "switches" and self.fleet is not None:
            return self.fleet.show(self)
        if what == "peers":
            return {"ok": True, **peer_table(self.core.tunnel_peers())}
        return {"ok": False, "error": f"unknown: {what}"}


__all__ = ["LmaNode"]
