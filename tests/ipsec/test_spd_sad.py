"""SPD (RFC 4301 §4.4.1, MH type selectors RFC 5213 §4.2 / RFC 3776 §5) and SAD lookup.

Packet selectors are checked against scapy's own dissection of the same bytes.
"""
from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import (HAO, ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, MIP6MH_Generic)
from scapy.packet import Raw

from p4mobility.ipsec import (Accepted, Action, Bypassed, CryptoPath, Dir, NoOutboundSa,
                              PolicyDiscard, PolicyMismatch, Protected, Sad, Selector, Spd, SpdEntry,
                              Template, UnknownSpi, selector_from_packet)
from p4mobility.ipsec.ipframe import Proto

from .conftest import COA, HA, HOA, ba_packet, bu_packet, data_packet, mh_bu, sa_pair

MAG, LMA = "2001:db8:a::1", "2001:db8:b::1"


def test_rfc3776_4_3_selector_uses_hoa_from_home_address_option():
    pkt = bu_packet()
    ps = selector_from_packet(pkt)
    assert str(ps.src) == IPv6(pkt)[HAO].hoa and str(ps.dst) == IPv6(pkt).dst
    assert ps.proto == Proto.MH and ps.mh_type == 5


def test_rfc3776_4_3_selector_uses_hoa_from_type2_routing_header():
    pkt = ba_packet()
    ps = selector_from_packet(pkt)
    assert str(ps.dst) == IPv6(pkt)[IPv6ExtHdrRouting].addresses[0] and str(ps.src) == HA
    assert ps.mh_type == 6


@settings(max_examples=100, deadline=None)
@given(hbh=st.booleans(), dst_opt=st.booleans(), mh_type=st.integers(0, 255),
       src=st.ip_addresses(v=6), dst=st.ip_addresses(v=6))
def test_rfc4301_4_4_1_1_selector_skips_extension_headers(hbh, dst_opt, mh_type, src, dst):
    layers = IPv6(src=str(src), dst=str(dst))
    if hbh:
        layers = layers / IPv6ExtHdrHopByHop()
    if dst_opt:
        layers = layers / IPv6ExtHdrDestOpt()
    pkt = bytes(layers / MIP6MH_Generic(mhtype=mh_type, msg=b"\x00" * 6))
    parsed = IPv6(pkt)
    ps = selector_from_packet(pkt)
    assert (ps.src, ps.dst) == (ipaddress.ip_address(parsed.src), ipaddress.ip_address(parsed.dst))
    walked = (IPv6, IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt)
    chain = [la for la in parsed.iterpayloads() if isinstance(la, walked)]
    mh = bytes(chain[-1].payload)  # what scapy sees after the last extension header
    assert chain[-1].nh == 135 and ps.proto == 135 and ps.mh_type == mh[2]


def test_rfc4301_4_4_1_1_ports_and_icmp_and_ipv4():
    u = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=4191, dport=53) / Raw(b"x"))
    ps = selector_from_packet(u)
    assert (ps.proto, ps.sport, ps.dport) == (17, IP(u)[UDP].sport, IP(u)[UDP].dport)
    i = bytes(IPv6(src=HOA, dst=HA) / ICMPv6EchoRequest())
    assert (selector_from_packet(i).sport, selector_from_packet(i).dport) == (128, 0)
    assert selector_from_packet(bytes(IP() / ICMP(type=8))).sport == 8


def test_rfc4301_4_4_1_1_non_first_fragment_is_opaque():
    frag = bytes(IPv6(src=HOA, dst=HA) / IPv6ExtHdrFragment(nh=135, offset=2) / Raw(mh_bu()))
    ps = selector_from_packet(frag)
    assert ps.opaque and ps.mh_type is None
    sel = Selector(proto=135, local_mh_type=5)
    assert not sel.matches(ps, Dir.OUT)
    assert Selector(proto=135).matches(ps, Dir.OUT)


def _mag_spd() -> Spd:
    """RFC 5213 §4.2 style: MAG protects PBU out / PBA in, MH only."""
    spd = Spd()
    sel = Selector(local=MAG, remote=LMA, proto=Proto.MH, local_mh_type=5, remote_mh_type=6)
    spd.add(SpdEntry(Dir.OUT, sel, Action.PROTECT, Template(1)))
    spd.add(SpdEntry(Dir.IN, sel, Action.PROTECT, Template(2)))
    spd.add(SpdEntry(Dir.OUT, Selector(proto=Proto.MH), Action.DISCARD))
    spd.add(SpdEntry(Dir.OUT, Selector(), Action.BYPASS))
    return spd


