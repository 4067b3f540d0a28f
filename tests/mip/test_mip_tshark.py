"""The mobile node's BUs as Wireshark's dissectors read them (tshark): taken
from the core's SendMh actions, framed by mip/frames.py, dissected in one
run with ``-d udp.port==4191,ipv6`` and the IPv4/UDP checksum checks on.
Expected values come from the RFC rules (flags, options, layout), not from
the encoder."""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from ipaddress import IPv4Address

import pytest

from p4mobility.mip import AddressAdded
from p4mobility.mip.frames import bu_packet, wrap_signalling
from tests.mh.mh_testlib import TSHARK
from tests.mip.mip_helpers import COA4, COA_A, COA_B, HA, HA4, HOA, HOME_LINK, T0, ba, bu_of, make_mn

pytestmark = [pytest.mark.tshark, pytest.mark.skipif(TSHARK is None, reason="tshark not installed")]


@pytest.fixture(scope="module")
def dissected(tmp_path_factory):
    from scapy.utils import RawPcapWriter

    mn = make_mn(multiple_coa=True, bulk_registration=True, ipv4_home_address=IPv4Address(0),
                 force_udp_encapsulation=True, mn_udp_port=40000)
    v6 = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))  # BID 1 from an IPv6 CoA
    v4 = bu_of(mn.handle(AddressAdded("wlan0", COA4), T0 + 0.1))  # BID 2: DSMIPv6 over UDP
    other = bu_of(mn.handle(AddressAdded("eth1", COA_B), T0 + 0.2))  # BID 3
    for s in (v6, v4, other):
        mn.handle(ba(s, bid_statuses={}), T0 + 0.3)
    bulk = bu_of(mn.handle_timer(mn.next_deadline()))  # refresh of BIDs 1 and 3 together
    mn2 = make_mn()
    mn2.handle(ba(bu_of(mn2.handle(AddressAdded("eth0", COA_A), T0))), T0 + 0.1)
    home = bu_of(mn2.handle(AddressAdded("eth1", HOME_LINK), T0 + 1))
    sends = [v6, v4, bulk, home]
    path = tmp_path_factory.mktemp("mn-tshark") / "mn.pcap"
    w = RawPcapWriter(str(path), linktype=101)  # raw IP
    for s in sends:
        w.write(wrap_signalling(s.path, bu_packet(s)))
    w.close()
    out = subprocess.run(
        [TSHARK, "-r", str(path), "-T", "pdml", "-d", "udp.port==4191,ipv6",
         "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    packets = ET.fromstring(out).findall("packet")
    assert len(packets) == len(sends)
    return dict(zip(("v6", "v4", "bulk", "home"), zip(sends, packets)))


def _values(elem, name: str) -> list[str]:
    return [f.get("show") for f in elem.iter("field") if f.get("name") == name]


def _one(elem, name: str) -> str:
    vals = _values(elem, name)
    assert len(vals) == 1, (name, vals)
    return vals[0]


def _bids(pkt) -> list[tuple[str, str | None]]:
    out = []
    for opt in pkt.iter("field"):
        if opt.get("name") == "mip6.options.bi":
            coa = _values(opt, "mip6.bi.coa_ipv6") + _values(opt, "mip6.bi.coa_ipv4")
            out.append((_one(opt, "mip6.bi.bid"), coa[0] if coa else None))
    return out


def test_rfc6275_11_7_1_bu_from_an_ipv6_coa(dissected):
    send, pkt = dissected["v6"]
    assert _one(pkt, "ipv6.src") == str(COA_A) and _one(pkt, "ipv6.dst") == str(HA)
    assert _one(pkt, "ipv6.opt.mipv6.home_address") == str(HOA)
    assert _one(pkt, "mip6.bu.a_flag") == "1" and _one(pkt, "mip6.bu.h_flag") == "1"
    assert _one(pkt, "mip6.bu.k_flag") == "0" and _one(pkt, "mip6.bu.p_flag") == "0"
    assert _one(pkt, "mip6.bu.seqnr") == str(send.message.sequence)
    assert _one(pkt, "mip6.acoa.acoa") == str(COA_A)
    assert _one(pkt, "mip6.ipv4ha.ha") == "0.0.0.0" and _one(pkt, "mip6.ipv4ha.preflen") == "32"
    assert _bids(pkt) == [("1", None)]


def test_rfc5555_4_1_dsmipv6_bu_in_udp_4191(dissected):
    send, pkt = dissected["v4"]
    protos = [p.get("name") for p in pkt.iter("proto")]
    assert protos[protos.index("ip"):][:4] == ["ip", "udp", "ipv6", "mipv6"]
    assert _one(pkt, "ip.src") == str(COA4) and _one(pkt, "ip.dst") == str(HA4)
    assert _one(pkt, "ip.checksum.status") == "1" and _one(pkt, "udp.checksum.status") == "1"  # Good
    assert (_one(pkt, "udp.srcport"), _one(pkt, "udp.dstport")) == ("40000", "4191")
    assert _one(pkt, "ipv6.src") == str(HOA) and not _values(pkt, "ipv6.opt.mipv6.home_address")
    assert _one(pkt, "mip6.bu.f_flag") == "1" and _one(pkt, "mip6.bu.h_flag") == "1"
    assert _one(pkt, "mip6.ipv4coa.addr") == str(COA4)
    assert not _values(pkt, "mip6.acoa.acoa")
    assert _bids(pkt) == [("2", None)]


def test_rfc5648_bulk_refresh_names_each_coa(dissected):
    send, pkt = dissected["bulk"]
    assert sorted(_bids(pkt)) == [("1", str(COA_A)), ("3", str(COA_B))]
    assert _one(pkt, "mip6.bu.lifetime") == str(send.message.lifetime) != "0"


def test_rfc6275_11_5_4_home_deregistration(dissected):
    send, pkt = dissected["home"]
    assert _one(pkt, "ipv6.src") == str(HOA) and not _values(pkt, "ipv6.opt.mipv6.home_address")
    assert _one(pkt, "mip6.bu.lifetime") == "0" and _one(pkt, "mip6.acoa.acoa") == str(HOA)
    assert _bids(pkt) == []


def test_no_malformed_packets(dissected):
    for key, (_, pkt) in dissected.items():
        assert not [f for f in pkt.iter("field") if (f.get("name") or "").startswith("_ws.malformed")], key
        assert not [f for f in pkt.iter("field") if (f.get("name") or "") == "_ws.expert.severity"
                    and f.get("show") in ("8388608",)], key  # error-level expert info
