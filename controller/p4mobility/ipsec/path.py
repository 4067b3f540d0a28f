"""The host-side crypto path: whole IP packets in, whole IP packets out.

Rule: this is the sans-I/O core a thin asyncio adapter on the switch's crypto
port drives: ``process_inbound(packet, sa_index_or_None, now)`` and
``process_outbound(packet, sa_index, now)`` return ``Accepted``/``Protected``
or ``Dropped`` (typed reason) with events; nothing raises for a bad packet.
Inbound (RFC 4303 §3.4): a DSMIPv6 IPv4/UDP-4191 wrapper is kept around
the result (transport mode) or dropped with the tunnel, fragments dropped, SA by index (the switch matched
{dst, SPI}) or by SPI lookup, replay/ICV/decrypt in the SA, then the
decrypted packet must match the SA's selectors and the SPD (RFC 4301 §5.2).
Outbound (RFC 4301 §5.1): ``protect`` consults the SPD (first match; none
= DISCARD); transport mode keeps HAO/RH2 outside ESP, tunnel mode wraps;
a DSMIPv6 IPv4/UDP-4191 wrapper around the IPv6 packet to protect (a home
agent's BA to a NAT'd care-of address, RFC 5555 §4.1) stays outside ESP as
it came, its lengths and IPv4 checksum fixed around the result.
"""
from __future__ import annotations

from .errors import (IcvError, IpsecError, MalformedPacket, NoOutboundSa, PolicyDiscard,
                     PolicyMismatch, ReplayError, UnknownSpi, FragmentReceived)
from .esp import parse_header
from .events import Accepted, Bypassed, Dropped, Event, IcvFailure, Protected, ReplayDrop
from .ipframe import (DSMIP_UDP_PORT, Proto, join_udp_encap, split_udp_encap, transport_join, transport_split,
                      tunnel_header, upper_layer_ports, view_end, walk)
from .sad import Sad
from .sa import Sa
from .spd import Action, Dir, Mode, Spd, selector_from_packet