def _mh(src, dst, mh_type):
    return bytes(IPv6(src=src, dst=dst) / MIP6MH_Generic(mhtype=mh_type, msg=b"\x00" * 6))


def test_rfc5213_4_2_mh_type_selects_pbu_out_pba_in():
    spd = _mag_spd()
    pbu, pba = selector_from_packet(_mh(MAG, LMA, 5)), selector_from_packet(_mh(LMA, MAG, 6))
    assert spd.lookup(Dir.OUT, pbu).tmpl == Template(1)
    assert spd.lookup(Dir.IN, pba).tmpl == Template(2)
    # a BA sent by the MAG is not a "local" BU: falls to the MH discard entry
    assert spd.lookup(Dir.OUT, selector_from_packet(_mh(MAG, LMA, 6))).action == Action.DISCARD
    # first match: other traffic bypasses
    assert spd.lookup(Dir.OUT, selector_from_packet(data_packet())).action == Action.BYPASS
    # an inbound BU (remote type 5) does not match remote_mh_type 6 -> no entry
    assert spd.lookup(Dir.IN, selector_from_packet(_mh(LMA, MAG, 5))) is None


def _mn_path():
    """MN per RFC 3776 §5.2 + draft-laganier req. 2: BU/BA transport, host-wide HoA payload entry last."""
    bu_out, _ = sa_pair("null", spi=0x101)
    _, ba_in = sa_pair("null", src=HA, dst=HOA, spi=0x102)
    ba_in.reqid = 2
    data_out, _ = sa_pair("gcm", src=COA, dst=HA, spi=0x201, mode="tunnel")
    data_out.reqid = 3
    sad = Sad()
    for sa in (bu_out, ba_in, data_out):
        sad.add(sa, 0.0)
    spd = Spd()
    spd.add(SpdEntry(Dir.OUT, Selector(local=HOA, remote=HA, proto=135, local_mh_type=5),
                     Action.PROTECT, Template(1)))
    spd.add(SpdEntry(Dir.IN, Selector(local=HOA, remote=HA, proto=135, remote_mh_type=6),
                     Action.PROTECT, Template(2)))
    spd.add(SpdEntry(Dir.OUT, Selector(proto=135), Action.DISCARD))
    spd.add(SpdEntry(Dir.OUT, Selector(local=HOA + "/128"), Action.PROTECT, Template(3, "tunnel")))
    return CryptoPath(sad, spd), bu_out, data_out


def test_draft_laganier_req2_host_wide_hoa_entry_catches_payload_last():
    path, bu_out, data_out = _mn_path()
    bu = path.protect(bu_packet(), 0.0)
    assert isinstance(bu, Protected) and bu.sa_index == bu_out.index
    assert IPv6(bu.packet)[HAO].hoa == HOA  # HAO kept outside ESP (RFC 4303 §3.1.1)
    data = path.protect(data_packet(), 0.0)
    assert isinstance(data, Protected) and data.sa_index == data_out.index
    outer = IPv6(data.packet)
    assert (outer.src, outer.dst, outer.nh) == (COA, HA, 50)
    # traffic not from the HoA has no entry -> DISCARD (RFC 4301 §4.4.1)
    other = bytes(IPv6(src=COA, dst="2001:db8:9::9") / UDP() / Raw(b"x"))
    assert path.protect(other, 0.0).reason is PolicyDiscard


def test_rfc4301_5_1_protect_without_sa_dropped():
    spd = Spd([SpdEntry(Dir.OUT, Selector(), Action.PROTECT, Template(9))])
    r = CryptoPath(Sad(), spd).protect(bu_packet(), 0.0)
    assert r.reason is NoOutboundSa


def test_rfc4301_5_2_clear_packet_needs_bypass():
    spd = Spd([SpdEntry(Dir.IN, Selector(proto=135), Action.PROTECT, Template(1)),
               SpdEntry(Dir.IN, Selector(), Action.BYPASS)])
    path = CryptoPath(Sad(), spd)
    assert path.process_clear_inbound(bu_packet()).reason is PolicyDiscard
    assert isinstance(path.process_clear_inbound(data_packet()), Bypassed)


