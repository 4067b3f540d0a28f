"""Answers from the home agent, and the life of an accepted binding.

Rule (RFC 6275 §11.7.3): a BA counts only if it comes from the home agent,
to the home address (over UDP: from the HA's IPv4 address and port 4191),
with the Sequence Number of the latest transmission of an outstanding BU;
anything else is ignored. Status 135 carries the HA's last accepted number:
the counter continues after it and the outstanding BUs are sent again (at
most ``max_sequence_resyncs`` times each, §11.7.1). With RFC 5648 a non-zero
status in a BID option overrides the BA status for that BID; 168 (bulk
refused) -> one BU per BID from then on.

Accepted: the binding lasts from the BU's send time for the granted
lifetime (§11.7.3: the remaining lifetime shrinks by what the HA cut), is
refreshed at ``refresh_fraction`` of it or at the Binding Refresh Advice
interval (§6.2.4), whichever is sooner, and the data tunnel switches to the
accepted CoA now, and only now. For an IPv4 CoA a NAT Detection option
(RFC 5555 §3.2.2) means UDP-4191 data and, unless its refresh time is all
ones, a keepalive at that interval (0 -> NATKATIMEOUT): a refresh BU on that
path. Rejected (>= 128): no more BUs for that CoA (§11.7.3); a binding the
HA already held stays until it expires. IPv4 Address Acknowledgement
(RFC 5555 §3.2.1): success -> HomeAddressAssigned, failure -> released.

BRR from the HA (§11.7.4) -> refresh every bound binding. Binding Error
from the HA about our home address (§11.3.6): status 1 (it has no binding)
-> register again as a first registration; status 2 -> logged.
"""
from __future__ import annotations

from p4mobility.mh import (BaStatus, BindingIdentifier, BindingRefreshAdvice, BeStatus, Ipv4AckStatus,
                           Ipv4AddressAcknowledgement, NatDetection)
from p4mobility.mh.constants import NAT_REFRESH_NO_NAT
from p4mobility.binding.actions import LogEvent

from .access import Coa
from .actions import (AtHome, Deregistered, FlowsMoved, HomeAddressAssigned, HomeAddressReleased, Keepalive,
                      PrefixDiscoveryNeeded, Registered, RegistrationFailed, TunnelChanged)
from .bul import BulEntry, BulEvent, BulState, Transaction, TxKind, bul_next
from .mn_tx import EXPIRE, KEEPALIVE, REFRESH
from .path import DSMIPV6_UDP_PORT, Encapsulation, Path


def _name(enum, value: int) -> str:
    try:
        return f"{enum(value).name} ({value})"
    except ValueError:
        return str(value)


