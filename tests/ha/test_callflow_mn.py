"""Call flow: the mobile node core (p4mobility.mip) registers with the home agent core through
real packet bytes, on a simulated clock.

The loop holds no protocol rules: the MN's BU is built by its own frames.py (HAO, or
IPv4/UDP 4191), crosses a NAT that rewrites the outer IPv4 source and UDP port when the MN
sits behind it, is found with mh/extract.py and decoded with the checksum verified; the HA's
BA is framed the way its route says (RH2 to the CoA, or IPv4/UDP to the recorded outer
address), crosses the NAT back and is parsed by the MN's frames.py. ESP is not applied here
(the IPsec core has its own tests): the HA is told the BU came on the SA of the MN's home
address, which is the only SA the MN has. Flow: register from an IPv6 CoA with an IPv4 home
address request, move to an IPv4 CoA behind the NAT (NAT detected, UDP tunnel to the NAT's
port), stay registered for several lifetimes by refreshes, then de-register on stop.
"""
from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

import pytest

mip = pytest.importorskip("p4mobility.mip", reason="the mobile node core (branch mnclient) is not merged here")

from p4mobility.binding import BindingDeleted, Transport  # noqa: E402
from p4mobility.ha import BuReceived, Ipv6Route, SendBindingAck  # noqa: E402
from p4mobility.mh import decode_mh, encode_mh, encode_type2_routing_header  # noqa: E402
from p4mobility.mh.extract import find_in_frame  # noqa: E402
from p4mobility.mh.pcap import LINKTYPE_RAW  # noqa: E402
from p4mobility.mip import frames  # noqa: E402

from tests.ha.ha_helpers import HA, HA4, HOA, NAT4, PRIV4, make_ha  # noqa: E402
from tests.mh.mh_testlib import ipv4, ipv6, udp  # noqa: E402

COA = IPv6Address("2001:db8:a::100")
NAT_PORT = 40000


def _rewrite_v4(packet: bytes, src=None, dst=None, sport=None, dport=None) -> bytes:
    """A NAT: new outer addresses/ports, IPv4 checksum recomputed, UDP checksum 0 (RFC 768)."""
    ihl = (packet[0] & 0x0F) * 4
    s, d = packet[12:16], packet[16:20]
    s, d = (src.packed if src else s), (dst.packed if dst else d)
    sp, dp, ulen, _ = struct.unpack_from("!HHHH", packet, ihl)
    hdr = bytearray(packet[:ihl])
    hdr[10:12], hdr[12:16], hdr[16:20] = b"\0\0", s, d
    total = sum(struct.unpack(f"!{ihl // 2}H", hdr))
    total = (total & 0xFFFF) + (total >> 16)
    hdr[10:12] = struct.pack("!H", ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF)
    return bytes(hdr) + struct.pack("!HHHH", sport or sp, dport or dp, ulen, 0) + packet[ihl + 8:]


class Net:
    """MN <-> (NAT) <-> HA, zero latency; records what crossed."""

    def __init__(self, mn, ha):
        self.mn, self.ha, self.now = mn, ha, 0.0
        self.log: list = []
        self.mn_actions: list = []
        self.ha_actions: list = []

    def to_ha(self, packet: bytes) -> None:
        if packet[0] >> 4 == 4 and IPv4Address(packet[12:16]) == PRIV4:  # leaving through the NAT
            packet = _rewrite_v4(packet, src=NAT4, sport=NAT_PORT)
        found = find_in_frame(packet, LINKTYPE_RAW)
        msg = decode_mh(found.mh, found.checksum_src, found.checksum_dst)
        outer = None
        if found.encapsulation == "ipv6-in-udp4191":
            ihl = (packet[0] & 0x0F) * 4
            outer = (found.outer_src, struct.unpack_from("!H", packet, ihl)[0])
        # the BU SA is bound to the MN's home address (RFC 3776 §4.1): it is what protected it
        ev = BuReceived(msg, found.ip_src, found.ip_dst, found.home_address, HOA, outer)
        self.log.append(("BU", self.now, ev))
        self._apply_ha(self.ha.handle(ev, self.now))

    def _apply_ha(self, actions: list) -> None:
        self.ha_actions += actions
        for a in actions:
            if isinstance(a, SendBindingAck):
                self.log.append(("BA", self.now, a))
                self.to_mn(self._ba_packet(a))

    @staticmethod
    def _ba_packet(a: SendBindingAck) -> bytes:
        r = a.route
        mh = encode_mh(a.message, r.src, r.home_address)
        if isinstance(r, Ipv6Route):
            assert r.type2_routing_header == HOA
            return ipv6(r.src, r.dst, 43, encode_type2_routing_header(135, HOA) + mh)
        return ipv4(r.ipv4_src, r.ipv4_dst, 17, udp(r.src_port, r.dst_port, ipv6(r.src, r.home_address, 135, mh)))

    def to_mn(self, packet: bytes) -> None:
        if packet[0] >> 4 == 4 and IPv4Address(packet[16:20]) == NAT4:  # back through the NAT
            packet = _rewrite_v4(packet, dst=PRIV4, dport=4191)
        ev = frames.parse_signalling(packet, HOA)
        self._apply_mn(self.mn.handle(ev, self.now))

    def _apply_mn(self, actions: list) -> None:
        self.mn_actions += actions
        for a in actions:
            if isinstance(a, mip.SendMh):
                self.to_ha(frames.wrap_signalling(a.path, frames.bu_packet(a)))

    def mn_event(self, ev) -> None:
        self._apply_mn(self.mn.handle(ev, self.now))

    def run_until(self, t: float) -> None:
        """Fire both cores' timers in deadline order up to ``t``."""
        while True:
            due = [d for d in (self.mn.next_deadline(), self.ha.next_deadline()) if d is not None and d <= t]
            if not due:
                break
            self.now = max(self.now, min(due))
            self._apply_mn(self.mn.handle_timer(self.now))
            self._apply_ha(self.ha.handle_timer(self.now))
        self.now = t