def test_rfc4301_5_2_decrypted_packet_must_match_policy():
    """A BA-SA (reqid 2) carrying a BU is refused after decryption."""
    out, inb = sa_pair("gcm", src=HA, dst=HOA, spi=0x102)
    inb.reqid = out.reqid = 2
    sad = Sad()
    oi, ii = sad.add(out, 0.0), sad.add(inb, 0.0)
    spd = Spd([SpdEntry(Dir.IN, Selector(local=HOA, remote=HA, proto=135, remote_mh_type=6),
                        Action.PROTECT, Template(2))])
    path = CryptoPath(sad, spd)
    ok = path.process_inbound(path.process_outbound(ba_packet(), oi, 0.0).packet, ii, 0.0)
    assert isinstance(ok, Accepted) and ok.packet == ba_packet()
    wrong = bytes(IPv6(src=HA, dst=COA) / IPv6ExtHdrRouting(nh=135, type=2, segleft=1, addresses=[HOA])
                  / Raw(mh_bu(src=HA, dst=HOA)))
    r = path.process_inbound(path.process_outbound(wrong, oi, 0.0).packet, ii, 0.0)
    assert r.reason is PolicyMismatch and sad.get(ii).counters.policy_drops == 1


def test_rfc4303_2_1_sad_longest_match_spi_dst_src():
    a_out, a_in = sa_pair("gcm", src=COA, dst=HA, spi=0x500)
    b_out, b_in = sa_pair("cbc", src="2001:db8:2::77", dst=HA, spi=0x500)
    sad = Sad()
    for sa in (a_out, a_in, b_out, b_in):
        sad.add(sa, 0.0)
    path = CryptoPath(sad)
    pkt = bytes(IPv6(src=COA, dst=HA) / UDP() / Raw(b"y" * 10))
    wa = path.process_outbound(pkt, a_out.index, 0.0).packet
    pkt_b = bytes(IPv6(src="2001:db8:2::77", dst=HA) / UDP() / Raw(b"y" * 10))
    wb = path.process_outbound(pkt_b, b_out.index, 0.0).packet
    assert path.process_inbound(wa, None, 0.0).sa_index == a_in.index
    assert path.process_inbound(wb, None, 0.0).sa_index == b_in.index
    # other destination: unknown SPI
    elsewhere = bytearray(wa)
    elsewhere[24:40] = ipaddress.ip_address("2001:db8:ff::1").packed
    assert path.process_inbound(bytes(elsewhere), None, 0.0).reason is UnknownSpi


def test_rfc4303_2_1_spi_dst_fallback_when_source_moves():
    """Tunnel SA keyed on {SPI, HA}: the MN's CoA changes, the SA still matches (draft-laganier req. 1)."""
    out, inb = sa_pair("gcm", src=COA, dst=HA, spi=0x600, mode="tunnel")
    sad = Sad()
    oi, ii = sad.add(out, 0.0), sad.add(inb, 0.0)
    path = CryptoPath(sad)
    wire = bytearray(path.process_outbound(data_packet(), oi, 0.0).packet)
    wire[8:24] = ipaddress.ip_address("2001:db8:3::1").packed  # outer source = new CoA
    r = path.process_inbound(bytes(wire), None, 0.0)
    assert isinstance(r, Accepted) and r.sa_index == ii and r.packet == data_packet()


def test_sa_index_must_hold_the_packets_spi():
    path_out, path_in = sa_pair("gcm")
    sad = Sad()
    oi, ii = sad.add(path_out, 0.0), sad.add(path_in, 0.0)
    path = CryptoPath(sad)
    wire = path.process_outbound(bu_packet(), oi, 0.0).packet
    assert path.process_inbound(wire, oi, 0.0).reason is UnknownSpi  # outbound SA index
    assert path.process_inbound(wire, 99, 0.0).reason is UnknownSpi
    assert isinstance(path.process_inbound(wire, ii, 0.0), Accepted)


def test_rfc3776_4_3_bu_for_another_hoa_refused_by_sa_selector():
    """HA side: the SA of MN A carries a BU whose Home Address option names MN B -> dropped."""
    sel = Selector(local=HA, remote=HOA, proto=135, remote_mh_type=5)
    out, inb = sa_pair("gcm")
    inb.sel = sel
    sad = Sad()
    oi, ii = sad.add(out, 0.0), sad.add(inb, 0.0)
    path = CryptoPath(sad)
    ok = path.process_inbound(path.process_outbound(bu_packet(), oi, 0.0).packet, ii, 0.0)
    assert isinstance(ok, Accepted)
    other = bytes(IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(nh=135, options=[HAO(hoa="2001:db8:1::200")])
                  / Raw(mh_bu(src="2001:db8:1::200")))
    r = path.process_inbound(path.process_outbound(other, oi, 0.0).packet, ii, 0.0)
    assert r.reason is PolicyMismatch
