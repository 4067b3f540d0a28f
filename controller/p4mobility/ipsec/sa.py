"""Security Association: configuration in ip-xfrm words plus per-SA state.

Rule: outbound, the counter starts at 0 and the first packet sent is 1; a
send that would cycle it (2^32 without ESN, 2^64 with) is refused with
``SequenceOverflow`` and a rekey event (RFC 4303 §3.3.3). The AES-GCM IV is
the 64-bit sequence number, so it never repeats under one key (RFC 4106 §3.1);
the CBC IV is random (RFC 3602 §2.3). Inbound order is replay check, ICV,
window update, trailer (RFC 4303 §3.4.3-§3.4.4). Soft/hard lifetimes in bytes,
packets and seconds (RFC 4301 §4.4.2.1) raise one event each; after the hard
limit the SA refuses packets. Time comes in as ``now``; nothing reads a clock.
"""
from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from math import inf

from . import esp, fastpath
from .errors import IpsecConfigError, MalformedPacket, SaExpired, SequenceOverflow
from .events import Event, RekeyHard, RekeySoft, SequenceOverflowEvent
from .lifetime import Lifetime, SaCounters, SaLimits
from .replay import MAX_WINDOW, ReplayWindow
from .spd import Dir, Mode, Selector
from .transforms import Algo, Transform, make_transform

_U32 = struct.Struct("!I")
_NO_EVENTS: tuple[Event, ...] = ()


