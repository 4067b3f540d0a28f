"""What the host-mobility lab's captures show: ESP by SPI and sequence number, link by link.

Rule: the pcaps the lab writes on the HA switch's access links and on its
crypto port are walked here byte by byte (no code of the nodes is used) (Ethernet, IPv4/UDP 4191, IPv6 and
its Destination Options / Routing headers, up to ESP), every length checked;
ESP is identified by SPI and sequence number, never decrypted here (tshark
does that with the exported keys). Crypto-port frames carry the 10-byte
crypto header of docs/dataplane.md after Ethernet (EtherType 0x88B5).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path


ETH_IPV4, ETH_IPV6, ETH_CRYPTO = 0x0800, 0x86DD, 0x88B5
ENCRYPTED, DECRYPT = 4, 1  # crypto_meta.direction


@dataclass(frozen=True)
class EspSeen:
    t: float
    src: IPv4Address | IPv6Address  # the outermost source (a NAT's public address over UDP)
    dst: IPv4Address | IPv6Address
    spi: int
    seq: int
    body: bytes  # ESP header onwards
    outer: str  # "ipv6", "udp", "ipv6-in-ipv6", "ipv6-in-ipv4" (src / dst: the inner IPv6 ones)
    sport: int | None = None
    rh2: IPv6Address | None = None  # the Type 2 Routing Header's home address
    inner_dst: IPv6Address | None = None  # the IPv6 destination inside UDP 4191 / IPv6-in-IPv6


def _ipv6_to_esp(p: bytes) -> tuple[int, IPv6Address | None] | None:
    """Offset of ESP in an IPv6 packet (after DestOpt/Routing headers) and the RH2 address."""
    if len(p) < 40 or p[0] >> 4 != 6:
        return None
    nh, off, rh2 = p[6], 40, None
    for _ in range(4):
        if nh == 50:
            return (off, rh2) if len(p) >= off + 8 else None
        if nh not in (43, 60) or len(p) < off + 8:
            return None
        size = (p[off + 1] + 1) * 8
        if nh == 43 and p[off + 2] == 2 and size == 24 and len(p) >= off + 24:
            rh2 = IPv6Address(p[off + 8:off + 24])
        nh, off = p[off], off + size
    return None


def esp_in(packet: bytes, t: float) -> EspSeen | None:
    """The ESP of one IP packet as it crossed a link, or None."""
    if not packet:
        return None
    if packet[0] >> 4 == 4 and len(packet) >= 20 and packet[9] == 41:  # IPv6-in-IPv4 (RFC 5555 §4.1, no NAT)
        ihl = (packet[0] & 0x0F) * 4
        inner = packet[ihl:]
        got = _ipv6_to_esp(inner)
        if got is None:
            return None
        spi, seq = struct.unpack_from("!II", inner, got[0])
        return EspSeen(t, IPv6Address(inner[8:24]), IPv6Address(inner[24:40]), spi, seq, inner[got[0]:],
                       "ipv6-in-ipv4", None, got[1], IPv6Address(inner[24:40]))
    if packet[0] >> 4 == 4:
        if len(packet) < 28 or packet[9] != 17:
            return None
        ihl = (packet[0] & 0x0F) * 4
        sport, dport = struct.unpack_from("!HH", packet, ihl)
        if 4191 not in (sport, dport):
            return None
        inner = packet[ihl + 8:]
        got = _ipv6_to_esp(inner)
        if got is None:
            return None
        off, rh2 = got
        spi, seq = struct.unpack_from("!II", inner, off)
        return EspSeen(t, IPv4Address(packet[12:16]), IPv4Address(packet[16:20]), spi, seq, inner[off:], "udp",
                       sport, rh2, IPv6Address(inner[24:40]))
    if len(packet) >= 80 and packet[6] == 41:  # IPv6-in-IPv6: the tunnel a rewrite avoids
        inner = packet[40:]
        got = _ipv6_to_esp(inner)
        if got is None:
            return None
        spi, seq = struct.unpack_from("!II", inner, got[0])
        return EspSeen(t, IPv6Address(packet[8:24]), IPv6Address(packet[24:40]), spi, seq, inner[got[0]:],
                       "ipv6-in-ipv6", None, got[1], IPv6Address(inner[24:40]))
    got = _ipv6_to_esp(packet)
    if got is None:
        return None
    off, rh2 = got
    spi, seq = struct.unpack_from("!II", packet, off)
    return EspSeen(t, IPv6Address(packet[8:24]), IPv6Address(packet[24:40]), spi, seq, packet[off:], "ipv6",
                   None, rh2)


_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1e6), b"\xa1\xb2\xc3\xd4": (">", 1e6),
          b"\x4d\x3c\xb2\xa1": ("<", 1e9), b"\xa1\xb2\x3c\x4d": (">", 1e9)}


def _frames(pcap: Path):
    """(timestamp, frame) of a classic pcap file (tcpdump -w); a record still being written is left out."""
    try:
        data = pcap.read_bytes()
    except OSError:
        return
    if len(data) < 24 or data[:4] not in _MAGIC:
        return
    bo, unit = _MAGIC[data[:4]]
    rec = struct.Struct(bo + "IIII")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = rec.unpack_from(data, off)
        off += 16
        if off + incl > len(data):
            return
        yield sec + frac / unit, data[off:off + incl]
        off += incl


def esp_on_link(pcap: Path) -> list[EspSeen]:
    """Every ESP packet of an access-link capture, in order."""
    out = []
    for t, f in _frames(pcap):
        if len(f) >= 14 and struct.unpack_from("!H", f, 12)[0] in (ETH_IPV4, ETH_IPV6):
            seen = esp_in(f[14:], t)
            if seen is not None:
                out.append(seen)
    return out


def crypto_port(pcap: Path, direction: int) -> list[tuple[int, EspSeen]]:
    """(sa_index, ESP) of the crypto-port frames of ``direction`` (ENCRYPTED results, DECRYPT requests)."""
    out = []
    for t, f in _frames(pcap):
        if len(f) < 24 or struct.unpack_from("!H", f, 12)[0] != ETH_CRYPTO or f[18] != direction:
            continue
        seen = esp_in(f[24:], t)
        if seen is not None:
            out.append((struct.unpack_from("!I", f, 14)[0], seen))
    return out


def encrypted_flows(pcap: Path) -> list[tuple[int, EspSeen]]:
    """(crypto_meta.flow, ESP) of every ENCRYPTED result: the flow byte the switch put on the
    request, echoed by the crypto path (docs/dataplane.md)."""
    out = []
    for t, f in _frames(pcap):
        if len(f) < 24 or struct.unpack_from("!H", f, 12)[0] != ETH_CRYPTO or f[18] != ENCRYPTED:
            continue
        seen = esp_in(f[24:], t)
        if seen is not None:
            out.append((f[19], seen))
    return out


def flow_byte(sport: int, dport: int) -> int:
    """docs/dataplane.md: the TCP/UDP ports folded into the crypto header's flow byte."""
    return (sport ^ (sport >> 8) ^ dport ^ (dport >> 8)) & 0xFF


def links_by_flow(links: dict[str, Path], crypto: Path, spi: int, since: float = 0.0,
                  until: float = float("inf")) -> dict[int, set[str]]:
    """Per crypto_meta.flow byte, the links (name -> capture) its ESP of SA ``spi`` left by between
    ``since`` and ``until``: the ENCRYPTED result's (SPI, sequence) found again on a link (RFC 5648)."""
    where = {(e.spi, e.seq): name for name, pcap in links.items() for e in esp_on_link(pcap)
             if since < e.t < until and e.spi == spi}
    out: dict[int, set[str]] = {}
    for flow, e in encrypted_flows(crypto):
        if since < e.t < until and e.spi == spi and (e.spi, e.seq) in where:
            out.setdefault(flow, set()).add(where[(e.spi, e.seq)])
    return out


def addr(a: str) -> IPv4Address | IPv6Address:
    return ip_address(a)


__all__ = ["EspSeen", "esp_in", "esp_on_link", "crypto_port", "encrypted_flows", "flow_byte", "links_by_flow",
           "ENCRYPTED", "DECRYPT", "addr"]
