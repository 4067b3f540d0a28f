"""The host-mobility lab's IPsec files (lab/mip_topology.py) carry every RFC 3776 §5.2 path:
what the MN's SPD protects with an SA, the HA's crypto path accepts on that SA (RFC 4301
§5.2 inbound check), and the other way round; the switch's SPD entries pick the SA the HA's
own SPD picks; the tunnelled HoTI SAs are the ones the switch checks against the CoAs.
Packets are built with scapy and the project's MH codec; both sides run the IPsec core
with the lab's keys, as `p4mob mn run` and `p4mob ipsec run` do."""
from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from p4mobility.ipsec import Accepted, CryptoPath, Protected
from p4mobility.ipsec.config import load_config
from p4mobility.ipsec.spd import Action, Dir, Mode, selector_from_packet
from p4mobility.lab import mip_topology as M
from p4mobility.lab.mip_files import write_files
from p4mobility.mh import HomeTest, HomeTestInit, encode_mh
from p4mobility.p4rt.ipsec_entries import ipsec_entries
from p4mobility.runtime.ha_sas import tunnelled_signalling_sas
from p4mobility.runtime.mn_config import load as load_mn
from scapy.layers.inet import UDP
from scapy.layers.inet6 import (
    HAO,
    ICMPv6MPAdv,
    ICMPv6MPSol,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
)

HOA, HA, CN, COA = M.HOME_ADDRESS, M.HA_ADDRESS, M.CN_ADDRESS, M.MN_COA["acca"]
SAS = {sa.name: sa for mn in M.HOME_ADDRESSES for sa in M.mip_sas(mn)}


@pytest.fixture(scope="module")
def lab_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("mipfiles")
    write_files(out, M.MipLabOptions())
    return out


def paths(out):
    mn, ha = load_config(out / "ipsec-mn.toml"), load_config(out / "ipsec-ha.toml")
    return CryptoPath(mn.build_sad(0.0), mn.spd), CryptoPath(ha.build_sad(0.0), ha.spd)


def _mh(msg, src, dst) -> bytes:
    return encode_mh(msg, src, dst)


MPS = bytes(IPv6(src=str(COA), dst=str(HA)) / IPv6ExtHdrDestOpt(options=[HAO(hoa=str(HOA))]) / ICMPv6MPSol(id=9))
MPA = bytes(IPv6(src=str(HA), dst=str(COA)) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(HOA)])
            / ICMPv6MPAdv(id=9))
UPLINK = bytes(IPv6(src=str(HOA), dst=str(CN)) / UDP(sport=5000, dport=7))
DOWNLINK = bytes(IPv6(src=str(CN), dst=str(HOA)) / UDP(sport=7, dport=5000))


def _ipv6_mh(src: IPv6Address, dst: IPv6Address, mh: bytes) -> bytes:
    return bytes(IPv6(src=str(src), dst=str(dst), nh=135, plen=len(mh))) + mh  # RFC 6275 §6.1: MH after IPv6


def _crosses(sender: CryptoPath, receiver: CryptoPath, packet: bytes, sa: str, mode: Mode):
    sent = sender.protect(packet, 1.0)
    assert isinstance(sent, Protected), sent
    assert sender.sad.get(sent.sa_index).spi == SAS[sa].spi
    assert sender.sad.get(sent.sa_index).mode is mode
    got = receiver.process_inbound(sent.packet, None, 1.0)
    assert isinstance(got, Accepted), got  # the receiver's SPD names the same SA (RFC 4301 §5.2)
    return got.packet


def test_rfc3776_5_2_3_prefix_discovery_on_the_bu_and_ba_sas_in_transport_mode(lab_files):
    mn, ha = paths(lab_files)
    assert _crosses(mn, ha, MPS, "bu", Mode.TRANSPORT) == MPS
    assert _crosses(ha, mn, MPA, "ba", Mode.TRANSPORT) == MPA


