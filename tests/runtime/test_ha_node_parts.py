"""The home agent node's pure parts, without a switch: its file (runtime/haconfig.py), which
home address each inbound SA speaks for (runtime/ha_sas.py) and its frames
(runtime/ha_frames.py), checked against scapy and the MH codec, not against themselves."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import HAO, ICMPv6MPAdv, ICMPv6MPSol, ICMPv6NDOptPrefixInfo, IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4mobility.ha import AdvertisedPrefix, Ipv6Route, SendMobilePrefixAdvertisement, UdpIpv4Route
from p4mobility.ipsec.config import parse_config
from p4mobility.mh import BindingAck, BindingUpdate, MhDecodeError, decode_mh, encode_mh
from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.frames import FrameError
from p4mobility.nd.mobile_prefix import MobilePrefixSolicitation
from p4mobility.runtime.ha_frames import (parse_punted, parse_punted_solicitation, prefix_advertisement_frame,
                                          signalling_frame)
from p4mobility.runtime.ha_sas import sa_home_addresses, tunnelled_signalling_sas
from p4mobility.runtime.haconfig import ha_from_dict, mapped

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HA, HOA, COA = IPv6Address("2001:db8:1::1"), IPv6Address("2001:db8:1::100"), IPv6Address("2001:db8:a::7")
HA4, NAT4 = IPv4Address("192.0.2.1"), IPv4Address("198.51.100.2")


# --- the file ------------------------------------------------------------------------------------

def test_the_example_files_validate_with_genkey_keys(tmp_path):
    """examples/ha.toml and ha-ipsec.toml with keys from `p4mob ipsec genkey`: `p4mob ha run --check`."""
    for name in ("ha.toml", "ha-ipsec.toml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "keys").mkdir()
    for key in set(re.findall(r'key-file = "keys/([\w-]+)\.key"', (EXAMPLES / "ha-ipsec.toml").read_text())):
        subprocess.run([sys.executable, "-m", "p4mobility.cli", "ipsec", "genkey",
                        str(tmp_path / "keys" / f"{key}.key")], check=True, timeout=60)
    run = subprocess.run([sys.executable, "-m", "p4mobility.cli", "ha", "run", "-c", str(tmp_path / "ha.toml"),
                          "--check"], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stderr) == (0, "")


def base(**over) -> dict:
    d = {"node": {"name": "ha", "switch_address": "127.0.0.1:9559"},
         "home_agent": {"ha_address": str(HA), "home_prefixes": ["2001:db8:1::/64"]},
         "routes": [{"prefix": "203.0.113.0/24", "port": 4, "src_mac": "02:00:00:00:00:01",
                     "dst_mac": "02:00:00:00:00:02"},
                    {"prefix": "2001:db8:c::/64", "port": 4, "src_mac": "02:00:00:00:00:01",
                     "dst_mac": "02:00:00:00:00:02"}]}
    d.update(over)
    return d


def test_routes_take_ipv4_prefixes_in_the_switchs_ipv4_mapped_form():
    cfg = ha_from_dict(base())
    # docs/dataplane.md: IPv4 a.b.c.0/n is keyed ::ffff:a.b.c.0/(96+n) (RFC 4291 §2.5.5.2)
    assert [r.prefix for r in cfg.routes] == [IPv6Network("::ffff:203.0.113.0/120"), IPv6Network("2001:db8:c::/64")]
    assert mapped(IPv6Network("2001:db8::/32")) == IPv6Network("2001:db8::/32")


@pytest.mark.parametrize("change, key", [
    ({"routes": [{"prefix": "203.0.113.1/24", "port": 1, "src_mac": "02:00:00:00:00:01",
                  "dst_mac": "02:00:00:00:00:02"}]}, "routes[0].prefix"),  # host bits set
    ({"routes": [{"prefix": "::/0", "port": 600, "src_mac": "02:00:00:00:00:01",
                  "dst_mac": "02:00:00:00:00:02"}]}, "routes[0].port"),
    ({"home_agent": {"home_prefixes": ["2001:db8:1::/64"]}}, "home_agent.ha_address"),
    ({"home_agent": {"ha_address": str(HA), "home_prefixes": ["2001:db8:1::/64"], "ipv4_pool": "10.0.0.1/8"}},
     "home_agent.ipv4_pool"),
    ({"lma": {}}, "lma"),
    ({"ipsec": {"config": "missing.toml"}}, "ipsec.config"),
])
def test_a_bad_file_names_the_key(change, key, tmp_path):
    with pytest.raises(ConfigError) as err:
        ha_from_dict(base(**change), tmp_path)
    assert err.value.key == key


# --- SAs and home addresses ----------------------------------------------------------------------

def _spd(policies: list[dict], states: list[dict], keys: Path):
    key = keys / "k.key"
    key.write_text("11" * 20)
    key.chmod(0o600)
    cfg = parse_config({"state": states, "policy": policies}, keys)
    return cfg.build_sad(0.0), cfg.spd


def _sa(spi: int, reqid: int, direction: str = "in", **extra) -> dict:
    return {"src": str(HOA), "dst": str(HA), "spi": spi, "reqid": reqid, "mode": "transport", "dir": direction,
            "aead": {"name": "rfc4106(gcm(aes))", "key-file": "k.key"}, **extra}


def _policy(reqid: int, remote: str, direction: str = "in") -> dict:
    return {"dir": direction, "remote": remote, "action": "protect", "tmpl": {"reqid": reqid}}


def test_rfc3776_4_1_an_inbound_sa_speaks_for_the_one_home_address_its_selectors_name(tmp_path):
    sad, spd = _spd([_policy(1, f"{HOA}/128"), _policy(2, "2001:db8:1::/64"), _policy(3, f"{HOA}/128"),
                     _policy(3, "2001:db8:1::200/128"), _policy(5, f"{HOA}/128", "out")],
                    [_sa(0x101, 1), _sa(0x102, 2), _sa(0x103, 3), _sa(0x104, 4, sel={"remote": "2001:db8:1::300/128"}),
                     _sa(0x105, 5, "out")], tmp_path)
    got = {sa.spi: sa_home_addresses(sad, spd).get(sa.index) for sa in sad}
    assert got == {0x101: HOA,  # its policy names exactly the HoA
                   0x102: None,  # a whole prefix: bound to no one home address
                   0x103: None,  # two policies, two home addresses
                   0x104: IPv6Address("2001:db8:1::300"),  # its own selector
                   0x105: None}  # outbound SAs carry nothing to us


# --- frames --------------------------------------------------------------------------------------

def bu(seq: int = 7) -> BindingUpdate:
    return BindingUpdate(seq, 100, ack=True, home_registration=True)


def test_rfc6275_6_3_a_punted_bu_with_a_home_address_option():
    mh = encode_mh(bu(), HOA, HA)  # checksum over the HoA (RFC 6275 §6.1.1)
    frame = bytes(Ether() / IPv6(src=str(COA), dst=str(HA)) / IPv6ExtHdrDestOpt(nh=135, options=[HAO(hoa=str(HOA))])
                  / Raw(mh))
    got = parse_punted(frame)
    assert (got.message, got.src, got.dst, got.home_address_option, got.outer_v4) == (bu(), COA, HA, HOA, None)


def test_rfc5555_4_1_a_punted_bu_in_udp_4191_carries_the_outer_source_and_port():
    inner = IPv6(src=str(HOA), dst=str(HA), nh=135) / Raw(encode_mh(bu(), HOA, HA))
    frame = bytes(Ether() / IP(src=str(NAT4), dst=str(HA4)) / UDP(sport=40001, dport=4191) / inner)
    got = parse_punted(frame)
    assert (got.message, got.src, got.home_address_option, got.outer_v4) == (bu(), HOA, None, (NAT4, 40001))


def test_bad_frames_are_frame_errors_and_a_bad_mh_is_handed_to_the_core():
    good = bytes(Ether() / IPv6(src=str(HOA), dst=str(HA), nh=135) / Raw(encode_mh(bu(), HOA, HA)))
    for bad in (good[:20], good[:60],  # truncated Ethernet / IPv6 payload
                bytes(Ether() / IP(src=str(NAT4), dst=str(HA4)) / UDP(sport=1, dport=53) / Raw(good[14:])),
                bytes(Ether() / IPv6(src=str(HOA), dst=str(HA), nh=17) / UDP() / Raw(b"x"))):
        with pytest.raises(FrameError):
            parse_punted(bad)
    broken = bytearray(good)
    broken[-1] ^= 0xFF  # checksum no longer holds (RFC 6275 §9.2: discard, the core decides)
    got = parse_punted(bytes(broken))
    assert got.undecodable and isinstance(got.message, MhDecodeError)


def test_rfc6275_6_4_a_ba_to_a_care_of_address_carries_the_home_address_in_rh2():
    ba = BindingAck(0, 7, 100)
    pkt = Ether(signalling_frame(ba, Ipv6Route(HA, COA, HOA)))
    ip6 = pkt[IPv6]
    assert (ip6.src, ip6.dst, ip6.nh) == (str(HA), str(COA), 43)
    rh = bytes(ip6.payload)
    assert rh[:4] == bytes([135, 2, 2, 1]) and IPv6Address(rh[8:24]) == HOA  # type 2, one segment left
    assert decode_mh(rh[24:], HA, HOA) == ba  # checksum over (HA, HoA)
    home = Ether(signalling_frame(ba, Ipv6Route(HA, HOA, HOA)))[IPv6]
    assert (home.dst, home.nh) == (str(HOA), 135)  # at home: no RH2


def test_rfc5555_4_1_a_ba_over_ipv4_goes_in_udp_from_4191_to_the_recorded_port():
    ba = BindingAck(0, 7, 100)
    pkt = Ether(signalling_frame(ba, UdpIpv4Route(HA4, NAT4, 40001, HA, HOA)))
    ip4 = pkt[IP]
    assert (ip4.src, ip4.dst, ip4[UDP].sport, ip4[UDP].dport) == (str(HA4), str(NAT4), 4191, 40001)
    assert ip4.len == len(bytes(ip4)) and ip4[UDP].len == ip4.len - 20
    check = IP(bytes(ip4))
    del check.chksum
    assert IP(bytes(check)).chksum == ip4.chksum
    inner = IPv6(bytes(ip4[UDP].payload))
    assert (inner.src, inner.dst, inner.nh) == (str(HA), str(HOA), 135)  # no RH2 inside UDP
    assert decode_mh(bytes(inner.payload), HA, HOA) == ba


def test_rfc3776_5_2_2_only_tunnel_mode_sas_carrying_mobility_headers_are_source_checked(tmp_path):
    """A tunnelled HoTI's SA (tunnel mode, policies selecting MH) names its home address for the
    switch's source check; the payload SA (any protocol), transport SAs and unbound SAs do not."""
    mh = {"proto": "mh", "remote-mh-type": 1}
    sad, spd = _spd([{**_policy(1, f"{HOA}/128"), **mh}, _policy(2, f"{HOA}/128"), {**_policy(3, f"{HOA}/128"), **mh},
                     {**_policy(4, "2001:db8:1::/64"), **mh}],
                    [_sa(0x201, 1, mode="tunnel"), _sa(0x202, 2, mode="tunnel"), _sa(0x203, 3),
                     _sa(0x204, 4, mode="tunnel")], tmp_path)
    got = {sa.spi: tunnelled_signalling_sas(sad, spd).get(sa.index) for sa in sad}
    assert got == {0x201: HOA, 0x202: None, 0x203: None, 0x204: None}


