"""Mobile node core (RFC 6275 §11 home registration, RFC 5555, RFC 5648), sans-I/O.

Rule: every address event re-derives the wanted bindings from the access
interfaces (access.py) and reconciles the Binding Update List with them:
- on the home link -> one de-registration from the home address (§11.5.4);
- a binding whose wanted CoA differs from the one registered or being
  registered -> a new BU from that CoA (the old data tunnel stays until a
  BA accepts the new CoA, draft-laganier requirement 3);
- with multiple CoAs (RFC 5648) one binding per interface (its BID); an
  interface that lost its CoA loses its tunnel at once, its flows move to a
  remaining binding, and a lifetime-0 BU for that BID leaves by another CoA;
- StopRequested -> lifetime-0 BUs for every binding, then Stopped.
BUs are retransmitted with a new Sequence Number after
InitialBindackTimeoutFirstReg (no binding at the HA yet) or
INITIAL_BINDACK_TIMEOUT, doubling up to MAX_BINDACK_TIMEOUT; at most
MAX_UPDATE_RATE BUs per second leave (RFC 6275 §11.8). Answers (BA, BRR,
BE) are handled in mn_answers.py; transactions in mn_tx.py; mobile prefix
discovery (RFC 6275 §11.4) in prefix_discovery.py.
"""
from __future__ import annotations

from collections import deque
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Callable

from p4mobility.mh import BindingAck, BindingError, BindingRefreshRequest
from p4mobility.binding.actions import LogEvent
from p4mobility.binding.timers import DeadlineHeap
from p4mobility.nd.mobile_prefix import MobilePrefixAdvertisement

from .access import AccessTable, Coa
from .actions import Stopped
from .bul import BindingView, BulEntry, BulEvent, BulState, TxKind, bul_next
from .config import MnConfig
from .events import (AddressAdded, AddressRemoved, BaReceived, BeReceived, BrrReceived, InterfaceDown,
                     PrefixAdvertisementReceived, PrefixSolicitationRequested, StopRequested)
from .mn_answers import AnswersMixin
from .mn_tx import EXPIRE, KEEPALIVE, REFRESH, RETRANSMIT, SEND, TransactionsMixin
from .path import Encapsulation, Path
from .prefix_discovery import SOLICIT, PrefixDiscoveryMixin


_MESSAGE_OF = {BaReceived: BindingAck, BrrReceived: BindingRefreshRequest, BeReceived: BindingError,
               PrefixAdvertisementReceived: MobilePrefixAdvertisement}


def _malformed(event: Any) -> str | None:
    """What makes an event unusable (wrong types from an adapter), or None."""
    address = getattr(event, "address", None)
    if isinstance(event, (AddressAdded, AddressRemoved)) and not isinstance(address, (IPv4Address, IPv6Address)):
        return f"{address!r} is not an IP address"
    want = _MESSAGE_OF.get(type(event))
    if want is not None and not isinstance(event.message, want):
        return f"carries a {type(event.message).__name__}, not a {want.__name__}"
    return None


