"""Cross-check our encoder against Wireshark's MIPv6 dissector (tshark).

Every message type and the options of RFC 6275/3963/5213/5555/5648/5845 are
encoded by us, wrapped in IPv6 (and one DSMIPv6 BU in IPv4/UDP 4191), written
to one pcap with scapy, dissected in one tshark run. The expected values are
the inputs we gave the encoder; alignment offsets come from the RFC table below.
"""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from ipaddress import IPv4Address, IPv6Address

import pytest
from tests.mh.mh_testlib import HA, HOA, LMA, MAG, TSHARK, catalogue, ether, ipv4, ipv6, udp
from tests.tooling import needs_tools

from p4mobility.mh import (
    AccessTechnologyTypeOption,
    AlternateCareofAddress,
    BindingAck,
    BindingAuthorizationData,
    BindingError,
    BindingIdentifier,
    BindingRefreshAdvice,
    BindingUpdate,
    CareofTest,
    CareofTestInit,
    GreKey,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    HomeTest,
    HomeTestInit,
    Ipv4AddressAcknowledgement,
    Ipv4CareofAddress,
    Ipv4HomeAddress,
    LinkLocalAddress,
    MnIdentifier,
    MnLinkLayerIdentifier,
    MobileNetworkPrefix,
    NatDetection,
    NonceIndices,
    Timestamp,
    encode_mh,
)

pytestmark = [pytest.mark.tshark, needs_tools("tshark")]

# RFC alignment requirements (xn+y) written from the RFC text, not from our code.
ALIGN = {
    "hnp": (8, 4),  # RFC 5213 §8.3
    "mnp": (8, 4),  # RFC 3963 §4.3
    "lla": (8, 6),  # RFC 5213 §8.7
    "ts": (8, 2),  # RFC 5213 §8.8
    "acoa": (8, 6),  # RFC 6275 §6.2.5
    "bad_auth": (8, 2),  # RFC 6275 §6.2.7
    "bra": (2, 0),  # RFC 6275 §6.2.4
    "ni": (2, 0),  # RFC 6275 §6.2.6
    "ipv4ha": (4, 0), "ipv4aa": (4, 0), "natd": (4, 0), "ipv4coa": (4, 0),  # RFC 5555 §3
    "grek": (4, 0),  # RFC 5845 §3.1
}

DSMIP_BU = BindingUpdate(
    sequence=42, lifetime=60, ack=True, home_registration=True,
    options=(Ipv4CareofAddress(IPv4Address("192.168.1.20")), Ipv4HomeAddress(32, False, IPv4Address("0.0.0.0"))),
)


def _fields(elem) -> list[tuple[str, str, ET.Element]]:
    """(name, show, element) for every descendant field, in document order."""
    return [(f.get("name"), f.get("show"), f) for f in elem.iter("field")]


