"""mip/frames.py against scapy (an independent packet oracle): the BU packets
the core's SendMh turn into (IPv6 + HAO from a CoA, IPv6-in-UDP-in-IPv4,
from the home address), data tunnel headers, and BAs/BRRs/BEs built by
scapy parsed into core events with the outer IPv4/UDP recorded."""
from __future__ import annotations

import pytest

from p4mobility.mh import BindingIdentifier, MhChecksumError, MhDecodeError, NatDetection
from p4mobility.mip import (AddressAdded, BaReceived, BeReceived, BrrReceived, Encapsulation, OuterUdp4, Path,
                            StopRequested)
from p4mobility.mip.frames import FrameError, bu_packet, parse_signalling, tunnel_packet, wrap_signalling
from tests.mip.mip_helpers import COA4, COA_A, COA_B, HA, HA4, HOA, HOME_LINK, T0, ba, bu_of, make_mn

scapy_inet6 = pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.inet6 import (HAO, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BE,  # noqa: E402
                                MIP6MH_BRR, MIP6MH_BU, MIP6OptAltCoA, PseudoIPv6)
from scapy.utils import checksum  # noqa: E402


def _mh_checksum_ok(pkt, layer, src, dst) -> bool:
    """The MH checksum recomputed with scapy's pseudo-header and checksum over
    the given final addresses (RFC 6275 §6.1.1: the HoA from the HAO as
    source). scapy's own in6_pseudoheader swaps the HAO in only when it is
    the sole option of its header, and ours is preceded by PadN (§6.3
    alignment), so the addresses are given here."""
    mh = bytearray(bytes(pkt[layer]))
    sent = int.from_bytes(mh[4:6], "big")
    mh[4:6] = b"\x00\x00"
    ph = PseudoIPv6(src=str(src), dst=str(dst), uplen=len(mh), nh=135)
    return checksum(bytes(ph) + bytes(mh)) == sent


def test_rfc6275_11_7_1_bu_packet_from_an_ipv6_coa_reads_in_scapy():
    mn = make_mn(multiple_coa=True)
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    raw = wrap_signalling(send.path, bu_packet(send))
    pkt = IPv6(raw)
    assert (pkt.src, pkt.dst, pkt.nh) == (str(COA_A), str(HA), 60)
    dst_opts = pkt[IPv6ExtHdrDestOpt]
    hao = [o for o in dst_opts.options if isinstance(o, HAO)]
    assert len(hao) == 1 and hao[0].hoa == str(HOA)
    # RFC 6275 §6.3: HAO at 8n+6 from the start of the Destination Options header
    assert bytes(dst_opts).index(bytes([201, 16])) % 8 == 6
    bu = pkt[MIP6MH_BU]
    assert bu.seq == send.message.sequence and bu.mhtime == send.message.lifetime
    assert bu.flags & 0b1100000 == 0b1100000  # scapy's "PRMKLHA": A and H
    assert [o for o in bu.options if isinstance(o, MIP6OptAltCoA)][0].acoa == str(COA_A)
    assert _mh_checksum_ok(pkt, MIP6MH_BU, HOA, HA)
    assert not _mh_checksum_ok(pkt, MIP6MH_BU, COA_A, HA)  # not over the CoA


def test_rfc5555_4_1_bu_packet_in_udp_4191_reads_in_scapy():
    mn = make_mn(force_udp_encapsulation=True, mn_udp_port=40000)
    send = bu_of(mn.handle(AddressAdded("wlan0", COA4), T0))
    raw = wrap_signalling(send.path, bu_packet(send))
    pkt = IP(raw)
    assert (pkt.src, pkt.dst, pkt.proto) == (str(COA4), str(HA4), 17)
    again = IP(raw)
    del again.chksum
    del again[UDP].chksum
    rebuilt = IP(bytes(again))
    assert rebuilt.chksum == pkt.chksum and rebuilt[UDP].chksum == pkt[UDP].chksum
    assert (pkt[UDP].sport, pkt[UDP].dport) == (40000, 4191)
    inner = IPv6(bytes(pkt[UDP].payload))
    assert (inner.src, inner.dst, inner.nh) == (str(HOA), str(HA), 135)  # no HAO inside UDP
    assert inner[MIP6MH_BU].seq == send.message.sequence
    assert _mh_checksum_ok(inner, MIP6MH_BU, HOA, HA)


def test_rfc6275_11_5_4_home_bu_packet_is_from_the_home_address():
    mn = make_mn()
    mn.handle(ba(bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))), T0 + 0.1)
    send = bu_of(mn.handle(AddressAdded("eth1", HOME_LINK), T0 + 1))
    pkt = IPv6(wrap_signalling(send.path, bu_packet(send)))
    assert (pkt.src, pkt.nh) == (str(HOA), 135) and pkt[MIP6MH_BU].mhtime == 0


@pytest.mark.parametrize("enc, inner_v", [(Encapsulation.IPV6, 6), (Encapsulation.IPV6, 4),
                                          (Encapsulation.IPV4, 6), (Encapsulation.UDP4, 4)])
