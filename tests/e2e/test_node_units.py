"""Node adapter pieces that need no switch: frames (scapy as the oracle),
node config validation (errors name the key), ping parsing, lab TOML."""
from __future__ import annotations

import tomllib
from ipaddress import IPv6Address as A, IPv6Network as N
from pathlib import Path

import pytest
from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_RA,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    MIP6MH_BU,
)
from scapy.layers.l2 import Ether

from p4mobility.lab import topology as T
from p4mobility.lab.report import parse_ping
from p4mobility.mh import BindingUpdate, HandoffIndicatorOption, MnIdentifier
from p4mobility.nd import NeighborSolicitation
from p4mobility.pmip.actions import RaPrefix, SendRouterAdvertisement
from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.frames import FrameError, mh_frame, parse_mh_frame
from p4mobility.runtime.home_link import na_frame, ra_frame
from p4mobility.runtime.nodeconfig import lma_from_dict, mag_from_dict

MAC = bytes.fromhex("0200000000aa")
ROUTER_MAC = bytes.fromhex("020000000001")


def test_rfc6275_6_1_pbu_frame_parses_in_scapy_and_back():
    bu = BindingUpdate(7, 10, ack=True, proxy=True, options=(MnIdentifier(b"mn1"), HandoffIndicatorOption(4)))
    frame = mh_frame(bu, A("2001:db8:a::1"), A("2001:db8:ffff::1"))
    pkt = Ether(frame)
    assert pkt[IPv6].nh == 135 and pkt[IPv6].src == "2001:db8:a::1"
    assert pkt[MIP6MH_BU].seq == 7 and "P" in str(pkt[MIP6MH_BU].flags)
    msg, src, dst = parse_mh_frame(frame)
    assert msg.sequence == 7 and msg.option(MnIdentifier).identifier == b"mn1"
    assert (src, dst) == (A("2001:db8:a::1"), A("2001:db8:ffff::1"))


@pytest.mark.parametrize("cut", [14, 40, 60])
def test_rfc6275_9_2_truncated_or_corrupt_mh_frame_is_a_typed_error(cut):
    bu = BindingUpdate(1, 10, ack=True, proxy=True, options=(MnIdentifier(b"mn1"),))
    frame = mh_frame(bu, A("2001:db8:a::1"), A("2001:db8:ffff::1"))
    with pytest.raises(FrameError):
        parse_mh_frame(frame[:cut])
    bad = bytearray(frame)
    bad[-1] ^= 0xFF  # checksum no longer verifies
    with pytest.raises(FrameError):
        parse_mh_frame(bytes(bad))


def test_rfc5213_6_7_ra_frame_carries_the_hnp_as_on_link_autonomous_prefix():
    act = SendRouterAdvertisement(1, b"mn1", A("fe80::1"), 1800, (RaPrefix(N("2001:db8:100::/64"), 3600, 3600),))
    pkt = Ether(ra_frame(act, ROUTER_MAC, MAC))
    assert pkt.dst == "02:00:00:00:00:aa" and pkt.src == "02:00:00:00:00:01"
    assert pkt[IPv6].src == "fe80::1" and pkt[IPv6].hlim == 255
    assert pkt[ICMPv6ND_RA].routerlifetime == 1800
    pi = pkt[ICMPv6NDOptPrefixInfo]
    assert (pi.prefix, pi.prefixlen, pi.L, pi.A, pi.validlifetime) == ("2001:db8:100::", 64, 1, 1, 3600)
    assert pkt[ICMPv6NDOptSrcLLAddr].lladdr == "02:00:00:00:00:01"
    # checksum as scapy computes it
    icmp = pkt[ICMPv6ND_RA]
    want = icmp.cksum
    del icmp.cksum
    assert Ether(bytes(pkt))[ICMPv6ND_RA].cksum == want


def test_rfc5213_6_8_na_answers_only_for_the_shared_router_link_local():
    ns = NeighborSolicitation(MAC, A("fe80::ff:fe00:aa"), A("ff02::1:ff00:1"), A("fe80::1"))
    pkt = Ether(na_frame(ns, A("fe80::1"), ROUTER_MAC))
    na = pkt[ICMPv6ND_NA]
    assert na.tgt == "fe80::1" and na.R == 1 and na.S == 1 and pkt[IPv6].dst == "fe80::ff:fe00:aa"
    other = NeighborSolicitation(MAC, A("fe80::ff:fe00:aa"), A("ff02::1:ff00:2"), A("fe80::2"))
    assert na_frame(other, A("fe80::1"), ROUTER_MAC) is None


@pytest.fixture
def p4files(tmp_path: Path) -> dict:
    (tmp_path / "p.txtpb").write_text("")
    (tmp_path / "p.json").write_text("{}")
    return {"name": "n", "switch_address": "127.0.0.1:9559", "p4info": str(tmp_path / "p.txtpb"),
            "p4blob": str(tmp_path / "p.json")}


