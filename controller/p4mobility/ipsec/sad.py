"""Security Association Database (RFC 4301 §4.4.2).

Rule: inbound SAs are found by SPI; among SAs sharing an SPI the longest match
wins, {SPI, dst, src} before {SPI, dst} (RFC 4303 §2.1); an SPI whose SA names
another destination is unknown (drop + audit, RFC 4303 §3.4.2). Addresses are
the selected ones (HoA after the HAO / type 2 routing header swap, RFC 3776
§4.3), so a tunnel SA keeps matching while the CoA moves. Outbound SAs are
found from an SPD entry's template by reqid and mode (ip-xfrm `tmpl reqid`).
Every SA gets a small integer index: the crypto header's sa_index.
"""
from __future__ import annotations

import ipaddress

from .errors import NoOutboundSa, UnknownSpi
from .events import Event
from .sa import Sa
from .spd import Dir, Template


class Sad:
    """SAs by index, inbound by SPI, outbound by reqid."""

    def __init__(self) -> None:
        self._by_index: dict[int, Sa] = {}
        self._by_spi: dict[int, list[Sa]] = {}
        self._next_index = 1

    def __iter__(self):
        return iter(self._by_index.values())

    def __len__(self) -> int:
        return len(self._by_index)

    def add(self, sa: Sa, now: float) -> int:
        """Install ``sa`` (its seconds lifetimes start at ``now``); returns its index."""
        if sa.dir == Dir.IN:
            for other in self._by_spi.get(sa.spi, ()):
                if other.dst == sa.dst and other.src == sa.src:
                    raise ValueError(f"duplicate inbound SA spi 0x{sa.spi:08x} dst {sa.dst}")
        index = self._next_index
        self._next_index += 1
        sa.install(now, index)
        self._by_index[index] = sa
        if sa.dir == Dir.IN:
            self._by_spi.setdefault(sa.spi, []).append(sa)
        return index

    def remove(self, index: int) -> Sa:
        sa = self._by_index.pop(index)
        peers = self._by_spi.get(sa.spi, [])
        if sa in peers:
            peers.remove(sa)
            if not peers:
                del self._by_spi[sa.spi]
        return sa

    def get(self, index: int) -> Sa | None:
        return self._by_index.get(index)

    def lookup_inbound(self, spi: int, dst: bytes, src: bytes) -> Sa:
        """Longest match {SPI,dst,src} -> {SPI,dst} (RFC 4303 §2.1)."""
        dst_s = str(ipaddress.ip_address(dst))
        best = None
        for sa in self._by_spi.get(spi, ()):
            if sa.dst != dst_s:
                continue
            if sa.src == str(ipaddress.ip_address(src)):
                return sa
            best = best or sa
        if best is None:
            raise UnknownSpi(f"no inbound SA for spi 0x{spi:08x} dst {dst_s}")
        return best

    def lookup_outbound(self, tmpl: Template) -> Sa:
        """The live outbound SA for a PROTECT template (RFC 4301 §5.1)."""
        for sa in self._by_index.values():
            if sa.dir == Dir.OUT and sa.reqid == tmpl.reqid and sa.mode == tmpl.mode and not sa.expired:
                return sa
        raise NoOutboundSa(f"no outbound SA for reqid {tmpl.reqid}")

    def next_deadline(self) -> float | None:
        """Earliest seconds-lifetime deadline of any SA."""
        deadlines = [d for sa in self._by_index.values() if (d := sa.next_deadline()) is not None]
        return min(deadlines, default=None)

    def handle_timer(self, now: float) -> list[Event]:
        """Fire due lifetimes of all SAs."""
        events: list[Event] = []
        for sa in self._by_index.values():
            events.extend(sa.handle_timer(now))
        return events
