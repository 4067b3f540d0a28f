"""`p4mob ha run`: the MIPv6 / DSMIPv6 home agent (RFC 6275 §10, RFC 5555, RFC 5648) on a P4 switch.

Rule: adapter only, no protocol rules. A punted Mobility Header
(ha_frames.parse_punted) becomes a core event: a BU -> `BuReceived` with
``protected_by`` = the home address the inbound SA that decrypted it is bound
to (ha_sas.py, by the packet_in's sa_index; RFC 3776 §4.1) or None when it came
without ESP (the core discards it; counted and logged here too), and
``outer_v4`` = the outer IPv4 source and UDP source port of a UDP-4191
wrapper as the switch recorded them, the wrapper the crypto path kept as
received around the decrypted packet (draft-laganier req. 4); an MH that does
not decode -> `MhUndecodable`. Actions: the binding and tunnel-peer ones ->
entries (p4rt/entries.lma_changes, as for the LMA); BA/BRR -> a clear frame
along the core's route (ha_frames.signalling_frame) sent through the
pipeline, where the switch's SPD hands it to the crypto path (the node never
encrypts: the crypto path alone owns each SA's sequence numbers) and routes
the result; a Binding Error or an ICMPv6 Parameter Problem (RFC 6275 §9.2; the
core decides when, from the packet as punted) -> a plain IPv6 frame. A Mobile Prefix
Solicitation the crypto path decrypted (punt reason
PREFIX_SOLICITATION_DECRYPTED) -> `MobilePrefixSolicitationReceived` framed
the same way; the advertisement the core answers with -> ICMPv6 147 along its
route, through the pipeline, where the SPD selects it by its ICMP type
(RFC 3776 §5.2.3). Inbound SAs carrying tunnelled signalling (HoTI, RFC 3776
§5.2.2) are written `to_crypto_port_from_coa` with their home address, so the
switch takes them only from a care-of address of its binding. Every changed binding is
persisted (one "ha_binding" document per binding id, ha_persist) before the
batch's entries and BAs go out; a restart rebuilds the core with
`HomeAgent.from_state` and reconciles the switch against it.
"""
from __future__ import annotations

import time
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from finsy import P4PacketOut

from p4mobility.binding.actions import SendMh
from p4mobility.binding.statejson import StateError
from p4mobility.ha import (
    BuReceived,
    HomeAgent,
    MhUndecodable,
    MobilePrefixSolicitationReceived,
    SendBindingAck,
    SendBindingRefreshRequest,
    SendIcmpParameterProblem,
    SendMobilePrefixAdvertisement,
    ha_persist,
)
from p4mobility.mh import BindingUpdate
from p4mobility.p4rt.entries import Change, lma_base_entries, lma_changes
from p4mobility.p4rt.ipsec_entries import ipsec_entries
from p4mobility.p4rt.names import LMA_PROFILES, LMA_SELECTORS, LMA_TABLES, PuntReason
from p4mobility.runtime.frames import FrameError, icmp_parameter_problem_frame, mh_frame
from p4mobility.runtime.ha_frames import (
    PuntedMh,
    parse_punted,
    parse_punted_solicitation,
    prefix_advertisement_frame,
    signalling_frame,
)
from p4mobility.runtime.ha_sas import sa_home_addresses, tunnelled_signalling_sas
from p4mobility.runtime.haconfig import HaNodeConfig
from p4mobility.runtime.items import PacketIn, QueueItem
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.node import NodeRuntime, mh_fields
from p4mobility.runtime.show_tables import home_binding_table, home_peer_table
from p4mobility.runtime.stores import set_aside

KIND = "ha_binding"  # store documents: one per binding id
CLEAR_PUNTS = (PuntReason.MOBILITY_HEADER, PuntReason.MOBILITY_HEADER_UDP)