def test_lab_configs_round_trip_through_toml_and_validate(p4files):
    opts = T.LabOptions()
    lma = lma_from_dict(tomllib.loads(T.to_toml(T.lma_config(p4files, opts))))
    assert lma.lma.lma_address == T.LMA_ADDRESS and len(lma.routes) == 3
    assert lma.policy_store().profile(T.MN_ID.encode()) is not None
    mag = mag_from_dict(tomllib.loads(T.to_toml(T.mag_config("mag2", p4files, opts))))
    assert mag.mag.proxy_coa == T.MAG_COA["mag2"] and mag.router_mac == ROUTER_MAC
    assert mag.mn_macs[bytes.fromhex(T.MN_MAC.replace(":", ""))] == T.MN_ID.encode()


@pytest.mark.parametrize("patch, key", [
    (lambda d: d["lma"].update(lma_address="nope"), "lma.lma_address"),
    (lambda d: d["lma"].update(min_delay_before_bce_delete=-1), "lma.min_delay_before_bce_delete"),
    (lambda d: d["node"].pop("switch_address"), "node.switch_address"),
    (lambda d: d["node"].update(p4info="/nonexistent/p4info"), "node.p4info"),
    (lambda d: d["routes"][1].update(port="x"), "routes[1].port"),
    (lambda d: d["routes"][0].update(dst_mac="zz"), "routes[0].dst_mac"),
    (lambda d: d["policy"]["pools"]["home"].update(network="bad"), "policy.pools.home.network"),
    (lambda d: d.update(extra={}), "extra"),
])
def test_lma_config_errors_name_the_key(p4files, patch, key):
    data = T.lma_config(p4files, T.LabOptions())
    patch(data)
    with pytest.raises(ConfigError) as e:
        lma_from_dict(data)
    assert e.value.key == key


@pytest.mark.parametrize("patch, key", [
    (lambda d: d["mag"].update(proxy_coa="1.2.3.4"), "mag.proxy_coa"),
    (lambda d: d.update(access_ports=[]), "access_ports"),
    (lambda d: d["access_ports"][0].update(port=999), "access_ports[0].port"),
    (lambda d: d["access_ports"][0].update(mn="stranger@p4mob.example"), "access_ports[0].mn"),
    (lambda d: d["access_ports"][0].update(mn=5), "access_ports[0].mn"),
    (lambda d: d["mobile_nodes"][T.MN_ID].update(mac="02:00"), f"mobile_nodes.{T.MN_ID}.mac"),
])
def test_mag_config_errors_name_the_key(p4files, patch, key):
    data = T.mag_config("mag1", p4files, T.LabOptions())
    patch(data)
    with pytest.raises(ConfigError) as e:
        mag_from_dict(data)
    assert e.value.key == key


def test_ping_output_loss_and_gaps():
    lines = [f"[{100 + i * 0.01:.6f}] 64 bytes from 2001:db8:c::2: icmp_seq={i} ttl=62 time=1.5 ms"
             for i in range(1, 11) if i not in (5, 6, 7)]
    lines.append("10 packets transmitted, 7 received, 30% packet loss, time 100ms")
    res = parse_ping("\n".join(lines))
    assert (res.transmitted, res.received, res.lost) == (10, 7, 3)
    end, gap = res.max_gap()
    assert round(gap) == 40 and abs(end - 100.08) < 1e-6  # seq 4 at 100.04 -> seq 8 at 100.08
    assert res.first_reply_after(100.045)[1] == 8
    assert res.missing() == [5, 6, 7]


def test_ping_requests_in_flight_at_its_stop_are_not_missing():
    lines = [f"[{100 + i * 0.01:.6f}] 64 bytes from 2001:db8:c::2: icmp_seq={i} ttl=62 time=1.5 ms"
             for i in range(1, 9) if i != 3]
    lines.append("10 packets transmitted, 7 received, 30% packet loss, time 100ms")  # 9, 10: no time to answer
    res = parse_ping("\n".join(lines))
    assert res.lost == 3 and res.missing() == [3]


def test_rfc4862_slaac_address_is_modified_eui64():
    from scapy.utils6 import in6_mactoifaceid
    got = T.slaac_address(N("2001:db8:100::/64"), "02:00:00:00:aa:01")
    assert got == A("2001:db8:100::" + in6_mactoifaceid("02:00:00:00:aa:01"))


@pytest.mark.parametrize("name, loader", [("lma", lma_from_dict), ("mag1", mag_from_dict), ("mag2", mag_from_dict)])
def test_examples_validate(name, loader, p4files):
    path = Path(__file__).resolve().parents[2] / "examples" / f"{name}.toml"
    data = tomllib.loads(path.read_text())
    data["node"].update(p4info=p4files["p4info"], p4blob=p4files["p4blob"])
    cfg = loader(data)
    assert cfg.node.name == name
