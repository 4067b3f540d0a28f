"""Finding the MH inside captured frames (RFC 6275 §6.1.1 checksum addresses,
RFC 5555 UDP 4191) and the bounded pcap/pcapng reader. Packets are built by
hand with struct (mh_testlib), pcapng blocks written out here."""
from __future__ import annotations

import io
import struct

import pytest

from p4mobility.mh import BindingUpdate, HomeAddressOption, decode_mh, encode_destination_options_header, encode_mh
from p4mobility.mh.extract import PacketError, find_in_frame
from p4mobility.mh.pcap import MAX_RECORD, PcapError, read_frames
from tests.mh.mh_testlib import COA, HA, HOA, LMA, MAG, ether, ipv4, ipv6, udp

BU = BindingUpdate(3, 4, ack=True)


def test_rfc6275_6_1_1_hao_and_rh2_give_checksum_addresses():
    hao = encode_destination_options_header(135, [HomeAddressOption(HOA)])
    found = find_in_frame(ether(ipv6(COA, HA, 60, hao + encode_mh(BU, HOA, HA))), 1)
    assert (found.checksum_src, found.checksum_dst, found.home_address) == (HOA, HA, HOA)
    assert decode_mh(found.mh, found.checksum_src, found.checksum_dst) == BU
    rh2 = struct.pack("!BBBB4x16s", 135, 2, 2, 1, HOA.packed)
    found = find_in_frame(ether(ipv6(HA, COA, 43, rh2 + encode_mh(BU, HA, HOA))), 1)
    assert (found.checksum_src, found.checksum_dst, found.ip_dst) == (HA, HOA, COA)


def test_vlan_ah_and_ipv6_in_ipv6():
    mh = encode_mh(BU, MAG, LMA)
    vlan = bytes(12) + struct.pack("!HHH", 0x8100, 10, 0x86DD) + ipv6(MAG, LMA, 135, mh)
    assert find_in_frame(vlan, 1).mh == mh
    ah = struct.pack("!BBHII", 135, 4, 0, 0x100, 1) + bytes(12)  # (4 + 2) * 4 = 24 bytes, ICV 12
    assert find_in_frame(ipv6(MAG, LMA, 51, ah + mh), 101).mh == mh
    inner = ipv6(MAG, LMA, 135, mh)
    found = find_in_frame(ipv6(COA, HA, 41, inner), 229)
    assert found.encapsulation == "ipv6-in-ipv6" and found.ip_src == MAG


def test_nothing_readable_behind_esp_or_fragments():
    mh = encode_mh(BU, MAG, LMA)
    assert find_in_frame(ipv6(MAG, LMA, 50, b"\0" * 24), 101) is None
    frag = struct.pack("!BBHI", 135, 0, 1, 7)  # more fragments
    assert find_in_frame(ipv6(MAG, LMA, 44, frag + mh), 101) is None
    v4frag = bytearray(ipv4("192.0.2.1", "192.0.2.2", 41, ipv6(MAG, LMA, 135, mh)))
    v4frag[6] = 0x20  # MF
    assert find_in_frame(bytes(v4frag), 101) is None
    assert find_in_frame(ipv4("192.0.2.1", "192.0.2.2", 17, udp(1, 2, b"x")), 228) is None


@pytest.mark.parametrize("pkt", [
    ipv6(MAG, LMA, 135, b"")[:39],
    ipv6(MAG, LMA, 135, bytes(8))[:44],  # payload length says 8, 4 present
    ipv6(MAG, LMA, 43, struct.pack("!BBBB4x", 135, 4, 2, 1) + bytes(16)),  # RH2 with Hdr Ext Len 4
    ipv6(MAG, LMA, 60, bytes([135, 5]) + bytes(6)),  # DestOpt longer than the packet
    ipv6(MAG, LMA, 60, bytes([135, 0, 0xC9, 16]) + bytes(4)),  # HAO runs past its header
    ipv4("192.0.2.1", "192.0.2.2", 17, udp(4191, 4191, b""))[:24],
])
def test_malformed_headers_raise_packet_error(pkt):
    with pytest.raises(PacketError):
        find_in_frame(pkt, 101)


def test_rfc5555_udp_4191_and_loopback_link():
    inner = ipv6(HOA, HA, 135, encode_mh(BU, HOA, HA))
    found = find_in_frame(ipv4("192.0.2.1", "203.0.113.1", 17, udp(40000, 4191, inner)), 228)
    assert found.encapsulation == "ipv6-in-udp4191" and str(found.outer_src) == "192.0.2.1"
    assert find_in_frame(struct.pack("<I", 30) + inner, 0).ip_src == HOA
    # RFC 5844: PMIPv6 over an IPv4 transport network, UDP port 5436
    pmip = find_in_frame(ipv4("192.0.2.1", "203.0.113.1", 17, udp(5436, 5436, inner)), 228)
    assert pmip.encapsulation == "ipv6-in-udp5436" and decode_mh(pmip.mh, HOA, HA) == BU


def _pcapng(bo: str, blocks: list[tuple[int, bytes]]) -> bytes:
    out = b""
    for btype, body in blocks:
        body += bytes(-len(body) % 4)
        n = len(body) + 12
        out += struct.pack(bo + "II", btype, n) + body + struct.pack(bo + "I", n)
    return out


@pytest.mark.parametrize("bo", ["<", ">"])
def test_pcapng_both_byte_orders_skip_unknown_blocks(bo):
    frame = ipv6(MAG, LMA, 135, encode_mh(BU, MAG, LMA))
    shb = struct.pack(bo + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    idb = struct.pack(bo + "HHI", 101, 0, 65535)
    epb = struct.pack(bo + "IIIII", 0, 0, 0, len(frame), len(frame)) + frame
    spb = struct.pack(bo + "I", len(frame)) + frame
    data = _pcapng(bo, [(0x0A0D0D0A, shb), (1, idb), (5, b"stats"), (6, epb), (3, spb)])
    frames = list(read_frames(io.BytesIO(data)))
    assert [f.index for f in frames] == [1, 2]
    assert all(f.data == frame and f.linktype == 101 for f in frames)


def test_pcap_nanosecond_magic_and_bounds():
    frame = ipv6(MAG, LMA, 135, encode_mh(BU, MAG, LMA))
    hdr = struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 101)
    ok = hdr + struct.pack("<IIII", 1, 2, len(frame), len(frame)) + frame
    assert [f.data for f in read_frames(io.BytesIO(ok))] == [frame]
    huge = hdr + struct.pack("<IIII", 1, 2, MAX_RECORD + 1, MAX_RECORD + 1)
    with pytest.raises(PcapError):
        list(read_frames(io.BytesIO(huge)))
    with pytest.raises(PcapError):
        list(read_frames(io.BytesIO(ok[:-1])))
    with pytest.raises(PcapError):  # packet block for an interface never described
        list(read_frames(io.BytesIO(_pcapng("<", [(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
                                                   (6, struct.pack("<IIIII", 3, 0, 0, 0, 0))]))))