@dataclass(eq=False)
class Sa:
    """One ESP SA (`ip xfrm state`). Keys are never shown in ``repr``."""

    spi: int
    src: str
    dst: str
    dir: Dir = Dir.IN
    mode: Mode = Mode.TRANSPORT
    proto: str = "esp"
    reqid: int = 0
    aead: Algo | None = None
    enc: Algo | None = None
    auth: Algo | None = None
    esn: bool = False
    replay_window: int = 64
    lifetime: Lifetime = field(default_factory=Lifetime)
    sel: Selector | None = None  # inbound check of decrypted packets (RFC 4301 §5.2)
    oseq: int = 0  # ip-xfrm replay-oseq: last sequence number sent
    added: float = 0.0  # install time for the seconds lifetimes
    index: int = 0  # set by the SAD: the crypto header's sa_index (dataplane.md)
    counters: SaCounters = field(default_factory=SaCounters, init=False)
    transform: Transform = field(init=False, repr=False)
    window: ReplayWindow = field(init=False, repr=False)
    limits: SaLimits = field(init=False, repr=False)  # next lifetime thresholds (lifetime.py)
    expired: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.proto != "esp":
            raise IpsecConfigError("proto", "only esp is supported (AH is not recommended)")
        if not esp.MIN_SPI <= self.spi <= 0xFFFFFFFF:
            raise IpsecConfigError("spi", "must be 256..2^32-1 (RFC 4303 §2.1)")
        try:
            self.dir, self.mode = Dir(self.dir), Mode(self.mode)
            self.src = str(ipaddress.ip_address(self.src))
            self.dst = str(ipaddress.ip_address(self.dst))
        except ValueError as exc:
            raise IpsecConfigError("state", str(exc)) from None
        if ipaddress.ip_address(self.src).version != ipaddress.ip_address(self.dst).version:
            raise IpsecConfigError("dst", "src and dst are of different IP versions")
        if not 0 <= self.replay_window <= MAX_WINDOW:
            raise IpsecConfigError("replay-window", f"must be 0..{MAX_WINDOW}")
        if self.esn and self.replay_window == 0:
            raise IpsecConfigError("replay-window", "ESN needs an anti-replay window (RFC 4303 App. A)")
        self.transform = make_transform(self.aead, self.enc, self.auth)
        self.window = ReplayWindow(self.replay_window, self.esn)
        self._seq_max = (1 << 64) - 1 if self.esn else (1 << 32) - 1
        self._src_b = ipaddress.ip_address(self.src).packed
        self._dst_b = ipaddress.ip_address(self.dst).packed
        framer = esp.framer_for(self.transform, self.spi, self.esn)
        self._seal, self._open = framer.seal, framer.open
        self._authentic = self.window.update
        self.limits = SaLimits()  # updated in place: the fast path holds this object
        fast = fastpath.gcm_paths(self, self._cross_limits, self._seal_ref, self._open_ref)
        if fast is not None:  # instance attributes shadow the reference methods
            self.seal, self.open = fast  # type: ignore[method-assign]
        self._events: list[Event] = []
        self._soft_done = False
        self._set_limits()

    # -- lifetimes (RFC 4301 §4.4.2.1) -------------------------------------------------------

    def _set_limits(self) -> None:
        self.limits.set(self.lifetime, self.added, soft=not self._soft_done)

    def install(self, now: float, index: int) -> None:
        """Called by the SAD: start the seconds lifetimes at ``now``."""
        self.added, self.index = now, index
        self._set_limits()

    def next_deadline(self) -> float | None:
        """When a seconds lifetime fires next, or None."""
        t = self.limits.time
        return None if self.expired or t == inf else t

    def handle_timer(self, now: float) -> tuple[Event, ...]:
        """Fire due seconds lifetimes; returns the events."""
        if now >= self.limits.time and not self.expired:
            self._cross_limits(now)
        return self.drain()

    def _cross_limits(self, now: float) -> None:
        lt, c, age = self.lifetime, self.counters, now - self.added
        hard = [r for r, v, lim in (("packets", c.packets, lt.packet_hard), ("bytes", c.bytes, lt.byte_hard),
                                      ("time", age, lt.time_hard)) if lim is not None and v >= lim]
        if hard:
            self._expire(hard[0])
            return
        soft = [r for r, v, lim in (("packets", c.packets, lt.packet_soft), ("bytes", c.bytes, lt.byte_soft),
                                      ("time", age, lt.time_soft)) if lim is not None and v >= lim]
        if soft and not self._soft_done:
            self._soft_done = True
            self._events.append(RekeySoft(self.index, self.spi, self.reqid, soft[0]))
        self._set_limits()

    def _expire(self, reason: str) -> None:
        self.expired = True
        self._soft_done = True
        self._events.append(RekeyHard(self.index, self.spi, self.reqid, reason))
        self.limits.expire()  # every packet now takes the slow path to SaExpired

    def _alive(self, now: float) -> None:
        if not self.expired and now >= self.limits.time:
            self._cross_limits(now)
        if self.expired:
            raise SaExpired(f"SA 0x{self.spi:08x} passed its hard lifetime")

    def drain(self) -> tuple[Event, ...]:
        """Events raised since the last call (aioquic-style ``next_event`` in bulk)."""
        if not self._events:
            return _NO_EVENTS
        out = tuple(self._events)
        self._events.clear()
        return out

    # -- packets ------------------------------------------------------------------------------

    def seal(self, payload: bytes, next_header: int, now: float, iv: bytes | None = None) -> bytes:
        """Outbound ESP for one payload (RFC 4303 §3.3). ``iv`` only for known-answer tests."""
        return self._seal_ref(payload, next_header, now, iv)

    def open(self, packet: bytes, now: float) -> tuple[bytes, int, int]:
        """Inbound ESP (RFC 4303 §3.4) -> (payload, next header, full sequence number)."""
        return self._open_ref(packet, now)

    def _seal_ref(self, payload: bytes, next_header: int, now: float, iv: bytes | None = None) -> bytes:
        """Reference outbound path; ``fastpath.py`` defers here outside the common case."""
        lim = self.limits
        if now >= lim.time:  # lifetime due or SA expired
            self._alive(now)
        seq = self.oseq + 1
        if seq > self._seq_max:
            # RFC 4303 §3.3.3: never cycle; an auditable event, rekey needed
            if not self.expired:
                self._events.append(SequenceOverflowEvent(self.index, self.spi, self.reqid))
                self._expire("sequence")
            raise SequenceOverflow(f"SA 0x{self.spi:08x} sequence space exhausted")
        packet = self._seal(seq, iv, payload, next_header)
        self.oseq = seq
        c = self.counters
        c.packets += 1
        c.bytes += len(payload)
        if c.packets >= lim.packets or c.bytes >= lim.bytes:
            self._cross_limits(now)
        return packet

    def _open_ref(self, packet: bytes, now: float) -> tuple[bytes, int, int]:
        """Reference inbound path; ``fastpath.py`` defers here outside the common case."""
        lim = self.limits
        if now >= lim.time:  # lifetime due or SA expired
            self._alive(now)
        if len(packet) < 8:
            raise MalformedPacket("ESP header truncated")
        seq_low = _U32.unpack_from(packet, 4)[0]
        window = self.window
        seq = window.infer(seq_low) if self.esn else seq_low
        if seq <= window.top:  # ahead of the window always passes the check
            window.check(seq)  # §3.4.3: before any crypto
        # §3.4.3: the window moves (update) only once the ICV verified
        payload, next_header = self._open(packet, seq, self._authentic)
        c = self.counters
        c.packets += 1
        c.bytes += len(payload)
        if c.packets >= lim.packets or c.bytes >= lim.bytes:
            self._cross_limits(now)
        return payload, next_header, seq