class AnswersMixin:
    """Part of MobileNode (mn.py); shares its attributes."""

    def _not_from_ha(self, ev, check_dst: bool = True) -> str | None:
        cfg, o = self.config, ev.outer
        if ev.src != cfg.home_agent:
            return f"from {ev.src}, not our home agent"
        if check_dst and ev.dst != cfg.home_address:
            return f"to {ev.dst}, not our home address"
        if o is not None and (o.src != cfg.home_agent_ipv4 or o.sport != DSMIPV6_UDP_PORT
                              or o.dport != cfg.mn_udp_port):
            return f"outer {o.src}:{o.sport} -> {o.dport} is not the home agent's 4191 to our port"
        return None

    # --- Binding Acknowledgement ---------------------------------------------------------

    def _on_ba(self, ev, now: float) -> list:
        msg = ev.message
        problem = self._not_from_ha(ev)
        if problem is not None:
            return [LogEvent("info", f"BA ignored: {problem}", {"sequence": msg.sequence})]
        if msg.status == BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW:
            return self._resync(msg, now)
        tx = self._txs.get(self._by_seq.get(msg.sequence, -1))
        if tx is None:
            return [LogEvent("info", "BA ignored: no outstanding BU with this Sequence Number",
                             {"sequence": msg.sequence})]
        self._close_tx(tx)
        actions: list = []
        if msg.status == BaStatus.MCOA_BULK_REGISTRATION_PROHIBITED and tx.bulk:
            self._bulk_allowed = False
            items = [(b, tx.coas[b]) for b in tx.bids
                     if (e := self._entries.get(b)) is not None and e.pending is tx]
            return [LogEvent("warning", "bulk registration refused (168): one BU per BID")] + \
                self._register(items, now)
        statuses = {b: msg.status for b in tx.bids}
        if self.config.multiple_coa and tx.kind is not TxKind.HOME:
            per_bid = {o.bid: o.status for o in msg.options_of(BindingIdentifier)}
            if not per_bid:
                actions.append(LogEvent("warning", "BA without Binding Identifier options: "
                                        "the home agent may not support RFC 5648"))
            statuses = {b: per_bid.get(b) or msg.status for b in tx.bids}  # RFC 5648 §6.1
        needed = False
        if tx.kind is TxKind.REGISTER and msg.lifetime > 0 and any(s < 128 for s in statuses.values()):
            actions += self._ipv4_ack(msg)
            if msg.status == BaStatus.ACCEPTED_PREFIX_DISCOVERY_NECESSARY:
                actions.append(PrefixDiscoveryNeeded())
                needed = True
        answered = self._answer(tx, statuses, msg.lifetime, msg, now)
        registered = any(isinstance(a, Registered) for a in answered)
        return actions + answered + self._after_answer(needed, registered, now)  # RFC 6275 §11.4.2

    def _answer(self, tx: Transaction, statuses: dict[int, int], lifetime: int, msg, now: float) -> list:
        actions: list = []
        for bid in list(tx.bids):
            e = self._entries.get(bid)
            if e is None or e.pending is not tx:
                continue  # moved on to a newer BU meanwhile
            e.pending = None
            status = statuses[bid]
            if tx.kind is not TxKind.REGISTER:
                gone_already = tx.kind is TxKind.HOME and status == BaStatus.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE
                if status >= 128 and not gone_already:  # §11.5.4: 133 at home = no binding left
                    actions.append(LogEvent("info", f"de-registration answered {_name(BaStatus, status)}",
                                            {"bid": bid}))
                reason = "home" if tx.kind is TxKind.HOME else "stopped" if self._stopping else "deregistered"
                actions += self._removed(e, reason)
            elif status < 128 and lifetime > 0:
                actions += self._accepted(e, tx, msg, now)
            else:
                actions += self._rejected(e, tx, status)
        if tx.kind is TxKind.HOME:
            actions += self._home_done(tx)
        return actions + self._check_stopped()

    def _resync(self, msg, now: float) -> list:
        outstanding = [tx for tx in self._txs.values() if tx.sequence is not None]
        if not outstanding:
            return [LogEvent("info", "BA 135 ignored: no BU outstanding", {"sequence": msg.sequence})]
        self._seq = msg.sequence  # RFC 6275 §11.7.1: use the next value after the HA's last accepted
        actions: list = [LogEvent("warning", "Sequence Number out of window (135): continuing after "
                                  "the home agent's last accepted one", {"last_accepted": msg.sequence})]
        for tx in outstanding:
            if tx.resyncs >= self.config.max_sequence_resyncs:
                self._close_tx(tx)
                status = BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW
                actions += self._answer(tx, {b: status for b in tx.bids}, 0, msg, now)
            else:
                tx.resyncs += 1
                actions += self._send(tx, now)
        return actions

    def _accepted(self, e: BulEntry, tx: Transaction, msg, now: float) -> list:
        cfg = self.config
        coa = tx.coas[e.bid]
        granted = float(min(msg.lifetime, tx.lifetime) * 4)
        expires = tx.sent_at + granted  # RFC 6275 §11.7.3
        refresh = tx.sent_at + granted * cfg.refresh_fraction
        bra = msg.option(BindingRefreshAdvice)
        if bra is not None and bra.refresh_interval > 0:  # RFC 6275 §6.2.4
            refresh = min(refresh, tx.sent_at + bra.refresh_interval * 4)
        nat = msg.option(NatDetection) if coa.is_ipv4 and tx.path.coa == coa.address else None
        tunnel = self._data_tunnel(coa, nat)
        refreshed = e.bound is not None and (e.bound.interface, e.bound.address) == (coa.interface, coa.address)
        e.state = bul_next(e.state, BulEvent.ACCEPTED)
        e.bound, e.granted_lifetime, e.expires_at, e.refused = coa, granted, expires, None
        actions: list = []
        if tunnel != e.tunnel:  # draft-laganier req. 3: data moves only now
            actions.append(TunnelChanged(e.bid, tunnel, e.tunnel, "binding accepted"))
            e.tunnel = tunnel
        self._timers.set((REFRESH, e.bid), max(refresh, now))
        self._timers.set((EXPIRE, e.bid), expires)
        e.keepalive = self._keepalive_interval(tunnel, nat)
        if e.keepalive is not None:
            self._timers.set((KEEPALIVE, e.bid), now + e.keepalive)
        else:
            self._timers.cancel((KEEPALIVE, e.bid))
        return actions + [Registered(e.bid, coa.interface, coa.address, granted, expires, refreshed)]

    def _data_tunnel(self, coa: Coa, nat: NatDetection | None) -> Path:
        cfg = self.config
        if not coa.is_ipv4:
            return Path(coa.interface, Encapsulation.IPV6, coa.address, cfg.home_agent)
        # RFC 5555 §3.2.2: the option means a NAT (refresh time given) or the F flag honoured
        if nat is not None and (nat.udp_encapsulation_required or nat.refresh_time != NAT_REFRESH_NO_NAT):
            return Path(coa.interface, Encapsulation.UDP4, coa.address, cfg.home_agent_ipv4,
                        cfg.mn_udp_port, DSMIPV6_UDP_PORT)
        return Path(coa.interface, Encapsulation.IPV4, coa.address, cfg.home_agent_ipv4)

    def _keepalive_interval(self, tunnel: Path, nat: NatDetection | None) -> float | None:
        if tunnel.encapsulation is not Encapsulation.UDP4 or nat is None:
            return None
        if nat.refresh_time == NAT_REFRESH_NO_NAT:  # no NAT: no keepalives needed
            return None
        return float(nat.refresh_time) if nat.refresh_time else self.config.nat_keepalive_interval

    def _rejected(self, e: BulEntry, tx: Transaction, status: int) -> list:
        coa = tx.coas.get(e.bid)
        why = _name(BaStatus, status) if status >= 128 else "accepted with lifetime 0"
        e.state = bul_next(e.state, BulEvent.REJECTED)
        e.refused = coa.address if coa is not None else None  # RFC 6275 §11.7.3: no more BUs for it
        return [LogEvent("error", f"registration rejected: {why}", {"bid": e.bid, "status": status}),
                RegistrationFailed(e.bid, e.refused, status, why)]

    def _ipv4_ack(self, msg) -> list:
        if self.config.ipv4_home_address is None:
            return []
        ack = msg.option(Ipv4AddressAcknowledgement)
        if ack is None:
            return [LogEvent("warning", "BA without IPv4 Address Acknowledgement: no IPv4 home address")]
        if ack.status < 128 and not ack.address.is_unspecified:
            if ack.address == self._ipv4_hoa:
                return []
            actions = self._release_ipv4("replaced")
            self._ipv4_hoa = ack.address
            self._access.set_home_ipv4(ack.address)
            return actions + [HomeAddressAssigned(ack.address, ack.prefix_length)]
        why = _name(Ipv4AckStatus, ack.status)
        return [LogEvent("error", f"IPv4 home address refused: {why}")] + self._release_ipv4(f"refused: {why}")

    def _release_ipv4(self, reason: str) -> list:
        if self._ipv4_hoa is None:
            return []
        address, self._ipv4_hoa = self._ipv4_hoa, None
        self._access.set_home_ipv4(None)
        return [HomeAddressReleased(address, reason)]

    def _home_done(self, tx: Transaction) -> list:
        return [AtHome(tx.path.interface)] + self._release_ipv4("home")

    # --- Binding Refresh Request, Binding Error ----------------------------------------

    def _present(self, coa: Coa | None) -> bool:
        now_coa = self._access.coa(coa.interface) if coa is not None else None
        return now_coa is not None and now_coa.address == coa.address

    def _refreshable(self, exclude: int | None = None, v6_only: bool = False) -> list[tuple[int, Coa]]:
        return [(e.bid, e.bound) for e in self._entries.values()
                if e.state is BulState.BOUND and e.bid != exclude and self._present(e.bound)
                and not (v6_only and e.bound.is_ipv4)]

    def _on_brr(self, ev, now: float) -> list:
        problem = self._not_from_ha(ev)
        if problem is not None:
            return [LogEvent("info", f"BRR ignored: {problem}")]
        items = self._refreshable()  # RFC 6275 §11.7.4
        if not items:
            return [LogEvent("info", "BRR: no binding to refresh")]
        return [LogEvent("info", "binding refresh requested by the home agent")] + self._register(items, now)

    def _on_be(self, ev, now: float) -> list:
        msg = ev.message
        problem = self._not_from_ha(ev, check_dst=False)  # sent to the offending packet's source (a CoA)
        if problem is None and msg.home_address != self.config.home_address:
            problem = f"about {msg.home_address}, not our home address"
        if problem is None and not self._entries:
            problem = "no Binding Update List entry for the home agent"  # RFC 6275 §11.3.6
        if problem is not None:
            return [LogEvent("info", f"Binding Error ignored: {problem}")]
        if msg.status == BeStatus.UNKNOWN_BINDING_FOR_HOME_ADDRESS_DESTINATION_OPTION:
            items = [(e.bid, t) for e in self._entries.values()
                     if (t := self._target(e)) is not None and self._present(t)]
            return [LogEvent("warning", "home agent has no binding for us (Binding Error 1): registering again")] + \
                self._register(items, now, first_reg=True)
        return [LogEvent("warning", f"Binding Error {_name(BeStatus, msg.status)} from the home agent")]

    # --- binding timers ----------------------------------------------------------------

    def _on_refresh_due(self, bid: int, now: float) -> list:
        e = self._entries.get(bid)
        if e is None or e.state is not BulState.BOUND:
            return []
        if not self._present(e.bound):
            return [LogEvent("info", "refresh skipped: the care-of address is gone", {"bid": bid})]
        items = [(bid, e.bound)]
        if self.config.bulk_registration and self._bulk_allowed and not e.bound.is_ipv4:
            items += self._refreshable(exclude=bid, v6_only=True)  # RFC 5648 §5.3: one BU for several
        return self._register(items, now)

    def _on_keepalive_due(self, bid: int, now: float) -> list:
        e = self._entries.get(bid)
        if e is None or e.keepalive is None or e.tunnel is None:
            return []
        if e.state is not BulState.BOUND:  # a BU is already out on this path
            self._timers.set((KEEPALIVE, bid), now + e.keepalive)
            return []
        if not self._present(e.bound):  # the path is gone: nothing to keep alive
            return []
        return [Keepalive(bid, e.tunnel, e.keepalive)] + self._register([(bid, e.bound)], now)

    def _on_expire(self, bid: int, now: float) -> list:
        e = self._entries.get(bid)
        if e is None or e.state not in (BulState.BOUND, BulState.UPDATING):
            return []
        coa = e.bound.address if e.bound else None
        actions = [LogEvent("warning", "binding expired", {"bid": bid})] + self._drop_tunnel(e, "binding expired")
        e.state = bul_next(e.state, BulEvent.EXPIRED)
        e.bound, e.expires_at, e.keepalive = None, None, None
        self._timers.cancel((REFRESH, bid))
        self._timers.cancel((KEEPALIVE, bid))
        actions.append(Deregistered(bid, coa, "expired"))
        return actions + (self._reconcile(now) if e.state is BulState.IDLE else [])

    # --- removal -------------------------------------------------------------------------

    def _drop_tunnel(self, e: BulEntry, reason: str) -> list:
        prev, e.tunnel = e.tunnel, None
        if prev is None:
            return []
        actions: list = [TunnelChanged(e.bid, None, prev, reason)]
        others = [o for o in self._entries.values() if o is not e and o.tunnel is not None and o.bound]
        if others and not self._stopping:  # RFC 5648: flows of a lost binding move to another one
            to = min(others, key=lambda o: self._preference(o.bound))
            actions.append(FlowsMoved(e.bid, to.bid, reason))
        return actions

    def _forget(self, e: BulEntry) -> None:
        for kind in (REFRESH, EXPIRE, KEEPALIVE):
            self._timers.cancel((kind, e.bid))
        self._detach(e)
        self._entries.pop(e.bid, None)

    def _removed(self, e: BulEntry, reason: str) -> list:
        actions = self._drop_tunnel(e, reason)
        coa = e.bound.address if e.bound else None
        self._forget(e)
        return actions + [Deregistered(e.bid, coa, reason)]


__all__ = ["AnswersMixin"]
