"""In-memory PMIPv6 domain: one LMA and some MAGs on a simulated clock.

Rule: this is a loop, not a protocol: it feeds events to the cores, turns
every ``SendMh`` into bytes with ``encode_mh`` and back with ``decode_mh``
(checksum over the real source/destination) before delivering it, and fires
timers in deadline order when the clock is advanced. Messages can be held
back (to reorder them) or dropped by predicate. Used by the demo and the
call-flow tests; it holds no protocol rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import Any, Callable

from p4mobility.mh import (
    AccessTechnologyTypeOption,
    BindingAck,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MnIdentifier,
    decode_mh,
    encode_mh,
)

from .actions import LogEvent, SendMh, SendRouterAdvertisement
from .events import (
    MnAttached,
    MnDetached,
    PbaReceived,
    PbuReceived,
    RouterSolicitationReceived,
)
from .lma import LocalMobilityAnchor
from .mag import MobileAccessGateway


@dataclass(frozen=True, slots=True)
class Record:
    """One timeline line: ``node`` did/received ``what`` at ``t``."""

    t: float
    node: str
    peer: str
    kind: str  # "PBU", "PBA", "RA", "action", "event", "log"
    text: str
    obj: Any = field(default=None, compare=False)


@dataclass(slots=True)
class InFlight:
    src_node: str
    dst_node: str
    wire: bytes
    src: IPv6Address
    dst: IPv6Address


def describe_mh(msg: Any) -> str:
    """A one-line summary of a decoded PBU/PBA."""
    mn = msg.option(MnIdentifier)
    parts = []
    if isinstance(msg, BindingAck):
        parts.append(f"status={msg.status}")
    parts.append(f"seq={msg.sequence}")
    if mn is not None:
        parts.append(f"MN-ID={mn.identifier.decode('utf-8', 'replace')}")
    hi = msg.option(HandoffIndicatorOption)
    if hi is not None:
        parts.append(f"HI={hi.value}")
    att = msg.option(AccessTechnologyTypeOption)
    if att is not None:
        parts.append(f"ATT={att.value}")
    hnps = msg.options_of(HomeNetworkPrefix)
    if hnps:
        parts.append("HNP=" + ",".join(f"{h.prefix}/{h.prefix_length}" for h in hnps))
    lla = msg.option(LinkLocalAddress)
    if lla is not None:
        parts.append(f"LLA={lla.address}")
    parts.append(f"lifetime={msg.lifetime_seconds}s")
    return " ".join(parts)


class Simulation:
    def __init__(self, lma: LocalMobilityAnchor, mags: dict[str, MobileAccessGateway], *,
                 start: float = 0.0, lma_name: str = "LMA") -> None:
        self.now = start
        self.start = start
        self.lma = lma
        self.lma_name = lma_name
        self.mags = dict(mags)
        self.nodes: dict[str, Any] = {lma_name: lma, **self.mags}
        self._by_addr: dict[IPv6Address, str] = {lma.config.lma_address: lma_name}
        for name, mag in self.mags.items():
            self._by_addr[mag.config.proxy_coa] = name
        self.timeline: list[Record] = []
        self.actions: list[tuple[str, Any]] = []
        self.held: list[InFlight] = []
        self.hold: Callable[[InFlight, Any], bool] | None = None
        self.drop: Callable[[InFlight, Any], bool] | None = None
        self.tamper: Callable[[InFlight, Any], Any] | None = None  # rewrite a message in flight
        self.skew: dict[str, float] = {}  # per-node clock error (seconds)
        self._queue: list[InFlight] = []

    # --- driving -----------------------------------------------------------------

    def feed(self, node: str, event: Any) -> list:
        """Give ``event`` to ``node`` now, then deliver everything it causes."""
        self._record(node, "-", "event", type(event).__name__, event)
        out = self.nodes[node].handle(event, self._clock(node))
        self._take(node, out)
        self.run()
        return out

    def attach(self, mag: str, mn_id: bytes, port: int, att: int = 4, **kw: Any) -> list:
        return self.feed(mag, MnAttached(mn_id=mn_id, access_port=port, att=att, **kw))

    def detach(self, mag: str, mn_id: bytes, port: int) -> list:
        return self.feed(mag, MnDetached(mn_id=mn_id, access_port=port))

    def solicit(self, mag: str, port: int) -> list:
        return self.feed(mag, RouterSolicitationReceived(access_port=port))

    def advance(self, until: float) -> None:
        """Move the clock to ``until``, firing every timer due on the way in order."""
        while True:
            due = [(d - self.skew.get(n, 0.0), n) for n, c in self.nodes.items()
                   if (d := c.next_deadline()) is not None and d - self.skew.get(n, 0.0) <= until]
            if not due:
                break
            when, node = min(due)
            self.now = max(self.now, when)
            self._take(node, self.nodes[node].handle_timer(self._clock(node)))
            self.run()
        self.now = max(self.now, until)

    def run(self) -> None:
        while self._queue:
            item = self._queue.pop(0)
            self._deliver(item)

    def release_held(self) -> None:
        """Deliver every held message now, in the order they were sent."""
        items, self.held = self.held, []
        for item in items:
            self._deliver(item, force=True)
        self.run()

    # --- plumbing ------------------------------------------------------------------

    def _take(self, node: str, actions: list) -> None:
        for action in actions:
            self.actions.append((node, action))
            if isinstance(action, SendMh):
                wire = encode_mh(action.message, action.src, action.dst)
                dst_node = self._by_addr.get(IPv6Address(action.dst), str(action.dst))
                self._queue.append(InFlight(node, dst_node, wire, action.src, action.dst))
            elif isinstance(action, SendRouterAdvertisement):
                pfx = ",".join(str(p.prefix) for p in action.prefixes)
                self._record(node, f"MN@port{action.access_port}", "RA",
                             f"RA src={action.source} router_lifetime={action.router_lifetime}s HNP={pfx}"
                             f" valid={action.prefixes[0].valid_lifetime if action.prefixes else 0}s", action)
            elif isinstance(action, LogEvent):
                self._record(node, "-", "log", f"{action.level}: {action.message}", action)
            else:
                self._record(node, "-", "action", type(action).__name__, action)

    def _deliver(self, item: InFlight, force: bool = False) -> None:
        msg = decode_mh(item.wire, item.src, item.dst)  # real decode, checksum verified
        if not force and self.tamper is not None:
            changed = self.tamper(item, msg)
            if changed is not None and changed != msg:
                item.wire = encode_mh(changed, item.src, item.dst)
                msg = decode_mh(item.wire, item.src, item.dst)
                self._record(item.src_node, item.dst_node, "tampered", describe_mh(msg), msg)
        if not force and self.drop is not None and self.drop(item, msg):
            self._record(item.src_node, item.dst_node, "drop", describe_mh(msg), msg)
            return
        if not force and self.hold is not None and self.hold(item, msg):
            self.held.append(item)
            self._record(item.src_node, item.dst_node, "held", describe_mh(msg), msg)
            return
        kind = "PBU" if isinstance(msg, BindingUpdate) else "PBA" if isinstance(msg, BindingAck) else "MH"
        self._record(item.src_node, item.dst_node, kind, describe_mh(msg), msg)
        target = self.nodes.get(item.dst_node)
        if target is None:
            return
        event_cls = PbuReceived if isinstance(msg, BindingUpdate) else PbaReceived
        event = event_cls(msg, IPv6Address(item.src), IPv6Address(item.dst))
        self._take(item.dst_node, target.handle(event, self._clock(item.dst_node)))

    def _clock(self, node: str) -> float:
        return self.now + self.skew.get(node, 0.0)

    def _record(self, node: str, peer: str, kind: str, text: str, obj: Any = None) -> None:
        self.timeline.append(Record(self.now - self.start, node, peer, kind, text, obj))

    def actions_of(self, node: str, cls: type) -> list:
        return [a for n, a in self.actions if n == node and isinstance(a, cls)]

    def messages(self, kind: str, node: str | None = None) -> list:
        """Decoded PBUs/PBAs delivered (``kind`` "PBU"/"PBA"), optionally by sender."""
        return [r.obj for r in self.timeline if r.kind == kind and (node is None or r.node == node)]


__all__ = ["Simulation", "Record", "describe_mh"]
