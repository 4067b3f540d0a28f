"""The mobile node's packet path: tunnel interface <-> IPsec <-> access interfaces.

Rule: glue only, no sockets; each call takes one packet and ``now`` and
returns what to send or deliver, or None after counting the drop (with a
reason for the rate-limited log). Framing is mip/frames.py and
mip/tunnel_frames.py, protection is the IPsec core (SPD/SAD as configured),
the tunnel is the core's current TunnelChanged path (data_tunnels.py):
- a BU (SendMh) or a prefix solicitation (SendPrefixSolicitation):
  signalling_packet -> IPsec (the BU SA, selected by MH type 5 / ICMPv6 type
  146; never sent in clear, RFC 3776 §4.1, §5.2.3) -> wrap_signalling -> out
  of ``path.interface``;
- data from the tunnel interface, sourced from a home address: IPsec (the
  payload SA, or BYPASS) -> the data tunnel -> out of its interface;
- a packet from an access interface, addressed to an address of that
  interface or to the CoA of a data tunnel: decapsulate -> ESP goes to
  IPsec, and the SA its SPI selects decides (draft-laganier requirement 3):
  the transport-mode BU/BA SA means signalling (parse_signalling -> a core
  event: BA, BRR, BE, or a prefix advertisement), a tunnel-mode SA (payload,
  or tunnelled HoT, RFC 3776 §5.2.2) means a packet for the tunnel interface;
  clear inner packets need an inbound BYPASS (RFC 4301 §5.2).
Outbound ESP sequence numbers are reserved in the state file before use
(seqstore.py, RFC 4303 §3.3.3).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from p4mobility.ipsec import Accepted, Bypassed, CryptoPath, Protected
from p4mobility.ipsec.spd import Dir, Mode
from p4mobility.mh import MhDecodeError
from p4mobility.mip import MnConfig, SendMh, SendPrefixSolicitation
from p4mobility.mip.data_tunnels import DataTunnels
from p4mobility.mip.frames import FrameError, parse_signalling, signalling_packet, tunnel_packet, wrap_signalling
from p4mobility.mip.tunnel_frames import decapsulate, tunnel_protected

from .seqstore import SeqStoreError, SequenceStore

Drop = Callable[..., None]


class MnDatapath:
    def __init__(self, config: MnConfig, crypto: CryptoPath, tunnels: DataTunnels,
                 esp_store: SequenceStore | None = None, on_drop: Drop | None = None) -> None:
        self.config, self.crypto, self.tunnels, self.esp_store = config, crypto, tunnels, esp_store
        self.ipv4_home_address: IPv4Address | None = None
        self.counters: Counter[str] = Counter()
        self._on_drop = on_drop or (lambda now, reason, **fields: None)
        self._out_sas = [sa for sa in crypto.sad if sa.dir is Dir.OUT]

    def drop(self, now: float, reason: str, **fields: Any) -> None:
        """Count a drop as ``drop_<reason>`` and hand it to the rate-limited log."""
        self.counters[f"drop_{reason}"] += 1
        self._on_drop(now, reason, **fields)

    def _protect(self, packet: bytes, now: float):
        """IPsec's verdict, or None when the ESP counters cannot be reserved (nothing is sent)."""
        if self.esp_store is not None:
            try:
                for sa in self._out_sas:  # reserve before any of them seals
                    self.esp_store.before_seal(sa)
            except SeqStoreError as exc:
                self.drop(now, "esp_state", error=str(exc))
                return None
        return self.crypto.protect(packet, now)

    # --- outbound ------------------------------------------------------------------------

    def signalling(self, send: SendMh | SendPrefixSolicitation, now: float) -> tuple[str, bytes] | None:
        r = self._protect(signalling_packet(send), now)
        if r is None:
            return None
        kind = "mps" if isinstance(send, SendPrefixSolicitation) else "bu"
        if not isinstance(r, Protected):  # RFC 3776 §4.1, §5.2.3: never sent without ESP
            self.drop(now, f"{kind}_not_protected", error=str(getattr(r, "error", "bypassed")))
            return None
        sa = self.crypto.sad.get(r.sa_index)
        if sa is None or sa.mode is not Mode.TRANSPORT:  # §5.2.1, §5.2.3: transport mode, not the payload SA
            self.drop(now, f"{kind}_not_protected", error="selected a tunnel-mode SA")
            return None
        self.counters[f"{kind}_sent"] += 1
        return send.path.interface, wrap_signalling(send.path, r.packet)

    def from_tunnel_interface(self, packet: bytes, now: float) -> tuple[str, bytes] | None:
        self.counters["tun_in"] += 1
        if not self._from_home(packet):
            self.drop(now, "not_from_home_address")
            return None
        path = self.tunnels.path()
        if path is None:
            self.drop(now, "no_tunnel")
            return None
        r = self._protect(packet, now)
        if r is None:
            return None
        try:
            if isinstance(r, Protected):
                wire = tunnel_protected(path, r.packet)
            elif isinstance(r, Bypassed):
                wire = tunnel_packet(path, packet)
            else:
                self.drop(now, "ipsec_out", error=type(r.error).__name__)
                return None
        except FrameError as exc:
            self.drop(now, "tunnel_framing", error=str(exc))
            return None
        self.counters["tunnel_out"] += 1
        return path.interface, wire

    def _from_home(self, packet: bytes) -> bool:
        if len(packet) >= 40 and packet[0] >> 4 == 6:
            return packet[8:24] == self.config.home_address.packed
        if len(packet) >= 20 and packet[0] >> 4 == 4 and self.ipv4_home_address is not None:
            return packet[12:16] == self.ipv4_home_address.packed
        return False

    # --- inbound -------------------------------------------------------------------------

    def from_access(self, packet: bytes, local: set, now: float) -> Any:
        """A core event (signalling), bytes for the tunnel interface (data), or None."""
        self.counters["wire_in"] += 1
        if not self._to_local(packet, local):
            self.drop(now, "not_to_a_coa")
            return None
        cfg = self.config
        try:
            d = decapsulate(packet, cfg.home_agent, cfg.home_agent_ipv4, cfg.home_address,
                            self.ipv4_home_address, cfg.mn_udp_port)
        except FrameError as exc:
            self.drop(now, "malformed", error=str(exc)[:160])
            return None
        if not d.esp:
            if not isinstance(self.crypto.process_clear_inbound(d.packet), Bypassed):
                self.drop(now, "clear_refused")  # RFC 4301 §5.2: the SPD wants ESP here
                return None
            self.counters["data_in"] += 1
            return d.packet
        r = self.crypto.process_inbound(d.packet, None, now)
        if not isinstance(r, Accepted):
            self.drop(now, "ipsec_in", error=type(r.error).__name__, sa_index=r.sa_index)
            return None
        sa = self.crypto.sad.get(r.sa_index)
        if sa is not None and sa.mode is Mode.TUNNEL:  # the payload SA: data (draft-laganier req. 3)
            self.counters["data_in"] += 1
            return r.packet
        try:  # the BU/BA SA: signalling
            event = parse_signalling(r.packet, cfg.home_address)
        except (FrameError, MhDecodeError) as exc:
            self.drop(now, "bad_signalling", error=str(exc)[:160])
            return None
        if event is None:
            self.drop(now, "unhandled_mh")
            return None
        self.counters["signalling_in"] += 1
        return event

    @staticmethod
    def _to_local(packet: bytes, local: set) -> bool:
        if len(packet) >= 40 and packet[0] >> 4 == 6:
            return IPv6Address(packet[24:40]) in local
        if len(packet) >= 20 and packet[0] >> 4 == 4:
            return IPv4Address(packet[16:20]) in local
        return False


__all__ = ["MnDatapath"]
