"""A DSMIPv6 BA built by the home agent core, in the framing its route names
(IPv4{HA4 -> NAT} UDP{4191 -> NAT port} IPv6{HA -> HoA} MH, RFC 5555 §4.1), dissected by
Wireshark with ``-d udp.port==4191,ipv6``: the fields are the ones the core decided
(status, sequence, lifetime, IPv4 Address Acknowledgement, NAT Detection), and the MH
checksum tshark shows verifies over (HA, HoA) with a plain RFC 1071 sum written here
(RFC 6275 §6.1.1). An IPv6 BA with its Type 2 Routing Header to the CoA is dissected
alongside."""
from __future__ import annotations

import struct
import subprocess
import xml.etree.ElementTree as ET
from ipaddress import IPv6Address

import pytest
from p4mobility.ha import Ipv6Route, SendBindingAck, UdpIpv4Route
from p4mobility.mh import encode_mh, encode_type2_routing_header

from tests.ha.ha_helpers import bu, from_coa, make_ha, of, over_udp, v4req
from tests.mh.mh_testlib import TSHARK, ether, ipv4, ipv6, udp

pytestmark = [pytest.mark.tshark, pytest.mark.skipif(TSHARK is None, reason="tshark not installed")]


def frame(act: SendBindingAck) -> bytes:
    r = act.route
    mh = encode_mh(act.message, r.src, r.home_address)
    if isinstance(r, UdpIpv4Route):
        inner = ipv6(r.src, r.home_address, 135, mh)
        return ether(ipv4(r.ipv4_src, r.ipv4_dst, 17, udp(r.src_port, r.dst_port, inner)), 0x0800)
    assert isinstance(r, Ipv6Route) and r.type2_routing_header is not None
    return ether(ipv6(r.src, r.dst, 43, encode_type2_routing_header(135, r.type2_routing_header) + mh))


def rfc1071_ok(src, dst, mh: bytes) -> bool:
    """Pseudo-header (RFC 8200 §8.1, next header 135) + MH sums to 0xFFFF."""
    data = IPv6Address(src).packed + IPv6Address(dst).packed + struct.pack("!I3xB", len(mh), 135) + mh
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def fields(pkt) -> dict[str, str]:
    return {f.get("name"): f.get("show") for f in pkt.iter("field") if f.get("name")}


@pytest.fixture(scope="module")
def dissected(tmp_path_factory):
    from scapy.utils import RawPcapWriter

    ha = make_ha()
    udp_ba = of(ha.handle(over_udp(bu(9, 60, v4req())), 0.0), SendBindingAck)[0]
    v6_ba = of(make_ha().handle(from_coa(bu(3, 30)), 0.0), SendBindingAck)[0]
    path = tmp_path_factory.mktemp("ha-tshark") / "ba.pcap"
    w = RawPcapWriter(str(path), linktype=1)
    for a in (udp_ba, v6_ba):
        w.write(frame(a))
    w.close()
    out = subprocess.run([TSHARK, "-r", str(path), "-T", "pdml", "-d", "udp.port==4191,ipv6"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    pkts = ET.fromstring(out).findall("packet")
    assert len(pkts) == 2
    return (udp_ba, pkts[0]), (v6_ba, pkts[1])


def test_rfc5555_4_1_dsmipv6_ba_in_udp_4191_dissects_as_the_core_built_it(dissected):
    (act, pkt), _ = dissected
    names = [p.get("name") for p in pkt.iter("proto")]
    assert names[names.index("ip"):][:4] == ["ip", "udp", "ipv6", "mipv6"]
    f = fields(pkt)
    r, m = act.route, act.message
    assert (f["ip.src"], f["ip.dst"], f["udp.srcport"], f["udp.dstport"]) == (
        str(r.ipv4_src), str(r.ipv4_dst), "4191", str(r.dst_port))
    assert (f["ipv6.src"], f["ipv6.dst"]) == (str(r.src), str(r.home_address))
    assert (f["mip6.mhtype"], f["mip6.ba.status"], f["mip6.ba.seqnr"], f["mip6.ba.lifetime"]) == (
        "6", "0", "9", "60")
    assert f["mip6.ipv4aa.sts"] == "0" and f["mip6.ipv4ha.ha"] == "10.9.0.1" and f["mip6.ipv4ha.preflen"] == "32"
    assert f["mip6.natd.f_flag"] == "0" and f["mip6.natd.refresh_t"] == "110"
    mh = encode_mh(m, r.src, r.home_address)
    assert int(f["mip6.csum"], 16) == struct.unpack_from("!H", mh, 4)[0]
    assert rfc1071_ok(r.src, r.home_address, mh) and not rfc1071_ok(r.src, IPv6Address(f"::ffff:{r.ipv4_dst}"), mh)
    assert m.sequence == 9 and not [n for n in f if n.startswith("_ws.malformed") or n.startswith("_ws.expert")]


def test_rfc6275_9_5_4_ipv6_ba_with_type2_routing_header_dissects(dissected):
    _, (act, pkt) = dissected
    f = fields(pkt)
    assert (f["ipv6.src"], f["ipv6.dst"]) == (str(act.route.src), str(act.route.dst))
    assert f["ipv6.routing.type"] == "2" and f["ipv6.routing.segleft"] == "1"
    assert f["mip6.ba.status"] == "0" and f["mip6.ba.seqnr"] == "3" and f["mip6.ba.lifetime"] == "30"
    mh = encode_mh(act.message, act.route.src, act.route.home_address)
    assert int(f["mip6.csum"], 16) == struct.unpack_from("!H", mh, 4)[0]
    assert rfc1071_ok(act.route.src, act.route.home_address, mh) and not rfc1071_ok(act.route.src, act.route.dst, mh)
    assert not [n for n in f if n.startswith("_ws.malformed") or n.startswith("_ws.expert")]