def test_rfc6275_rfc5555_mn_registers_moves_behind_a_nat_refreshes_and_deregisters():
    ha = make_ha()
    mn = mip.MobileNode(mip.MnConfig.from_dict({
        "home_address": str(HOA), "home_agent": str(HA), "home_agent_ipv4": str(HA4),
        "ipv4_home_address": "0.0.0.0", "requested_lifetime": 400.0}))
    net = Net(mn, ha)

    # RFC 6275 §11.7.1 / §10.3.1: home registration from an IPv6 CoA, IPv4 HoA assigned (RFC 5555)
    net.mn_event(mip.AddressAdded("wlan0", COA))
    v = ha.binding_for(HOA)
    assert v is not None and v.paths[0].coa == COA and v.paths[0].endpoints.transport is Transport.IPV6
    assigned = [a for a in net.mn_actions if isinstance(a, mip.HomeAddressAssigned)]
    assert [a.address for a in assigned] == [v.ipv4_home_address] and v.ipv4_home_address is not None
    assert any(isinstance(a, mip.Registered) and a.coa == COA for a in net.mn_actions)

    # RFC 5555 §4.2: to an IPv4-only network behind a NAT: the HA sees the NAT's address and port
    net.run_until(10.0)
    net.mn_actions.clear()
    net.mn_event(mip.AddressRemoved("wlan0", COA))
    net.mn_event(mip.AddressAdded("eth1", PRIV4))
    v = ha.binding_for(HOA)
    e = v.paths[0].endpoints
    assert (e.transport, e.remote, e.remote_port, e.local, e.local_port) == (
        Transport.UDP_IPV4, NAT4, NAT_PORT, HA4, 4191)
    assert v.careofs[0].coa == PRIV4 and v.careofs[0].nat_detected
    tunnels = [a.tunnel for a in net.mn_actions if isinstance(a, mip.TunnelChanged)]
    assert tunnels and tunnels[-1].encapsulation is mip.Encapsulation.UDP4 and tunnels[-1].coa == PRIV4

    # several lifetimes later the binding is still there: NAT keepalives (refresh BUs every
    # NAT Detection refresh time, 110 s) kept it, through the same NAT mapping
    seq_before, moved_at = v.sequence, len(net.log)
    net.run_until(2000.0)
    v = ha.binding_for(HOA)
    assert v is not None and v.sequence != seq_before and v.expires_at > 2000.0
    assert any(isinstance(a, mip.Keepalive) and a.interval == 110 for a in net.mn_actions)
    refreshes = [ev for kind, _, ev in net.log[moved_at:] if kind == "BU"]
    assert len(refreshes) >= (2000 - 10) // 110 - 1 and all(ev.outer_v4 == (NAT4, NAT_PORT) for ev in refreshes)
    assert not [a for a in net.ha_actions if isinstance(a, BindingDeleted)]
    bas = [a.message for kind, _, a in net.log if kind == "BA"]
    assert bas and all(ba.status == 0 for ba in bas)

    # RFC 6275 §11.7.1 lifetime 0 on stop: the HA removes everything and the MN is done
    net.mn_event(mip.StopRequested())
    assert ha.state() == () and ha.tunnel_peers() == []
    assert any(isinstance(a, mip.Stopped) for a in net.mn_actions)
    assert [a.reason for a in net.ha_actions if isinstance(a, BindingDeleted)] == ["deregistered"]