@pytest.fixture(scope="module")
def dissected(tmp_path_factory):
    from scapy.utils import RawPcapWriter

    msgs = catalogue()
    frames = [ether(ipv6(MAG, LMA, 135, encode_mh(m, MAG, LMA))) for m in msgs]
    inner = ipv6(HOA, HA, 135, encode_mh(DSMIP_BU, HOA, HA))
    frames.append(ether(ipv4("192.168.1.20", "203.0.113.1", 17, udp(4191, 4191, inner)), 0x0800))
    path = tmp_path_factory.mktemp("tshark") / "mh.pcap"
    w = RawPcapWriter(str(path), linktype=1)
    for f in frames:
        w.write(f)
    w.close()
    out = subprocess.run(
        [TSHARK, "-r", str(path), "-T", "pdml", "-d", "udp.port==4191,ipv6"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    packets = ET.fromstring(out).findall("packet")
    assert len(packets) == len(frames)
    return list(zip(msgs + [DSMIP_BU], packets))


def _mip6(pkt):
    protos = [p for p in pkt.iter("proto") if p.get("name") == "mipv6"]
    assert len(protos) == 1, "tshark did not find exactly one Mobility Header"
    return protos[0]


def _options(proto):
    """tshark's option elements (padding excluded): (short name, element)."""
    out = []
    for f in proto.iter("field"):
        name = f.get("name") or ""
        if name.startswith("mip6.options.") and name not in ("mip6.options.padn", "mip6.options.pad1"):
            out.append((name.removeprefix("mip6.options."), f))
    return out


def _sub(elem) -> dict[str, str]:
    return {n: s for n, s, _ in _fields(elem) if n}


def _hexcolon(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _ts(show: str) -> float:
    # "Nov 14, 2023 22:13:20.500000000 UTC": seconds since 1970 with the 1/65536 fraction
    date, frac = show.removesuffix(" UTC").rsplit(".", 1)
    base = datetime.strptime(date, "%b %d, %Y %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return base + int(frac) / 10 ** len(frac)


def _expect_option(opt) -> tuple[str, dict[str, str]]:
    """tshark's name and field values for one of our options (from its inputs)."""
    if isinstance(opt, MnIdentifier):
        return "mnid", {"mip6.mnid.subtype": str(opt.subtype), "mip6.mnid.identifier": opt.identifier.decode()}
    if isinstance(opt, (HomeNetworkPrefix, MobileNetworkPrefix)):
        name = "hnp" if isinstance(opt, HomeNetworkPrefix) else "mnp"
        return name, {"mip6.nemo.mnp.pfl": str(opt.prefix_length), "mip6.nemo.mnp.mnp": str(opt.prefix)}
    if isinstance(opt, HandoffIndicatorOption):
        return "hi", {"mip6.hi": str(opt.value)}
    if isinstance(opt, AccessTechnologyTypeOption):
        return "att", {"mip6.att": str(opt.value)}
    if isinstance(opt, LinkLocalAddress):
        return "lla", {"mip6.lila_lla": str(opt.address)}
    if isinstance(opt, AlternateCareofAddress):
        return "acoa", {"mip6.acoa.acoa": str(opt.address)}
    if isinstance(opt, NonceIndices):
        return "ni", {"mip6.ni.hni": str(opt.home_nonce_index), "mip6.ni.cni": str(opt.careof_nonce_index)}
    if isinstance(opt, BindingAuthorizationData):
        return "bad_auth", {"mip6.bad.auth": _hexcolon(opt.authenticator)}
    if isinstance(opt, BindingRefreshAdvice):
        return "bra", {"mip6.bra.interval": str(opt.refresh_interval)}
    if isinstance(opt, BindingIdentifier):
        exp = {"mip6.bi.bid": str(opt.bid), "mip6.bi.status": str(opt.status), "mip6.bi.h_flag": str(int(opt.h))}
        if isinstance(opt.coa, IPv4Address):
            exp["mip6.bi.coa_ipv4"] = str(opt.coa)
        elif isinstance(opt.coa, IPv6Address):
            exp["mip6.bi.coa_ipv6"] = str(opt.coa)
        return "bi", exp
    if isinstance(opt, Ipv4HomeAddress):
        return "ipv4ha", {"mip6.ipv4ha.preflen": str(opt.prefix_length), "mip6.ipv4ha.p_flag": str(int(opt.p)),
                          "mip6.ipv4ha.ha": str(opt.address)}
    if isinstance(opt, Ipv4AddressAcknowledgement):  # WS reuses the ipv4ha field names here
        return "ipv4aa", {"mip6.ipv4aa.sts": str(opt.status), "mip6.ipv4ha.preflen": str(opt.prefix_length),
                          "mip6.ipv4ha.ha": str(opt.address)}
    if isinstance(opt, NatDetection):
        return "natd", {"mip6.natd.f_flag": str(int(opt.udp_encapsulation_required)),
                        "mip6.natd.refresh_t": str(opt.refresh_time)}
    if isinstance(opt, Ipv4CareofAddress):
        return "ipv4coa", {"mip6.ipv4coa.addr": str(opt.address)}
    if isinstance(opt, MnLinkLayerIdentifier):
        return "mnlli", {"mip6.mnlli.lli": _hexcolon(opt.identifier)}
    if isinstance(opt, GreKey):
        return "grek", {"mip6.gre_key": str(opt.key)}
    if isinstance(opt, Timestamp):
        return "ts", {}
    raise AssertionError(f"no tshark expectation for {opt!r}")


def _expect_message(m) -> dict[str, str]:
    if isinstance(m, BindingUpdate):
        return {
            "mip6.bu.seqnr": str(m.sequence), "mip6.bu.lifetime": str(m.lifetime),
            "mip6.bu.a_flag": str(int(m.ack)), "mip6.bu.h_flag": str(int(m.home_registration)),
            "mip6.bu.l_flag": str(int(m.link_local_compat)), "mip6.bu.k_flag": str(int(m.key_mgmt_compat)),
            "mip6.nemo.bu.r_flag": str(int(m.mobile_router)), "mip6.bu.p_flag": str(int(m.proxy)),
            "mip6.bu.f_flag": str(int(m.force_udp)), "mip6.bu.t_flag": str(int(m.tlv_header)),
        }
    if isinstance(m, BindingAck):
        return {
            "mip6.ba.status": str(m.status), "mip6.ba.seqnr": str(m.sequence), "mip6.ba.lifetime": str(m.lifetime),
            "mip6.ba.k_flag": str(int(m.key_mgmt_compat)), "mip6.nemo.ba.r_flag": str(int(m.mobile_router)),
            "mip6.ba.p_flag": str(int(m.proxy)),
        }
    if isinstance(m, BindingError):
        return {"mip6.be.status": str(m.status), "mip6.be.haddr": str(m.home_address)}
    if isinstance(m, HomeTestInit):
        return {"mip6.hoti.cookie": "0x" + m.init_cookie.hex()}
    if isinstance(m, CareofTestInit):
        return {"mip6.coti.cookie": "0x" + m.init_cookie.hex()}
    if isinstance(m, HomeTest):
        return {"mip6.hot.nindex": str(m.nonce_index), "mip6.hot.cookie": "0x" + m.init_cookie.hex(),
                "mip6.hot.token": "0x" + m.keygen_token.hex()}
    if isinstance(m, CareofTest):  # this Wireshark labels the CoT token with the HoT field name
        return {"mip6.cot.nindex": str(m.nonce_index), "mip6.cot.cookie": "0x" + m.init_cookie.hex(),
                "mip6.hot.token": "0x" + m.keygen_token.hex()}
    return {}


def test_rfc6275_6_1_every_message_type_dissects_as_encoded(dissected):
    seen_types = set()
    for msg, pkt in dissected:
        proto = _mip6(pkt)
        top = _sub(proto)
        assert top["mip6.mhtype"] == str(int(msg.mh_type))
        assert top["mip6.proto"] == "59"  # RFC 6275 §6.1.1 IPPROTO_NONE
        assert int(proto.get("size")) == (int(top["mip6.hlen"]) + 1) * 8
        for name, value in _expect_message(msg).items():
            assert top.get(name) == value, (type(msg).__name__, name)
        seen_types.add(int(msg.mh_type))
    assert seen_types == set(range(8))


def test_rfc6275_6_2_options_dissect_as_encoded_and_aligned(dissected):
    kinds = set()
    for msg, pkt in dissected:
        proto = _mip6(pkt)
        mh_pos = int(proto.get("pos"))
        got = _options(proto)
        assert [n for n, _ in got] == [_expect_option(o)[0] for o in msg.options]
        for opt, (name, elem) in zip(msg.options, got):
            expected = _expect_option(opt)[1]
            fields = _sub(elem)
            for k, v in expected.items():
                assert fields.get(k) == v, (name, k)
            if isinstance(opt, Timestamp):
                assert _ts(fields["mip6.timestamp_tmp"]) == pytest.approx(opt.seconds, abs=1e-6)
            if name in ALIGN:
                x, y = ALIGN[name]
                assert (int(elem.get("pos")) - mh_pos) % x == y, f"{name} misaligned"
            kinds.add(name)
    assert kinds >= {"hnp", "mnid", "hi", "att", "ts", "lla", "mnlli", "ipv4ha", "natd", "ipv4coa", "bi",
                     "grek", "acoa", "ni", "bad_auth", "bra", "mnp", "ipv4aa"}


def test_no_malformed_or_expert_warnings(dissected):
    for msg, pkt in dissected:
        for name, _show, f in _fields(pkt):
            assert not (name or "").startswith("_ws.malformed"), type(msg).__name__
            if name == "_ws.expert.severity":
                pytest.fail(f"expert info on {type(msg).__name__}: {f.get('showname')}")
        assert not [f for f in pkt.iter("field") if (f.get("name") or "").startswith("_ws.expert")]


def test_rfc5555_dsmipv6_bu_inside_ipv4_udp_4191(dissected):
    msg, pkt = dissected[-1]
    names = [p.get("name") for p in pkt.iter("proto")]
    assert names[names.index("ip"):] [:3] == ["ip", "udp", "ipv6"]
    top = _sub(_mip6(pkt))
    assert top["mip6.mhtype"] == "5"
    assert top["mip6.bu.seqnr"] == "42"
    got = dict(_options(_mip6(pkt)))
    assert _sub(got["ipv4coa"])["mip6.ipv4coa.addr"] == "192.168.1.20"
    assert _sub(got["ipv4ha"])["mip6.ipv4ha.ha"] == "0.0.0.0"
