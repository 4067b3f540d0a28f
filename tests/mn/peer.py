"""The home agent's wire side, played by the test until the real home agent
node exists: scapy for frames, the project's IPsec core (the mirror of the
MN's IPsec file) and MH codec for the messages.

Rule: written from the RFCs, not from the daemon. A BU (RFC 6275 §11.7.1,
RFC 5555 §4.1) is opened with the HA's BU SA and answered with a BA that
copies its Sequence Number and lifetime (§10.3.1), ESP-protected with the
BA SA: from an IPv6 CoA IPv6{HA -> CoA} RH2{HoA} ESP{BA} (§6.4), over IPv4
IPv4{HA4 -> outer source} UDP{4191 -> outer port} IPv6{HA -> HoA} ESP{BA};
optional NAT Detection and IPv4 Address Acknowledgement options. Data
tunnelled to the HA is opened (payload SA, or clear), an ICMPv6/ICMP echo
request to a correspondent is answered by the correspondent's echo reply,
sent back the same way (the payload SA's output with its destination
rewritten to the CoA, draft-laganier requirement 1). BAs can be held
(``hold``) and released later. Everything seen is kept in ``seen``.
"""
from __future__ import annotations

import select
import socket
import threading
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import HAO, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4mobility.ipsec import Accepted, CryptoPath, Protected
from p4mobility.ipsec.config import load_config
from p4mobility.ipsec.spd import Mode
from p4mobility.mh import BindingAck, BindingUpdate, decode_mh, encode_mh
from p4mobility.mh.exthdr import encode_type2_routing_header

from tests.mn.mnlab import HA, HA4, HOA, MAC, PEER_OF, in_netns

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


@dataclass
class Seen:
    port: str
    frame: bytes
    kind: str  # "bu", "data", "other"
    outer_src: str | None = None
    outer: str = ""  # "ipv6", "ipv4", "udp"
    sport: int | None = None
    esp_spi: int | None = None
    bu: BindingUpdate | None = None
    inner: bytes = b""