class HaNode(NodeRuntime):
    role = "ha"
    tables = LMA_TABLES
    profiles = LMA_PROFILES
    selectors = LMA_SELECTORS

    def __init__(self, cfg: HaNodeConfig, log: EventLog | None = None) -> None:
        super().__init__(cfg.node, log, cfg.ipsec)
        self.cfg = cfg
        self.core = HomeAgent(cfg.home_agent)
        self.sa_hoa: dict[int, IPv6Address] = (
            sa_home_addresses(self.node_ipsec.sad, cfg.ipsec.config.spd) if self.node_ipsec and cfg.ipsec else {})

    # --- state -------------------------------------------------------------------------------
    def restore(self) -> list[Change]:
        ha = self.cfg.home_agent
        changes = lma_base_entries(ha.ha_address, self.cfg.routes)
        if ha.ha_address_v4 is not None:  # the IPv4 endpoint (RFC 5555 §4.1), keyed IPv4-mapped
            changes += lma_base_entries(IPv6Address(f"::ffff:{ha.ha_address_v4}"), ())
        changes += self.ipsec_changes()
        if self.store is not None and self.store.load(KIND):
            try:
                self.rollback_to_store()
            except (StateError, ValueError) as exc:  # refused: start empty, the documents set aside
                self.log.event("state_refused", error=str(exc)[:300], kept_as=set_aside(self.store, KIND))
                self.core = HomeAgent(ha)
            else:
                for a in self.core.snapshot_actions():
                    changes += lma_changes(a)
                self.log.event("state_restored", bindings=self.core.binding_count())
        self.update_gauges()
        return changes

    def rollback_to_store(self) -> None:
        """The core as the store holds it (at start, and after a failed write: no BA went)."""
        ha = self.cfg.home_agent
        docs = self.store.committed(KIND) if self.store is not None else {}  # (etcd may be down)
        self.core = HomeAgent.from_state(ha, ha_persist.load_bindings(docs, ha), time.time())

    def persist(self, actions: list) -> None:
        changed = self.core.take_changes()  # O(changes): never the whole binding cache per batch
        if self.store is None or not changed:
            return
        puts = [(KIND, str(i), ha_persist.binding_to_json(v)) for i, v in changed.items() if v is not None]
        deletes = [(KIND, str(i)) for i, v in changed.items() if v is None]
        self.store.apply(puts, deletes)

    def ipsec_changes(self) -> list[Change]:
        """esp_sas / outbound_policies; tunnelled-signalling SAs checked against the CoAs."""
        if self.node_ipsec is None or self.cfg.ipsec is None:
            return []
        spd = self.cfg.ipsec.config.spd
        return ipsec_entries(self.node_ipsec.sad, spd, tunnelled_signalling_sas(self.node_ipsec.sad, spd))

    # --- input -------------------------------------------------------------------------------
    def on_item(self, item: QueueItem, now: float) -> list:
        if not isinstance(item, PacketIn):
            return []
        pkt = item.packet
        reason = _meta(pkt, "punt_reason")
        if reason == PuntReason.PREFIX_SOLICITATION_DECRYPTED:
            return self._solicitation(pkt, now)
        if reason != PuntReason.MOBILITY_HEADER_DECRYPTED and reason not in CLEAR_PUNTS:
            self.log.event("punt_ignored", reason=reason)
            return []
        try:
            punted = parse_punted(pkt.payload)
        except FrameError as exc:  # RFC 6275 §9.2: silently discard
            self.metrics.mh_discarded.inc()
            self.log.event("mh_discarded", error=str(exc)[:200], punt_reason=int(reason))
            return []
        if punted.undecodable:
            self.metrics.mh_discarded.inc()
            self.log.event("mh_undecodable", error=type(punted.message).__name__, detail=str(punted.message)[:200],
                           src=punted.src)
            return self.core.handle(MhUndecodable(
                punted.message, punted.src, punted.dst, punted.home_address_option, punted.packet, punted.mh_offset,
                in_esp=reason == PuntReason.MOBILITY_HEADER_DECRYPTED, outer_v4=_outer_v4(pkt, punted)), now)
        msg = punted.message
        if not isinstance(msg, BindingUpdate):
            self.log.event("mh_ignored", mh_type=int(msg.mh_type), src=punted.src)
            return []
        protected_by = None
        if reason == PuntReason.MOBILITY_HEADER_DECRYPTED:
            sa_index = _meta(pkt, "sa_index")
            protected_by = self.sa_hoa.get(sa_index)
            if protected_by is None:
                self.log.event("sa_unbound", sa_index=sa_index, src=punted.src)
        else:  # RFC 3776 §4.1: a BU must come in ESP; the core discards it, we count it
            self.metrics.mh_unprotected.inc()
            self.log.event("mh_unprotected", src=punted.src, punt_reason=int(reason))
        outer = _outer_v4(pkt, punted)
        self.metrics.pbu_rx.inc()
        self.log.debug("bu_rx", src=punted.src, home_address=punted.home_address_option or punted.src,
                       protected_by=protected_by, outer=None if outer is None else f"{outer[0]}:{outer[1]}",
                       **mh_fields(msg))
        return self.core.handle(BuReceived(msg, punted.src, punted.dst, punted.home_address_option,
                                           protected_by, outer), now)

    def _solicitation(self, pkt: Any, now: float) -> list:
        """RFC 6275 §10.6.2, RFC 3776 §5.2.3: an MPS the crypto path decrypted -> the core."""
        try:
            punted = parse_punted_solicitation(pkt.payload)
        except FrameError as exc:
            self.metrics.mh_discarded.inc()
            self.log.event("mps_discarded", error=str(exc)[:200])
            return []
        sa_index = _meta(pkt, "sa_index")
        protected_by = self.sa_hoa.get(sa_index)
        if protected_by is None:
            self.log.event("sa_unbound", sa_index=sa_index, src=punted.src)
        outer = _outer_v4(pkt, punted)
        self.log.event("mps_rx", src=punted.src, home_address=punted.home_address_option or punted.src,
                       protected_by=protected_by, outer=None if outer is None else f"{outer[0]}:{outer[1]}",
                       identifier=punted.message.identifier)
        return self.core.handle(MobilePrefixSolicitationReceived(
            punted.message.identifier, punted.src, punted.dst, punted.home_address_option, protected_by, outer), now)

    def core_timer(self, now: float) -> list:
        return self.core.handle_timer(now)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    # --- output ------------------------------------------------------------------------------
    def changes_for(self, action: Any) -> list[Change]:
        return lma_changes(action)

    def packet_outs(self, action: Any) -> list[P4PacketOut]:
        if isinstance(action, (SendBindingAck, SendBindingRefreshRequest)):
            return [self.make_packet_out(signalling_frame(action.message, action.route))]
        if isinstance(action, SendMh):  # RFC 6275 §9.3.3: a Binding Error, plain IPv6, no ESP
            return [self.make_packet_out(mh_frame(action.message, action.src, action.dst))]
        if isinstance(action, SendIcmpParameterProblem):  # RFC 6275 §9.2, RFC 4443 §3.4: plain IPv6
            a = action
            return [self.make_packet_out(icmp_parameter_problem_frame(a.code, a.pointer, a.invoking, a.src, a.dst))]
        if isinstance(action, SendMobilePrefixAdvertisement):  # RFC 6275 §10.6.2
            return [self.make_packet_out(prefix_advertisement_frame(action))]
        return []

    def core_counters(self) -> dict[str, int]:
        return self.core.counters

    def counter_indices(self) -> list[int]:
        return [v.binding_id for v in self.core.bindings()]

    def update_gauges(self) -> None:
        self.metrics.bindings.set(self.core.binding_count())
        self.metrics.tunnel_peers.set(self.core.tunnel_peer_count())

    def show(self, what: str) -> dict:
        if what == "bindings":
            return {"ok": True, **home_binding_table(self.core.bindings(), time.time())}
        if what == "peers":
            return {"ok": True, **home_peer_table(self.core.tunnel_peers())}
        return {"ok": False, "error": f"unknown: {what}"}


def _meta(pkt: Any, name: str) -> int | None:
    try:
        return pkt[name]
    except KeyError:
        return None


def _outer_v4(pkt: Any, punted: PuntedMh) -> Any:
    """The UDP-4191 wrapper's (IPv4 source, UDP source port): the switch's packet_in fields,
    else the wrapper in the frame (the same bytes, kept by the crypto path as received)."""
    if punted.outer_v4 is None:
        return None
    src, port = _meta(pkt, "outer_ipv4_src"), _meta(pkt, "udp_src_port")
    if src and port:
        return IPv4Address(src), int(port)
    return punted.outer_v4


__all__ = ["HaNode"]