class MobileNode(TransactionsMixin, AnswersMixin, PrefixDiscoveryMixin):
    """``handle(event, now)`` / ``handle_timer(now)`` -> actions; ``next_deadline()``.
    ``identifier_seed``: where the Identifiers of Mobile Prefix Solicitations start
    (the adapter passes a random 16-bit value; the core draws no randomness)."""

    def __init__(self, config: MnConfig, *, sequence: int = 0, identifier_seed: int = 0) -> None:
        config.check()
        self.config = config
        self._access = AccessTable(config.home_prefix, (config.home_address,), config.home_agent_ipv4 is not None)
        self._entries: dict[int, BulEntry] = {}
        self._txs: dict = {}
        self._by_seq: dict[int, int] = {}
        self._seq = sequence & 0xFFFF  # last Sequence Number used (persist it across restarts)
        self._tx_ids = 0
        self._send_times: deque = deque()
        self._timers = DeadlineHeap()
        self._ipv4_hoa = None
        self._bulk_allowed = True
        self._stopping = False
        self._stopped = False
        self._mps = None  # the outstanding Mobile Prefix Solicitation (prefix_discovery.py)
        self._mps_identifier = identifier_seed & 0xFFFF
        self._home_prefixes: dict = {}
        self._solicited = False
        self._handlers: dict[type, Callable[[Any, float], list]] = {
            AddressAdded: self._on_address_added, AddressRemoved: self._on_address_removed,
            InterfaceDown: self._on_interface_down, StopRequested: self._on_stop,
            BaReceived: self._on_ba, BrrReceived: self._on_brr, BeReceived: self._on_be,
            PrefixAdvertisementReceived: self._on_mpa, PrefixSolicitationRequested: self._on_solicit_requested,
        }
        self._timer_handlers: dict[str, Callable[[Any, float], list]] = {
            RETRANSMIT: self._on_retransmit, SEND: self._on_deferred_send, REFRESH: self._on_refresh_due,
            EXPIRE: self._on_expire, KEEPALIVE: self._on_keepalive_due, SOLICIT: self._on_solicit_due,
        }

    # --- public interface ------------------------------------------------------------

    def handle(self, event: Any, now: float) -> list:
        handler = self._handlers.get(type(event))
        if handler is None:
            return [LogEvent("warning", f"mobile node ignores {type(event).__name__}")]
        problem = _malformed(event)
        if problem is not None:
            return [LogEvent("warning", f"mobile node ignores {type(event).__name__}: {problem}")]
        return handler(event, now)

    def handle_timer(self, now: float) -> list:
        actions: list = []
        # an expired binding is gone before anything refreshes it (RFC 6275 §11.7.3)
        for kind, key in sorted(self._timers.pop_due(now), key=lambda k: k[0] != EXPIRE):
            actions += self._timer_handlers[kind](key, now)
        return actions

    def next_deadline(self) -> float | None:
        return self._timers.peek()

    @property
    def sequence(self) -> int:
        """The last Sequence Number sent (RFC 6275 §9.5.1); restore it with ``sequence=``."""
        return self._seq

    @property
    def ipv4_home_address(self):
        """The IPv4 home address the HA acknowledged (RFC 5555 §3.2.1), or None."""
        return self._ipv4_hoa

    @property
    def stopped(self) -> bool:
        return self._stopped

    def bindings(self) -> list[BindingView]:
        out = []
        for e in sorted(self._entries.values(), key=lambda e: e.bid):
            pend = e.pending.coas.get(e.bid) if e.pending is not None else None
            out.append(BindingView(e.bid, e.state, e.bound.interface if e.bound else None,
                                   e.bound.address if e.bound else None, e.tunnel,
                                   pend.address if pend else None, e.expires_at, e.keepalive))
        return out

    # --- access events -----------------------------------------------------------------

    def _on_address_added(self, ev: AddressAdded, now: float) -> list:
        exp = None if ev.valid_lifetime is None else now + ev.valid_lifetime
        new = not self._access.has(ev.interface, ev.address)
        self._access.add(ev.interface, ev.address, exp)
        for e in self._entries.values():
            if new and e.refused == ev.address:  # an address that came back may be tried again
                e.refused = None
        return self._reconcile(now)

    def _on_address_removed(self, ev: AddressRemoved, now: float) -> list:
        self._access.remove(ev.interface, ev.address)
        return self._reconcile(now)

    def _on_interface_down(self, ev: InterfaceDown, now: float) -> list:
        self._access.down(ev.interface)
        return self._reconcile(now)

    def _on_stop(self, ev: StopRequested, now: float) -> list:
        self._stopping = True
        return self._reconcile(now)

    # --- reconciliation ----------------------------------------------------------------

    def _wanted(self) -> dict[int, Coa]:
        """The CoA each binding should have: per BID (RFC 5648) or one (key 0)."""
        cfg, coas = self.config, self._access.coas()
        if cfg.multiple_coa:
            out: dict[int, Coa] = {}
            for c in coas:
                bid = cfg.bid_of(c.interface, self._access.seen)
                if bid is not None and bid <= 0xFFFF:
                    out[bid] = c
            return out
        e = self._entries.get(0)
        refused = e.refused if e is not None else None
        coas = [c for c in coas if (not cfg.interfaces or c.interface in cfg.interfaces)
                and c.address != refused]
        if not coas:
            return {}
        current = self._target(e) if e is not None else None
        for c in coas:  # stay on the interface in use while it has a CoA
            if current is not None and c.interface == current.interface:
                return {0: c}
        return {0: min(coas, key=self._preference)}

    def _preference(self, coa: Coa) -> int:
        order = self.config.interfaces or tuple(self._access.seen)
        return order.index(coa.interface) if coa.interface in order else len(order)

    def _target(self, e: BulEntry) -> Coa | None:
        """The CoA ``e`` is registered with or being registered with."""
        if e.pending is not None and e.pending.kind is TxKind.REGISTER:
            return e.pending.coas.get(e.bid)
        return e.bound if e.state is BulState.BOUND else None

    def _reconcile(self, now: float) -> list:
        if self._stopping:
            return self._stop_step(now)
        home = self._access.home_interface()
        if home is not None:
            return self._go_home(home, now)
        wanted = self._wanted()
        actions: list = []
        todo: list[tuple[int, Coa]] = []
        for bid, coa in wanted.items():
            e = self._entries.setdefault(bid, BulEntry(bid))
            if e.refused == coa.address:
                continue
            target = self._target(e)
            if (e.state in (BulState.IDLE, BulState.DEREGISTERING) or target is None
                    or (target.interface, target.address) != (coa.interface, coa.address)):
                todo.append((bid, coa))
        for e in [e for bid, e in self._entries.items() if bid not in wanted]:
            actions += self._lose(e, wanted, now)
        return actions + self._register(todo, now)

    def _lose(self, e: BulEntry, wanted: dict[int, Coa], now: float) -> list:
        """Binding ``e`` has no CoA any more."""
        if e.state is BulState.IDLE:
            if e.refused is None or all(c.address != e.refused for c in self._access.coas()):
                self._forget(e)  # keep an entry only to remember a refused CoA still present
            return []
        if not self.config.multiple_coa:  # single binding: stop registering a vanished CoA
            if e.pending is not None and e.pending.kind is TxKind.REGISTER:
                self._detach(e)
                e.state = bul_next(e.state, BulEvent.ABANDON)
                if e.state is BulState.IDLE:
                    self._forget(e)
            return []
        if e.state is BulState.DEREGISTERING:
            return []
        # RFC 5648: this interface's binding goes; the flows move to another one
        actions = self._drop_tunnel(e, "interface lost") if e.tunnel is not None else []
        path = self._signalling_path(wanted.values())
        if path is None:
            return actions + self._removed(e, "no path to send a de-registration")
        return actions + self._start(TxKind.DEREGISTER, [e.bid], path, now)

    def _go_home(self, interface: str, now: float) -> list:
        """RFC 6275 §11.5.4: returning home -> one de-registration from the home address."""
        for e in [e for e in self._entries.values() if e.state is BulState.IDLE]:
            self._forget(e)
        live = [e.bid for e in self._entries.values()
                if e.pending is None or e.pending.kind is not TxKind.HOME]
        if not live:
            return []
        path = Path(interface, Encapsulation.HOME, self.config.home_address, self.config.home_agent)
        return self._start(TxKind.HOME, sorted(self._entries), path, now)

    def _stop_step(self, now: float) -> list:
        for e in [e for e in self._entries.values() if e.state is BulState.IDLE]:
            self._forget(e)
        live = sorted(b for b, e in self._entries.items() if e.state is not BulState.DEREGISTERING)
        actions: list = []
        if live:
            home = self._access.home_interface()
            path = (Path(home, Encapsulation.HOME, self.config.home_address, self.config.home_agent)
                    if home is not None else self._signalling_path(self._access.coas()))
            if path is None:
                for bid in live:
                    actions += self._removed(self._entries[bid], "stopped (no path to the home agent)")
            elif path.encapsulation is Encapsulation.HOME:
                actions += self._start(TxKind.HOME, live, path, now)
            elif self.config.multiple_coa and not (self.config.bulk_registration and self._bulk_allowed):
                for bid in live:
                    actions += self._start(TxKind.DEREGISTER, [bid], path, now)
            else:
                actions += self._start(TxKind.DEREGISTER, live, path, now)
        return actions + self._check_stopped()

    def _check_stopped(self) -> list:
        if not self._stopping or self._stopped or self._entries:
            return []
        self._stopped = True
        return self._release_ipv4("stopped") + [Stopped()]

    def _signalling_path(self, coas) -> Path | None:
        """A CoA a BU can leave from: a bound one first, else any, by preference."""
        coas = list(coas)
        bound = {e.bound for e in self._entries.values() if e.state is BulState.BOUND and e.bound}
        ranked = sorted(coas, key=lambda c: (c not in bound, self._preference(c)))
        return self._bu_path(ranked[0]) if ranked else None

    def _bu_path(self, coa: Coa) -> Path:
        """RFC 5555 §4.1: BUs over IPv4 always go in UDP 4191."""
        cfg = self.config
        if coa.is_ipv4:
            assert cfg.home_agent_ipv4 is not None  # access.py offers IPv4 CoAs only then
            return Path(coa.interface, Encapsulation.UDP4, coa.address, cfg.home_agent_ipv4,
                        cfg.mn_udp_port, 4191)
        return Path(coa.interface, Encapsulation.IPV6, coa.address, cfg.home_agent)


__all__ = ["MobileNode"]