@dataclass
class HaPeer:
    lab: object
    nat_detection: int | None = None  # refresh time: add a NAT Detection option to BAs over UDP
    assign_ipv4: IPv4Address | None = None  # IPv4 Address Acknowledgement for an IPv4 HoA request
    hold: bool = False
    seen: list[Seen] = field(default_factory=list)
    held: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.crypto = CryptoPath(*self._sad_spd())
        self.lock = threading.Condition()
        self.socks: dict[str, socket.socket] = {}
        with in_netns(self.lab.peer_ns):
            for port in PEER_OF.values():
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                s.bind((port, 0))
                self.socks[port] = s
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sad_spd(self):
        cfg = load_config(self.lab.root / "ipsec-ha.toml")
        return cfg.build_sad(0.0), cfg.spd

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        for s in self.socks.values():
            s.close()

    # --- receiving --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select(list(self.socks.values()), [], [], 0.1)
            for s in ready:
                frame, addr = s.recvfrom(65535)
                if addr[2] == PACKET_OUTGOING:
                    continue
                port = next(p for p, sock in self.socks.items() if sock is s)
                seen = self._classify(port, frame)
                with self.lock:
                    if seen is not None:
                        self.seen.append(seen)
                    self.lock.notify_all()

    def _classify(self, port: str, frame: bytes) -> Seen | None:
        eth = Ether(frame)
        if IPv6 in eth and eth[IPv6].dst == str(HA) and eth.type == 0x86DD:
            ip6 = eth[IPv6]
            return self._from_mn(port, frame, bytes(ip6), "ipv6", ip6.src, None)
        if IP in eth and eth[IP].dst == str(HA4):
            ip4 = eth[IP]
            if UDP in ip4 and ip4[UDP].dport == 4191:
                return self._from_mn(port, frame, bytes(ip4), "udp", ip4.src, ip4[UDP].sport)
            if ip4.proto in (41, 4):
                return self._from_mn(port, frame, bytes(ip4), "ipv4", ip4.src, None)
        return None

    def _from_mn(self, port, frame, packet, outer, src, sport) -> Seen:
        seen = Seen(port, frame, "other", src, outer, sport)
        inner, tunnelled = packet, True
        if outer == "ipv4":
            inner = bytes(IP(packet).payload)
        elif outer == "udp":
            inner = bytes(IP(packet)[UDP].payload)
        elif IPv6(packet).nh in (41, 4):
            inner = bytes(IPv6(packet).payload)
        else:
            tunnelled = False  # ESP right after the outer header, or the MN kernel's own (ICMPv6 errors)
        if inner and inner[0] >> 4 == 6 and 50 in _chain(inner):
            seen.esp_spi = int.from_bytes(inner[_esp_at(inner):_esp_at(inner) + 4], "big")
            opened = self.crypto.process_inbound(packet if outer in ("ipv6", "udp") else inner, None, 0.0)
            if not isinstance(opened, Accepted):
                return seen
            sa = self.crypto.sad.get(opened.sa_index)
            if sa.mode is Mode.TRANSPORT:
                clear = opened.packet
                ip6 = IPv6(bytes(IP(clear)[UDP].payload)) if outer == "udp" else IPv6(clear)
                body = bytes(ip6[IPv6ExtHdrDestOpt].payload) if IPv6ExtHdrDestOpt in ip6 else bytes(ip6.payload)
                hoa = ip6[HAO].hoa if HAO in ip6 else ip6.src
                seen.kind, seen.bu = "bu", decode_mh(body, IPv6Address(hoa), HA)
                self._answer_bu(seen)
                return seen
            inner = opened.packet
        elif not tunnelled:
            return seen
        seen.kind, seen.inner = "data", inner
        self._echo(seen)
        return seen

    # --- answering ---------------------------------------------------------------------

    def _answer_bu(self, seen: Seen) -> None:
        bu = seen.bu
        opts = []
        if seen.outer == "udp" and self.nat_detection is not None:  # RFC 5555 §3.2.2
            from p4mobility.mh import NatDetection
            opts.append(NatDetection(True, self.nat_detection))
        if self.assign_ipv4 is not None and bu.lifetime:
            from p4mobility.mh import Ipv4AddressAcknowledgement, Ipv4HomeAddress
            if bu.option(Ipv4HomeAddress) is not None:
                opts.append(Ipv4AddressAcknowledgement(0, 32, self.assign_ipv4))
        from p4mobility.mh import BindingIdentifier
        opts += [BindingIdentifier(b.bid, 0, coa=b.coa) for b in bu.options_of(BindingIdentifier)]  # RFC 5648 §6.1
        ba = BindingAck(0, bu.sequence, bu.lifetime, options=tuple(opts))
        with self.lock:
            if self.hold:
                self.held.append((seen, ba))
                return
        self.send_ba(seen, ba)

    def release(self) -> None:
        with self.lock:
            self.hold = False
            held, self.held = self.held, []
        for seen, ba in held:
            self.send_ba(seen, ba)

    def send_ba(self, seen: Seen, message) -> None:
        """A BA (or a BRR, BE: any MH to the MN) back by the way ``seen`` came, ESP-protected."""
        mh = encode_mh(message, HA, HOA)  # checksum over the final addresses (RFC 6275 §6.1.1)
        if seen.outer == "ipv6":  # RFC 6275 §6.4: RH2 with the home address
            clear = bytes(IPv6(src=str(HA), dst=seen.outer_src, nh=43) / Raw(encode_type2_routing_header(135, HOA) + mh))
        else:
            clear = bytes(IPv6(src=str(HA), dst=str(HOA), nh=135) / Raw(mh))
        sealed = self.crypto.protect(clear, 0.0)
        assert isinstance(sealed, Protected), sealed
        self.send_back(seen, sealed.packet, wrap=seen.outer != "ipv6")

    def send_back(self, seen: Seen, packet: bytes, wrap: bool = True) -> None:
        """To the MN by the way ``seen`` came: wrapped for IPv4 paths, or as is."""
        if seen.outer == "udp":
            pkt = bytes(IP(src=str(HA4), dst=seen.outer_src) / UDP(sport=4191, dport=seen.sport) / Raw(packet))
        elif seen.outer == "ipv4":
            pkt = bytes(IP(src=str(HA4), dst=seen.outer_src, proto=41 if packet[0] >> 4 == 6 else 4) / Raw(packet))
        elif wrap:
            pkt = bytes(IPv6(src=str(HA), dst=seen.outer_src, nh=41 if packet[0] >> 4 == 6 else 4) / Raw(packet))
        else:
            pkt = packet
        self.inject(seen.port, pkt)

    def inject(self, port: str, packet: bytes) -> None:
        acc = next(a for a, p in PEER_OF.items() if p == port)
        ethertype = 0x86DD if packet[0] >> 4 == 6 else 0x0800
        self.socks[port].send(bytes(Ether(src=MAC[port], dst=MAC[acc], type=ethertype)) + packet)

    def _echo(self, seen: Seen) -> None:
        inner = seen.inner
        if inner[0] >> 4 == 6:
            req = IPv6(inner)
            if ICMPv6EchoRequest not in req:
                return
            e = req[ICMPv6EchoRequest]
            reply = bytes(IPv6(src=req.dst, dst=req.src) / ICMPv6EchoReply(id=e.id, seq=e.seq, data=e.data))
        else:
            req = IP(inner)
            if ICMP not in req or req[ICMP].type != 8:
                return
            reply = bytes(IP(src=req.dst, dst=req.src) / ICMP(type=0, id=req[ICMP].id, seq=req[ICMP].seq)
                          / Raw(bytes(req[ICMP].payload)))
        if seen.esp_spi is not None:  # payload SA, then requirement 1: destination HoA -> CoA
            sealed = self.crypto.protect(reply, 0.0)
            assert isinstance(sealed, Protected), sealed
            esp = sealed.packet
            if seen.outer == "ipv6":
                self.inject(seen.port, esp[:24] + ip_address(seen.outer_src).packed + esp[40:])
            else:
                self.send_back(seen, esp)
            return
        self.send_back(seen, reply)

    # --- what the tests ask -------------------------------------------------------------

    def wait(self, what: str, pred, timeout: float = 10.0) -> Seen:
        """The first seen packet (in order) matching ``pred``, waiting until the deadline."""
        import time
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for s in self.seen:
                    if pred(s):
                        return s
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the peer saw no {what} in {timeout} s; saw "
                                         f"{[(s.port, s.kind, s.outer, s.outer_src) for s in self.seen]}")
                self.lock.wait(left)

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()


def _chain(p: bytes) -> list[int]:
    nh, off, out = p[6], 40, [p[6]]
    while nh in (0, 43, 60) and off + 2 <= len(p):
        nh, off = p[off], off + (p[off + 1] + 1) * 8
        out.append(nh)
    return out


def _esp_at(p: bytes) -> int:
    nh, off = p[6], 40
    while nh in (0, 43, 60):
        nh, off = p[off], off + (p[off + 1] + 1) * 8
    return off