def test_rfc6275_6_7_a_punted_solicitation_from_a_care_of_address():
    """IPv6{CoA -> HA} DestOpt{HAO} ICMPv6 146, its checksum over (HoA, HA) (scapy computes it so)."""
    icmp = bytes(IPv6(src=str(HOA), dst=str(HA)) / ICMPv6MPSol(id=0x4242))[40:]
    frame = bytes(Ether() / IPv6(src=str(COA), dst=str(HA)) / IPv6ExtHdrDestOpt(nh=58, options=[HAO(hoa=str(HOA))])
                  / Raw(icmp))
    got = parse_punted_solicitation(frame)
    assert (got.message, got.src, got.dst, got.home_address_option, got.outer_v4) == (
        MobilePrefixSolicitation(0x4242), COA, HA, HOA, None)
    inner = IPv6(src=str(HOA), dst=str(HA)) / ICMPv6MPSol(id=7)
    got = parse_punted_solicitation(bytes(Ether() / IP(src=str(NAT4), dst=str(HA4)) / UDP(sport=40001, dport=4191)
                                          / inner))
    assert (got.message.identifier, got.src, got.outer_v4) == (7, HOA, (NAT4, 40001))
    for bad in (frame[:-1] + bytes([frame[-1] ^ 1]),  # checksum
                bytes(Ether() / IPv6(src=str(COA), dst=str(HA)) / IPv6ExtHdrDestOpt(nh=58, options=[HAO(hoa=str(COA))])
                      / Raw(icmp)),  # checksum over another home address
                bytes(Ether() / IPv6(src=str(HOA), dst=str(HA)) / ICMPv6MPAdv(id=1))):  # not a solicitation
        with pytest.raises(FrameError):
            parse_punted_solicitation(bad)


