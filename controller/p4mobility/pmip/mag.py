"""PMIPv6 mobile access gateway core (RFC 5213 §6), sans-I/O.

Rule: attach -> PBU (§6.9.1.5: A and P flags; MN-ID, HNP (ALL_ZERO unless
the profile fixes prefixes), HI, ATT, MN-LL-ID if known, Link-local Address,
Timestamp) -> retransmit on no answer, first after
InitialBindackTimeoutFirstReg (INITIAL_BINDACK_TIMEOUT for re- and
de-registrations), doubling up to MAX_BINDACK_TIMEOUT, at most
``max_pbu_retransmissions`` times, never more than MAX_UPDATE_RATE PBUs per
second per MN, across its attachments (§6.9.4) -> accepted PBA: program forwarding, then send the RA
with the HNPs (never before, §6.9.1.2) and re-register (HI=5) at
``refresh_fraction`` of the granted lifetime; detach -> remove forwarding and
send a lifetime-0 PBU (§6.9.1.4). A PBA is taken only if its Sequence Number
is the one last sent for that MN, its MN-ID matches, and its Timestamp echoes
ours. Status 156 resynchronises our clock offset from the LMA's Timestamp and
retries; 135 resynchronises the Sequence Number; any other rejection stops
serving the MN (§6.9.1.2). An RS or a frame from an identified MN on a port
that does not serve it is its attachment (§6.9.1.1, HI=4), and so is the port's
link coming up when the access network names its MN (AccessLinkUp); an entry still
de-registering does not hold its port. Frames seen before forwarding exists
are held (HoldUplink) and released into the tunnel once it does.
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any, Callable, Iterable, Mapping

from p4mobility.binding import DeadlineHeap, TunnelEndpoints, TunnelPeerTable, seq_next
from p4mobility.binding.lifetime import request_units
from p4mobility.binding.ratelimit import UpdateRateLimiter
from p4mobility.mh import (
    BaStatus,
    BindingAck,
    BindingUpdate,
    HandoffIndicator,
    LinkLocalAddress,
    MnIdentifier,
    Timestamp,
)

from .actions import (
    Action,
    HoldUplink,
    LogEvent,
    MagBindingInstalled,
    MagBindingRemoved,
    ReleaseUplink,
    SendMh,
    SendRouterAdvertisement,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from .bul import BulEntry, BulEvent, BulState, bul_next
from .config import ALL_ZERO, MagConfig
from .events import (
    AccessLinkUp,
    MagEvent,
    MnAttached,
    MnDetached,
    MnTrafficSeen,
    PbaReceived,
    RouterSolicitationReceived,
)
from .mag_messages import accepted_prefixes, build_pbu, pba_problem, router_advertisement
from .policy import MagMnProfile
from .mag_records import EXPIRE, REFRESH, RETRANSMIT, SEND, TIMER_KINDS, MagRecords

class MobileAccessGateway(MagRecords):
    def __init__(self, config: MagConfig,
                 profiles: Iterable[MagMnProfile] | Mapping[bytes, MagMnProfile] = ()) -> None:
        self.config = config
        if isinstance(profiles, Mapping):
            profiles = profiles.values()
        self.profiles: dict[bytes, MagMnProfile] = {p.mn_id: p for p in profiles}
        self.clock_offset = 0.0  # added to now for Timestamps (resync on 156)
        self._bul: dict[int, BulEntry] = {}
        self._by_seq: dict[int, int] = {}  # last sent Sequence Number -> access port
        self._seq = 0
        self._rate = UpdateRateLimiter(config.max_update_rate)  # per MN, across its attachments
        self._timers = DeadlineHeap()
        self._peers = TunnelPeerTable(1 << 16)  # one tunnel per LMA (RFC 5213 §6.10.4)
        self._touched: set[int] = set()  # access ports whose entry changed since take_changes()
        self._handlers: dict[type, Callable[[Any, float], list[Action]]] = {
            MnAttached: self._on_attach, MnDetached: self._on_detach, PbaReceived: self._on_pba,
            RouterSolicitationReceived: self._on_rs, MnTrafficSeen: self._on_traffic,
            AccessLinkUp: self._on_link_up,
        }
        self._status_handlers: dict[int, Callable[[BulEntry, BindingAck, float], list]] = {
            BaStatus.TIMESTAMP_MISMATCH: self._pba_timestamp_mismatch,
            BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW: self._pba_sequence_out_of_window,
        }
        self._timer_handlers: dict[str, Callable[[BulEntry, float], list]] = {
            RETRANSMIT: self._on_retransmit, REFRESH: self._on_refresh_due,
            EXPIRE: self._on_expire, SEND: self._on_deferred_send,
        }

    # --- public interface ------------------------------------------------------

    def handle(self, event: MagEvent, now: float) -> list[Action]:
        handler = self._handlers.get(type(event))
        if handler is None:
            return [LogEvent("warning", f"MAG ignores {type(event).__name__}")]
        port = getattr(event, "access_port", None)
        if port is not None:
            self._touched.add(port)
        return handler(event, now)

    def handle_timer(self, now: float) -> list[Action]:
        actions: list[Action] = []
        # an entry whose lifetime is over is gone (§6.9.1.3 refreshes come before expiry):
        # when both are due at once (a restored state, a stalled process) expiry goes first
        for kind, port in sorted(self._timers.pop_due(now), key=lambda kp: kp[0] != EXPIRE):
            self._touched.add(port)
            entry = self._bul.get(port)
            if entry is not None:
                actions += self._timer_handlers[kind](entry, now)
        return actions

    def next_deadline(self) -> float | None:
        return self._timers.peek()

    # --- access-link events ------------------------------------------------------

    def _on_attach(self, ev: MnAttached, now: float) -> list[Action]:
        profile = self.profiles.get(ev.mn_id)
        if profile is None:  # §6.2: no profile -> not served
            return [LogEvent("warning", "MN has no policy profile: not served", {"mn_id": ev.mn_id})]
        actions: list[Action] = []
        old = self._bul.get(ev.access_port)
        if old is not None:
            if old.mn_id == ev.mn_id and old.state in (BulState.BOUND, BulState.REFRESHING):
                return [self._ra(old, now)]  # already served: repeat the RA
            actions += self._drop(old, "replaced")
        entry = BulEntry(
            access_port=ev.access_port, mn_id=ev.mn_id, mn_ll_id=ev.mn_ll_id,
            att=profile.att if profile.att is not None else ev.att,
            lma_address=profile.lma_address or self.config.lma_address,
            requested_hnps=profile.hnps,
            requested_lifetime=profile.lifetime or self.config.requested_lifetime,
            handoff_indicator=ev.handoff_hint,
        )
        self._bul[ev.access_port] = entry
        return actions + self._start_exchange(entry, now, self.config.initial_bindack_timeout_first_reg,
                                              request_units(entry.requested_lifetime))

    def _on_detach(self, ev: MnDetached, now: float) -> list[Action]:
        entry = self._bul.get(ev.access_port)
        if entry is None or (ev.mn_id is not None and entry.mn_id != ev.mn_id):
            return [LogEvent("info", "detach for an MN we do not serve", {"port": ev.access_port})]
        if entry.state is BulState.DEREGISTERING:  # a repeated detach: the de-registration is in flight
            return []
        nxt = bul_next(entry.state, BulEvent.DETACH)
        if nxt is None:  # nothing registered yet: forget it
            return self._drop(entry, "detached")
        actions = self._uninstall(entry, "detached")  # §6.9.1.4: stop forwarding first
        entry.state = nxt
        entry.handoff_indicator = HandoffIndicator.HANDOFF_STATE_NOT_CHANGED
        self._timers.cancel((REFRESH, entry.access_port))
        self._timers.cancel((EXPIRE, entry.access_port))
        return actions + self._start_exchange(entry, now, self.config.initial_bindack_timeout, 0)

    def _holds_port(self, access_port: int) -> BulEntry | None:
        """The entry serving ``access_port``; one still de-registering does not hold it:
        an MN that shows up there again is a new attachment (§6.9.1.1)."""
        entry = self._bul.get(access_port)
        return None if entry is None or entry.state is BulState.DEREGISTERING else entry

    def _on_rs(self, ev: RouterSolicitationReceived, now: float) -> list[Action]:
        entry = self._holds_port(ev.access_port)
        if ev.mn_id is not None and (entry is None or entry.mn_id != ev.mn_id):
            return self._on_attach(self._detected(ev.access_port, ev.mn_id, ev.mn_ll_id, ev.att, ev.src), now)
        if entry is None or not entry.installed:  # never advertise before an accepted PBA
            return []
        return [self._ra(entry, now)]

    def _on_traffic(self, ev: MnTrafficSeen, now: float) -> list[Action]:
        """§6.9.1.1: any frame of a known MN on a port not forwarding for it attaches
        it (a link-layer handoff sends no RS); its frames wait for the tunnel."""
        entry = self._holds_port(ev.access_port)
        if entry is None:
            return [HoldUplink(ev.access_port, ev.frame)] + self._on_attach(
                self._detected(ev.access_port, ev.mn_id, ev.mn_ll_id, ev.att, None), now)
        if entry.mn_id != ev.mn_id:  # the port serves another MN
            return [LogEvent("info", "frame from another MN on a served port", {"port": ev.access_port})]
        actions: list[Action] = [HoldUplink(ev.access_port, ev.frame)]
        if entry.installed:  # punted before the forwarding entries were written
            actions.append(self._release(entry))
        return actions

    def _on_link_up(self, ev: AccessLinkUp, now: float) -> list[Action]:
        """§6.9.1.1: a link-layer attach that identifies the MN is its attachment: the PBU
        leaves before the MN sends anything; its first frames wait for the tunnel."""
        if ev.mn_id is None:  # not identified: its RS or first frame will be
            return []
        entry = self._holds_port(ev.access_port)
        if entry is not None and entry.mn_id == ev.mn_id:  # a registration in flight or done
            return [self._ra(entry, now)] if entry.installed else []
        return self._on_attach(self._detected(ev.access_port, ev.mn_id, ev.mn_ll_id, ev.att, None), now)

    @staticmethod
    def _detected(port: int, mn_id: bytes, mn_ll_id: bytes | None, att: int,
                  src: IPv6Address | None) -> MnAttached:
        # a MAG that learns of an MN by RS or traffic cannot tell a handoff: HI=4, and
        # the MN-LL-ID lets the LMA decide (RFC 5213 §5.4.1.2)
        return MnAttached(mn_id, port, att, mn_ll_id=mn_ll_id,
                          link_local=None if src is None or src.is_unspecified else src,
                          handoff_hint=HandoffIndicator.HANDOFF_STATE_UNKNOWN)

    # --- PBU sending (§6.9.1.5, §6.9.4) -----------------------------------------

    def _start_exchange(self, entry: BulEntry, now: float, first_timeout: float, lifetime: int) -> list[Action]:
        entry.retransmissions = 0
        entry.timeout = first_timeout
        entry.sending_lifetime = lifetime
        return self._send(entry, now)

    def _send(self, entry: BulEntry, now: float) -> list[Action]:
        when = self._rate.defer_until(entry.mn_id, now, len(self._bul))
        if when is not None:  # §6.9.4: MAX_UPDATE_RATE per second
            self._timers.cancel((RETRANSMIT, entry.access_port))
            self._timers.set((SEND, entry.access_port), when)
            return [LogEvent("info", "PBU rate limited", {"port": entry.access_port, "until": when})]
        self._seq = seq_next(self._seq)
        if entry.last_sequence is not None:
            self._by_seq.pop(entry.last_sequence, None)
        self._by_seq[self._seq] = entry.access_port
        entry.last_sequence = self._seq
        self._rate.sent(entry.mn_id, now)
        entry.last_sent_at = now
        pbu = self._build_pbu(entry, now)
        self._timers.set((RETRANSMIT, entry.access_port), now + entry.timeout)
        return [SendMh(pbu, self.config.proxy_coa, entry.lma_address)]

    def _build_pbu(self, entry: BulEntry, now: float) -> BindingUpdate:
        pbu, entry.last_timestamp = build_pbu(self.config, entry, self._seq, now + self.clock_offset)
        return pbu

    # --- PBA processing (§6.9.1.2) -----------------------------------------------

    def _on_pba(self, ev: PbaReceived, now: float) -> list[Action]:
        msg = ev.message
        if not isinstance(msg, BindingAck):
            return [LogEvent("warning", f"MAG ignores {type(msg).__name__} in a PbaReceived")]
        mn = msg.option(MnIdentifier)
        port = self._by_seq.get(msg.sequence)
        entry = self._bul.get(port) if port is not None else None
        if entry is None and msg.status == BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW and mn is not None:
            # RFC 6275 §6.1.8: a 135 carries the LMA's last accepted number, not ours
            entry = next((e for e in self._bul.values() if e.mn_id == mn.identifier
                          and e.last_sequence in self._by_seq and e.lma_address == ev.src), None)
        problem = pba_problem(self.config, entry, msg, ev.src)
        if problem is not None:
            return [LogEvent("info", f"PBA ignored: {problem}", {"sequence": msg.sequence})]
        assert entry is not None
        self._touched.add(entry.access_port)
        self._by_seq.pop(entry.last_sequence, None)
        self._timers.cancel((RETRANSMIT, entry.access_port))
        handler = self._status_handlers.get(msg.status)
        if handler is None:
            handler = self._pba_accepted if msg.status < 128 else self._pba_rejected
        return handler(entry, msg, now)

    def _pba_accepted(self, entry: BulEntry, msg: BindingAck, now: float) -> list[Action]:
        if entry.state is BulState.DEREGISTERING:
            bul_next(entry.state, BulEvent.ACCEPTED)
            return self._drop(entry, "deregistered")
        hnps = accepted_prefixes(msg)
        if not hnps or msg.lifetime == 0:
            return self._pba_rejected(entry, msg, now, "accepted PBA without prefixes or lifetime")
        entry.state = bul_next(entry.state, BulEvent.ACCEPTED)
        lla = msg.option(LinkLocalAddress)
        if lla is not None and lla.address != ALL_ZERO:
            entry.mag_link_local = lla.address
        elif entry.mag_link_local is None:
            entry.mag_link_local = self.config.own_link_local
        entry.granted_lifetime = float(msg.lifetime_seconds)
        entry.bound_at, entry.expires_at = now, now + entry.granted_lifetime
        self._timers.set((REFRESH, entry.access_port), now + entry.granted_lifetime * self.config.refresh_fraction)
        self._timers.set((EXPIRE, entry.access_port), entry.expires_at)
        actions: list[Action] = []
        if entry.installed and tuple(hnps) != entry.hnps:
            actions += self._uninstall(entry, "prefixes changed")
        entry.hnps = tuple(hnps)
        if not entry.installed:
            actions += self._install(entry)
        return actions + [self._ra(entry, now)]

    def _pba_rejected(self, entry: BulEntry, msg: BindingAck, now: float, why: str = "") -> list[Action]:
        try:
            name = BaStatus(msg.status).name
        except ValueError:
            name = str(msg.status)
        if entry.state is BulState.DEREGISTERING:  # e.g. 157 for a late de-registration
            return [LogEvent("info", f"de-registration answered {name}")] + self._drop(entry, "deregistered")
        actions: list[Action] = [LogEvent("error", f"registration rejected: {why or name}",
                                  {"mn_id": entry.mn_id, "status": msg.status})]
        if entry.installed:
            actions.append(self._ra(entry, now, withdraw=True))
        return actions + self._drop(entry, "rejected")

    def _pba_timestamp_mismatch(self, entry: BulEntry, msg: BindingAck, now: float) -> list[Action]:
        ts = msg.option(Timestamp)
        if ts is None or entry.retransmissions >= self.config.max_pbu_retransmissions:
            return self._pba_rejected(entry, msg, now)
        self.clock_offset = ts.seconds - now  # §5.5: PBA carries the LMA's time
        entry.retransmissions += 1
        return [LogEvent("warning", f"clock resynchronised by {self.clock_offset:+.3f}s")] + self._send(entry, now)

    def _pba_sequence_out_of_window(self, entry: BulEntry, msg: BindingAck, now: float) -> list[Action]:
        if entry.retransmissions >= self.config.max_pbu_retransmissions:
            return self._pba_rejected(entry, msg, now)
        self._seq = msg.sequence  # RFC 6275 §11.7.3: continue after the LMA's value
        entry.retransmissions += 1
        return self._send(entry, now)

    # --- timers ------------------------------------------------------------------

    def _on_retransmit(self, entry: BulEntry, now: float) -> list[Action]:
        if entry.retransmissions >= self.config.max_pbu_retransmissions:
            nxt = bul_next(entry.state, BulEvent.GAVE_UP)
            if entry.last_sequence is not None:
                self._by_seq.pop(entry.last_sequence, None)
            log = LogEvent("error", f"no PBA after {entry.retransmissions} retransmissions",
                           {"mn_id": entry.mn_id, "state": entry.state.value})
            if nxt is None:
                return [log] + self._drop(entry, "no answer")
            entry.state = nxt  # keep forwarding until EXPIRE
            return [log]
        entry.retransmissions += 1
        entry.timeout = min(entry.timeout * 2, self.config.max_bindack_timeout)
        return self._send(entry, now)

    def _on_deferred_send(self, entry: BulEntry, now: float) -> list[Action]:
        return self._send(entry, now)

    def _on_refresh_due(self, entry: BulEntry, now: float) -> list[Action]:
        entry.state = bul_next(entry.state, BulEvent.REFRESH_DUE)
        entry.handoff_indicator = HandoffIndicator.HANDOFF_STATE_NOT_CHANGED  # §6.9.1.3: HI=5
        return self._start_exchange(entry, now, self.config.initial_bindack_timeout,
                                    request_units(entry.requested_lifetime))

    def _on_expire(self, entry: BulEntry, now: float) -> list[Action]:
        log = LogEvent("warning", "binding lifetime expired", {"mn_id": entry.mn_id})
        return [log, self._ra(entry, now, withdraw=True)] + self._drop(entry, "expired")

    # --- data plane and RA ---------------------------------------------------------

    def _installed(self, entry: BulEntry) -> MagBindingInstalled:
        cfg = self.config
        return MagBindingInstalled(
            entry.access_port, entry.mn_id, entry.mn_ll_id, entry.hnps, entry.lma_address, cfg.proxy_coa,
            entry.tunnel_peer_id, entry.mag_link_local or cfg.own_link_local, entry.granted_lifetime,
            cfg.enable_mag_local_routing)

    def _release(self, entry: BulEntry) -> ReleaseUplink:
        return ReleaseUplink(entry.access_port, entry.hnps, entry.lma_address, self.config.proxy_coa)

    def _install(self, entry: BulEntry) -> list[Action]:
        actions: list[Action] = []
        endpoints = TunnelEndpoints(self.config.proxy_coa, entry.lma_address)
        got = self._peers.acquire(endpoints)
        if got is None:
            return [LogEvent("error", "no tunnel peer id left", {"lma": str(entry.lma_address)})]
        peer, created = got
        if created:
            actions.append(TunnelPeerAdded(peer.tunnel_peer_id, endpoints))
        entry.tunnel_peer_id = peer.tunnel_peer_id
        entry.installed = True
        return actions + [self._installed(entry), self._release(entry)]

    def _uninstall(self, entry: BulEntry, reason: str) -> list[Action]:
        if not entry.installed:
            return []
        entry.installed = False
        actions: list[Action] = [MagBindingRemoved(entry.access_port, entry.mn_id, entry.hnps, entry.lma_address,
                                                   entry.tunnel_peer_id, reason)]
        gone = self._peers.release(TunnelEndpoints(self.config.proxy_coa, entry.lma_address))
        if gone is not None:
            actions.append(TunnelPeerRemoved(gone.tunnel_peer_id, gone.endpoints))
        return actions

    def _drop(self, entry: BulEntry, reason: str) -> list[Action]:
        actions = self._uninstall(entry, reason)
        for kind in TIMER_KINDS:
            self._timers.cancel((kind, entry.access_port))
        if entry.last_sequence is not None and self._by_seq.get(entry.last_sequence) == entry.access_port:
            del self._by_seq[entry.last_sequence]
        if self._bul.get(entry.access_port) is entry:
            del self._bul[entry.access_port]
        return actions

    def _ra(self, entry: BulEntry, now: float, withdraw: bool = False) -> SendRouterAdvertisement:
        return router_advertisement(self.config, entry, now, withdraw)


__all__ = ["MobileAccessGateway"]
