"""The tunnel interface's framing (mip/tunnel_frames.py) with the project's real
IPsec core on both ends and scapy as the independent parser: RFC 3776 §3.4
payload format, RFC 5555 §4.1 UDP 4191, draft-laganier requirements 1 and 3
seen from the mobile node, and garbage that must raise FrameError only."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP, ICMP
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest, IPv6ExtHdrRouting
from scapy.layers.ipsec import ESP

from p4mobility.ipsec import (AEAD_GCM, Accepted, Action, Algo, CryptoPath, Dir, Mode, Protected, Sa, Sad,
                              Selector, Spd, SpdEntry, Template)
from p4mobility.mip import Encapsulation, OuterUdp4, Path, TunnelChanged
from p4mobility.mip.data_tunnels import DataTunnels
from p4mobility.mip.frames import FrameError, tunnel_packet
from p4mobility.mip.tunnel_frames import decapsulate, tunnel_protected
from tests.mip.mip_helpers import COA4, COA_A, COA_B, HA, HA4, HOA

CN = IPv6Address("2001:db8:c::2")
HOA4 = IPv4Address("10.200.0.5")
PAYLOAD_OUT, PAYLOAD_IN = 0x3000, 0x3001
KEY_OUT, KEY_IN = bytes(range(40, 60)), bytes(range(60, 80))
PORT = 40000
V6 = Path("eth0", Encapsulation.IPV6, COA_A, HA)
V4 = Path("wlan0", Encapsulation.IPV4, COA4, HA4)
U4 = Path("wlan0", Encapsulation.UDP4, COA4, HA4, PORT, 4191)


def crypto(side: str) -> CryptoPath:
    """The payload SA pair in tunnel mode between HoA and HA (draft-laganier §4.2:
    one host-wide entry on the home address, no tunnel-interface selector)."""
    mn = side == "mn"
    sad = Sad()
    sad.add(Sa(PAYLOAD_OUT, str(HOA), str(HA), dir="out" if mn else "in", mode="tunnel", reqid=3,
               aead=Algo(AEAD_GCM, KEY_OUT)), 0.0)
    sad.add(Sa(PAYLOAD_IN, str(HA), str(HOA), dir="in" if mn else "out", mode="tunnel", reqid=4,
               aead=Algo(AEAD_GCM, KEY_IN)), 0.0)
    local = f"{HOA}/128" if mn else None
    remote = None if mn else f"{HOA}/128"
    spd = Spd([SpdEntry(Dir.OUT, Selector(local=local, remote=remote), Action.PROTECT,
                        Template(3 if mn else 4, Mode.TUNNEL)),
               SpdEntry(Dir.IN, Selector(local=local, remote=remote), Action.PROTECT,
                        Template(4 if mn else 3, Mode.TUNNEL))])
    return CryptoPath(sad, spd)


def ping(src=HOA, dst=CN) -> bytes:
    return bytes(IPv6(src=str(src), dst=str(dst)) / ICMPv6EchoRequest(id=7, seq=1, data=b"x" * 24))


def decap(packet: bytes, hoa4=None):
    return decapsulate(packet, HA, HA4, HOA, hoa4, PORT)


def test_rfc3776_3_4_payload_from_an_ipv6_coa_leaves_from_the_coa():
    sealed = crypto("mn").protect(ping(), 1.0)
    assert isinstance(sealed, Protected)
    assert IPv6(sealed.packet).src == str(HOA)  # IPsec's tunnel endpoint is the home address
    wire = tunnel_protected(V6, sealed.packet)
    outer = IPv6(wire)
    assert (outer.src, outer.dst, outer.nh) == (str(COA_A), str(HA), 50)
    assert outer[ESP].spi == PAYLOAD_OUT
    # the HA's end finds the SA by {SPI, HA} whatever the CoA is (RFC 4303 §2.1)
    opened = crypto("ha").process_inbound(wire, None, 1.0)
    assert isinstance(opened, Accepted) and opened.packet == ping()


@pytest.mark.parametrize("path,sport", [(V4, None), (U4, PORT)])
def test_rfc5555_4_1_payload_from_an_ipv4_coa_is_inside_ipv4(path, sport):
    sealed = crypto("mn").protect(ping(), 1.0)
    wire = tunnel_protected(path, sealed.packet)
    outer = IP(wire)
    assert (outer.src, outer.dst) == (str(COA4), str(HA4))
    if sport is None:
        assert outer.proto == 41 and IPv6(bytes(outer.payload)).src == str(HOA)
    else:
        assert (outer[UDP].sport, outer[UDP].dport) == (PORT, 4191)
        assert IPv6(bytes(outer[UDP].payload))[ESP].spi == PAYLOAD_OUT
    opened = crypto("ha").process_inbound(wire if sport else bytes(outer.payload), None, 1.0)
    assert isinstance(opened, Accepted) and opened.packet == ping()


def test_draft_laganier_req1_ha_rewrite_is_undone_before_ipsec():
    reply = bytes(IPv6(src=str(CN), dst=str(HOA)) / ICMPv6EchoRequest(id=7, seq=2))
    sealed = crypto("ha").protect(reply, 1.0)
    assert isinstance(sealed, Protected)
    # requirement 1: after IPsec the HA replaces the destination HoA by the current CoA
    on_wire = sealed.packet[:24] + COA_B.packed + sealed.packet[40:]
    got = decap(on_wire)
    assert got.esp and IPv6(got.packet).dst == str(HOA) and got.outer is None
    opened = crypto("mn").process_inbound(got.packet, None, 1.0)
    assert isinstance(opened, Accepted) and opened.packet == reply


def test_esp_in_udp_is_handed_over_whole_with_its_outer_header():
    reply = bytes(IPv6(src=str(CN), dst=str(HOA)) / ICMPv6EchoRequest())
    sealed = crypto("ha").protect(reply, 1.0).packet
    wire = bytes(IP(src=str(HA4), dst=str(COA4)) / UDP(sport=4191, dport=PORT) / sealed)
    got = decap(wire)
    assert got.esp and got.packet == wire and got.outer == OuterUdp4(HA4, COA4, 4191, PORT)
    opened = crypto("mn").process_inbound(got.packet, None, 1.0)
    assert isinstance(opened, Accepted) and opened.packet == reply


def test_ba_with_a_type2_routing_header_keeps_its_destination():
    pkt = bytes(IPv6(src=str(HA), dst=str(COA_A)) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(HOA)])
                / ESP(spi=0x1001, seq=1, data=b"\x00" * 32))
    got = decap(pkt)
    assert got.esp and got.packet == pkt


@pytest.mark.parametrize("path", [V6, V4, U4])
def test_clear_data_round_trip_through_every_tunnel(path):
    inner = bytes(IPv6(src=str(CN), dst=str(HOA)) / ICMPv6EchoRequest())
    mirrored = Path(path.interface, path.encapsulation, path.ha, path.coa, 4191 if path.mn_port else None,
                    path.mn_port)  # what the HA sends: its address first, port 4191 -> ours
    got = decap(tunnel_packet(mirrored, inner))
    assert not got.esp and got.packet == inner
    assert (got.outer is not None) == (path.encapsulation is Encapsulation.UDP4)


def test_ipv4_home_address_data_only_when_assigned():
    inner = bytes(IP(src="198.51.100.9", dst=str(HOA4)) / ICMP())
    wire = bytes(IPv6(src=str(HA), dst=str(COA_A)) / IP(inner))
    with pytest.raises(FrameError, match="not a home address"):
        decap(wire)
    assert decap(wire, HOA4).packet == inner


@pytest.mark.parametrize("wire,why", [
    (bytes(IPv6(src=str(COA_B), dst=str(COA_A)) / IPv6(src=str(CN), dst=str(HOA))), "not from the home agent"),
    (bytes(IP(src="192.0.2.99", dst=str(COA4)) / UDP(sport=4191, dport=PORT) / IPv6(dst=str(HOA))),
     "not from the home agent"),
    (bytes(IP(src=str(HA4), dst=str(COA4)) / UDP(sport=4191, dport=PORT + 1) / IPv6(dst=str(HOA))),
     "not from port 4191"),
    (bytes(IPv6(src=str(HA), dst=str(COA_A)) / IPv6(src=str(HA), dst=str(HOA), nh=135) / (b"\x3b\x00" + bytes(6))),
     "Mobility Header in clear"),
    (bytes(IPv6(src=str(HA), dst=str(COA_A)) / IPv6(src=str(CN), dst=str(CN))), "not a home address"),
    (bytes(IPv6(src=str(HA), dst=str(COA_A), nh=6) / b"tcp?"), "not a tunnel nor ESP"),
    (bytes(IP(src=str(HA4), dst=str(COA4), flags="MF") / UDP(sport=4191, dport=PORT)), "fragment"),
    (bytes(IP(src=str(HA4), dst=str(COA4), chksum=1) / UDP(sport=4191, dport=PORT)), "checksum"),
])
def test_not_ours_is_a_frame_error(wire, why):
    with pytest.raises(FrameError, match=why):
        decap(wire)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([b"", bytes(IPv6(src=str(HA), dst=str(COA_A), nh=41, plen=80)),
                                                 bytes(IP(src=str(HA4), dst=str(COA4)) / UDP(sport=4191, dport=PORT))]))
def test_garbage_raises_frame_error_only(tail, head):
    try:
        decap(head + tail)
    except FrameError:
        pass


def test_data_tunnels_follow_tunnel_changed_only():
    t = DataTunnels()
    assert t.path() is None and not t
    t.apply(TunnelChanged(2, U4, None, "registered"))
    t.apply(TunnelChanged(1, V6, None, "registered"))
    assert t.path() == V6  # RFC 5648 §5.1: the most preferred interface (lowest BID)
    t.apply(TunnelChanged(1, None, V6, "interface lost"))
    assert t.path() == U4 and t.paths() == {2: U4}