def _mpa(route) -> SendMobilePrefixAdvertisement:
    return SendMobilePrefixAdvertisement(0x4242, (AdvertisedPrefix(IPv6Network("2001:db8:1::/64"), 86400, 14400),),
                                         route)


def test_rfc6275_6_8_the_advertisement_to_a_care_of_address_with_rh2_and_the_home_prefixes():
    pkt = Ether(prefix_advertisement_frame(_mpa(Ipv6Route(HA, COA, HOA))))
    ip6 = pkt[IPv6]
    assert (ip6.src, ip6.dst, ip6.nh) == (str(HA), str(COA), 43)
    rh = bytes(ip6.payload)
    assert rh[:4] == bytes([58, 2, 2, 1]) and IPv6Address(rh[8:24]) == HOA
    want = IPv6(src=str(HA), dst=str(HOA)) / ICMPv6MPAdv(id=0x4242, flags=0) / ICMPv6NDOptPrefixInfo(
        prefix="2001:db8:1::", prefixlen=64, validlifetime=86400, preferredlifetime=14400)
    assert rh[24:] == bytes(want)[40:]  # scapy's checksum over (HA, HoA): RFC 8200 §8.1 final destination


def test_rfc5555_4_1_the_advertisement_over_ipv4_goes_in_udp_to_the_recorded_port():
    pkt = Ether(prefix_advertisement_frame(_mpa(UdpIpv4Route(HA4, NAT4, 40001, HA, HOA))))
    assert (pkt[IP].dst, pkt[UDP].sport, pkt[UDP].dport) == (str(NAT4), 4191, 40001)
    inner = IPv6(bytes(pkt[UDP].payload))
    assert (inner.src, inner.dst, inner.nh) == (str(HA), str(HOA), 58)
    want = IPv6(src=str(HA), dst=str(HOA)) / ICMPv6MPAdv(id=0x4242, flags=0) / ICMPv6NDOptPrefixInfo(
        prefix="2001:db8:1::", prefixlen=64, validlifetime=86400, preferredlifetime=14400)
    assert bytes(inner.payload) == bytes(want)[40:]