def test_rfc5555_3_4_data_tunnel_headers(enc, inner_v):
    inner = (bytes(IPv6(src=str(HOA), dst="2001:db8:c::1") / UDP(sport=1, dport=2)) if inner_v == 6
             else bytes(IP(src="10.20.0.5", dst="198.51.100.99") / UDP(sport=1, dport=2)))
    if enc is Encapsulation.IPV6:
        path = Path("eth0", enc, COA_A, HA)
        pkt = IPv6(tunnel_packet(path, inner))
        assert (pkt.src, pkt.dst, pkt.nh) == (str(COA_A), str(HA), 41 if inner_v == 6 else 4)
        assert bytes(pkt.payload) == inner
    elif enc is Encapsulation.IPV4:
        path = Path("wlan0", enc, COA4, HA4)
        pkt = IP(tunnel_packet(path, inner))
        assert (pkt.src, pkt.dst, pkt.proto) == (str(COA4), str(HA4), 41)
        assert bytes(pkt.payload) == inner
    else:
        path = Path("wlan0", enc, COA4, HA4, 4191, 4191)
        pkt = IP(tunnel_packet(path, inner))
        assert pkt[UDP].dport == 4191 and bytes(pkt[UDP].payload) == inner


def test_rfc6275_6_4_ba_with_type_2_routing_header_parses_into_an_event():
    scapy_ba = (IPv6(src=str(HA), dst=str(COA_A))
                / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(HOA)])
                / MIP6MH_BA(status=0, flags=0, seq=77, mhtime=225))
    ev = parse_signalling(bytes(scapy_ba), HOA)
    assert isinstance(ev, BaReceived) and ev.outer is None
    assert (ev.src, ev.dst) == (HA, HOA)  # the RH2 address swapped into the destination
    assert (ev.message.status, ev.message.sequence, ev.message.lifetime) == (0, 77, 225)


def test_rfc5555_4_1_ba_in_udp_records_the_outer_header_and_drives_the_core():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("wlan0", COA4), T0))
    answer = ba(send, options=(NatDetection(False, 25),), outer=None).message
    from p4mobility.mh import encode_mh
    mh = encode_mh(answer, HA, HOA)
    raw = bytes(IP(src=str(HA4), dst=str(COA4)) / UDP(sport=4191, dport=4191)
                / IPv6(src=str(HA), dst=str(HOA), nh=135) / mh)
    ev = parse_signalling(raw, HOA)
    assert ev.outer == OuterUdp4(HA4, COA4, 4191, 4191)
    assert ev.message.option(NatDetection).refresh_time == 25
    acts = mn.handle(ev, T0 + 0.1)
    assert any(getattr(a, "tunnel", None) is not None and a.tunnel.encapsulation is Encapsulation.UDP4
               for a in acts)


def test_brr_and_be_parse():
    brr = IPv6(src=str(HA), dst=str(COA_A)) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(HOA)]) / MIP6MH_BRR()
    assert isinstance(parse_signalling(bytes(brr), HOA), BrrReceived)
    be = IPv6(src=str(HA), dst=str(COA_A)) / MIP6MH_BE(status=1, ha=str(HOA))
    ev = parse_signalling(bytes(be), HOA)
    assert isinstance(ev, BeReceived) and ev.message.home_address == HOA and ev.dst == COA_A


def test_rfc6275_11_3_3_routing_header_for_another_address_is_discarded():
    for rh in (IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(COA_B)]),
               IPv6ExtHdrRouting(type=2, segleft=0, addresses=[str(HOA)])):
        pkt = IPv6(src=str(HA), dst=str(COA_A)) / rh / MIP6MH_BA(flags=0, seq=1)
        with pytest.raises(FrameError):
            parse_signalling(bytes(pkt), HOA)


def test_malformed_and_tampered_packets_raise_typed_errors():
    good = bytes(IPv6(src=str(HA), dst=str(COA_A))
                 / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(HOA)]) / MIP6MH_BA(flags=0, seq=1))
    for n in (0, 10, 39, 50, len(good) - 1):
        with pytest.raises((FrameError, MhDecodeError)) as info:
            parse_signalling(good[:n], HOA)
        assert info.value.action == "silent_discard"  # the RFC action rides on the class
    tampered = bytearray(good)
    tampered[-3] ^= 0xFF
    with pytest.raises(MhChecksumError):
        parse_signalling(bytes(tampered), HOA)
    esp = bytes(IPv6(src=str(HA), dst=str(COA_A), nh=50) / (b"\x00" * 24))
    with pytest.raises(FrameError):
        parse_signalling(esp, HOA)
    not_4191 = bytes(IP(src=str(HA4), dst=str(COA4)) / UDP(sport=53, dport=53) / b"x")
    with pytest.raises(FrameError):
        parse_signalling(not_4191, HOA)


def test_bu_packets_for_every_kind_round_trip_through_our_parser_as_bytes():
    """Every SendMh of a move, a stop and a home return builds; the MH inside
    decodes with the checksum over (HoA, HA)."""
    from p4mobility.mh import decode_mh
    mn = make_mn(multiple_coa=True, bulk_registration=True)
    sends = [bu_of(mn.handle(AddressAdded("eth0", COA_A), T0)), bu_of(mn.handle(AddressAdded("eth1", COA_B), T0))]
    for s in sends:
        mn.handle(ba(s, bid_statuses={}), T0 + 0.1)
    sends.append(bu_of(mn.handle_timer(mn.next_deadline())))
    sends.append(bu_of(mn.handle(StopRequested(), T0 + 3000)))
    for s in sends:
        raw = bu_packet(s)
        pkt = IPv6(raw)
        mh = bytes(pkt[MIP6MH_BU])
        assert decode_mh(mh, HOA, HA) == s.message
    bulk = sends[2].message.options_of(BindingIdentifier)
    assert {b.coa for b in bulk} == {COA_A, COA_B}


def test_frame_error_on_unsupported_input():
    with pytest.raises(FrameError):
        tunnel_packet(Path("eth0", Encapsulation.IPV6, COA_A, HA), b"\x00garbage")
    with pytest.raises(FrameError):
        wrap_signalling(Path("wlan0", Encapsulation.IPV4, COA4, HA4), b"\x60" + bytes(39))