class CryptoPath:
    """SAD + optional SPD; every call takes ``now`` and returns a value."""

    def __init__(self, sad: Sad, spd: Spd | None = None) -> None:
        self.sad = sad
        self.spd = spd
        self.unknown_spi = 0  # drops with no SA to count them on

    # -- inbound -------------------------------------------------------------------------------

    def process_inbound(self, packet: bytes, sa_index: int | None, now: float) -> Accepted | Dropped:
        """Verify and decrypt one ESP packet (outer IP header included)."""
        sa: Sa | None = None
        seq_low = 0
        try:
            view = walk(packet)
            outer = b""
            if view.version == 4 and view.proto == Proto.UDP:
                outer, packet = split_udp_encap(packet, view)  # RFC 5555 §4.1
                view = walk(packet)
            if view.fragment:
                raise FragmentReceived("reassemble before ESP (RFC 4303 §3.4.1)")
            if view.proto != Proto.ESP:
                raise MalformedPacket(f"next header {view.proto} is not ESP")
            esp = packet[view.start:view_end(packet, view)]
            spi, seq_low = parse_header(esp)
            sa = self._inbound_sa(spi, sa_index, view.dst, view.src)
            payload, nh, seq = sa.open(esp, now)
            if sa.mode == Mode.TUNNEL:
                if nh not in (Proto.IPV6, Proto.IPIP):
                    raise PolicyMismatch(f"tunnel-mode SA carried next header {nh}")
                inner = payload
            else:
                inner = transport_join(view, packet[:view.start], payload, nh)
            self._check_policy(sa, inner)
            if outer and sa.mode == Mode.TRANSPORT:
                inner = join_udp_encap(outer, inner)
            return Accepted(inner, sa.index, nh, seq, sa.drain())
        except IpsecError as exc:
            return self._drop(exc, sa, seq_low)

    def _inbound_sa(self, spi: int, sa_index: int | None, dst: bytes, src: bytes) -> Sa:
        if sa_index is None:
            return self.sad.lookup_inbound(spi, dst, src)
        sa = self.sad.get(sa_index)
        if sa is None or sa.spi != spi or sa.dir != Dir.IN:
            raise UnknownSpi(f"sa_index {sa_index} does not hold inbound spi 0x{spi:08x}")
        return sa

    def _check_policy(self, sa: Sa, inner: bytes) -> None:
        # RFC 4301 §5.2: the decrypted packet must fit the SA's selectors / SPD
        if sa.sel is None and self.spd is None:
            return
        try:
            ps = selector_from_packet(inner)
        except MalformedPacket:
            raise PolicyMismatch("decrypted packet is not a valid IP packet") from None
        if sa.sel is not None and not sa.sel.matches(ps, Dir.IN):
            raise PolicyMismatch("decrypted packet outside the SA selector")
        if self.spd is not None:
            entry = self.spd.lookup(Dir.IN, ps)
            if entry is None or entry.tmpl is None or entry.tmpl.reqid != sa.reqid:
                raise PolicyMismatch("no PROTECT policy of this SA's reqid matches")

    def process_clear_inbound(self, packet: bytes) -> Bypassed | Dropped:
        """A packet that arrived without ESP: only a BYPASS entry lets it in (RFC 4301 §5.2)."""
        try:
            entry = self.spd.lookup(Dir.IN, selector_from_packet(packet)) if self.spd else None
        except IpsecError as exc:
            return Dropped(exc)
        if entry is not None and entry.action == Action.BYPASS:
            return Bypassed(packet)
        return Dropped(PolicyDiscard("clear packet where policy needs ESP or discards"))

    # -- outbound ------------------------------------------------------------------------------

    def protect(self, packet: bytes, now: float) -> Protected | Bypassed | Dropped:
        """SPD lookup then ESP (RFC 4301 §5.1); no matching entry = DISCARD."""
        try:
            entry = self.spd.lookup(Dir.OUT, selector_from_packet(packet)) if self.spd else None
            if entry is None or entry.action == Action.DISCARD:
                raise PolicyDiscard("SPD: discard")
            if entry.action == Action.BYPASS:
                return Bypassed(packet)
            assert entry.tmpl is not None
            sa = self.sad.lookup_outbound(entry.tmpl)
        except IpsecError as exc:
            return Dropped(exc)
        return self.process_outbound(packet, sa.index, now)

    def process_outbound(self, packet: bytes, sa_index: int, now: float) -> Protected | Dropped:
        """Apply the SA ``sa_index`` to one IP packet."""
        sa = self.sad.get(sa_index)
        try:
            if sa is None or sa.dir != Dir.OUT:
                raise NoOutboundSa(f"sa_index {sa_index} is not an outbound SA")
            outer = b""
            if packet[:1] and packet[0] >> 4 == 4:
                view = walk(packet)
                if view.proto == Proto.UDP and DSMIP_UDP_PORT in upper_layer_ports(packet, view):
                    outer, packet = split_udp_encap(packet, view)  # RFC 5555 §4.1: outside ESP
            if sa.mode == Mode.TUNNEL:
                view = walk(packet)
                inner = packet[:view_end(packet, view)]
                esp = sa.seal(inner, Proto.IPV6 if view.version == 6 else Proto.IPIP, now)
                out = tunnel_header(sa._src_b, sa._dst_b, len(esp)) + esp
            else:
                view, headers, payload = transport_split(packet)
                esp = sa.seal(payload, view.proto, now)
                out = transport_join(view, headers, esp, Proto.ESP)
            if outer:
                out = join_udp_encap(outer, out)
            return Protected(out, sa.index, sa.oseq, sa.drain())
        except IpsecError as exc:
            return self._drop(exc, sa, 0)

    # -- shared --------------------------------------------------------------------------------

    def _drop(self, exc: IpsecError, sa: Sa | None, seq_low: int) -> Dropped:
        if sa is None:
            if isinstance(exc, UnknownSpi):
                self.unknown_spi += 1
            return Dropped(exc)
        setattr(sa.counters, exc.counter, getattr(sa.counters, exc.counter) + 1)
        events: tuple[Event, ...] = sa.drain()
        if isinstance(exc, ReplayError):
            events += (ReplayDrop(sa.index, sa.spi, seq_low),)
        elif isinstance(exc, IcvError):
            events += (IcvFailure(sa.index, sa.spi, seq_low),)
        return Dropped(exc, sa.index, events)

    def next_deadline(self) -> float | None:
        """Earliest lifetime deadline; re-arm the adapter's timer with it."""
        return self.sad.next_deadline()

    def handle_timer(self, now: float) -> list[Event]:
        return self.sad.handle_timer(now)