def test_rfc3776_5_2_2_hoti_and_hot_in_tunnel_mode_on_their_own_sas_before_the_payload(lab_files):
    mn, ha = paths(lab_files)
    hoti = _ipv6_mh(HOA, CN, _mh(HomeTestInit(b"\x01" * 8), HOA, CN))
    hot = _ipv6_mh(CN, HOA, _mh(HomeTest(7, b"\x02" * 8, b"\x03" * 8), CN, HOA))
    assert _crosses(mn, ha, hoti, "hoti", Mode.TUNNEL) == hoti
    assert _crosses(ha, mn, hot, "hot", Mode.TUNNEL) == hot
    # the payload keeps its own SAs (draft-laganier req. 2: the host-wide entries come last)
    assert _crosses(mn, ha, UPLINK, "data-out", Mode.TUNNEL) == UPLINK
    assert _crosses(ha, mn, DOWNLINK, "data-in", Mode.TUNNEL) == DOWNLINK
    # a HoTI on the payload SA is refused by the HA: not the SA its policy names
    sent = mn.process_outbound(hoti, next(sa.index for sa in mn.sad if sa.spi == SAS["data-out"].spi), 1.0)
    assert not isinstance(ha.process_inbound(sent.packet, None, 1.0), Accepted)


def _ternary_hit(entry, fields) -> bool:
    for name, value in entry.match.items():
        if isinstance(value, tuple):
            v, mask = value
        elif "/" in str(value) or "&&&" in str(value):
            import ipaddress
            net = ipaddress.ip_network(str(value).split("&&&")[0], strict=False)
            v, mask = int(net.network_address), int(net.netmask)
        else:
            import ipaddress
            v, mask = int(ipaddress.ip_address(value)), (1 << 128) - 1
        if fields[name] & mask != int(v) & mask:
            return False
    return True


def test_the_switch_spd_picks_what_the_home_agents_spd_picks(lab_files):
    cfg = load_config(lab_files / "ipsec-ha.toml")
    sad = cfg.build_sad(0.0)
    entries = [e for _, e in ipsec_entries(sad, cfg.spd) if e.table_id == "outbound_policies"]
    hot = _ipv6_mh(CN, HOA, _mh(HomeTest(7, b"\x02" * 8, b"\x03" * 8), CN, HOA))
    ba_like = _ipv6_mh(HA, HOA, b"\x3b\x01\x00\x00" + bytes(12))  # MH type 0 (BRR) shape: any MH from the HA
    for packet in (MPA, hot, DOWNLINK, ba_like):
        sel = selector_from_packet(packet)
        fields = {"src_addr": int(sel.src), "dst_addr": int(sel.dst), "ip_proto": sel.proto,
                  "mh_type": sel.mh_type or 0, "icmp_type": sel.sport if sel.proto == 58 else 0}
        switch = max((e for e in entries if _ternary_hit(e, fields)), key=lambda e: e.priority)
        want = cfg.spd.lookup(Dir.OUT, sel)
        assert want.action is Action.PROTECT
        assert switch.action.args["sa_index"] == sad.lookup_outbound(want.tmpl).index


def test_the_switch_checks_the_care_of_address_of_the_hoti_sas_only(lab_files):
    cfg = load_config(lab_files / "ipsec-ha.toml")
    sad = cfg.build_sad(0.0)
    checked = tunnelled_signalling_sas(sad, cfg.spd)
    assert {sad.get(i).spi: hoa for i, hoa in checked.items()} == {
        SAS["hoti"].spi: M.HOME_ADDRESS, SAS["mn2-hoti"].spi: M.MN2_HOME_ADDRESS}
    esp = {e.match["spi"]: e.action for _, e in ipsec_entries(sad, cfg.spd, checked) if e.table_id == "esp_sas"}
    assert esp[SAS["hoti"].spi].name == "to_crypto_port_from_coa"
    assert IPv6Address(esp[SAS["hoti"].spi].args["home_addr"]) == HOA
    assert {esp[SAS[n].spi].name for n in ("bu", "data-out", "mn2-bu")} == {"to_crypto_port"}


def test_the_mns_file_is_a_valid_daemon_file(lab_files):
    assert load_mn(lab_files / "mn.toml").ipsec.spd.entries[-1].action is Action.BYPASS
