"""The mobile-node daemon (`p4mob mn run`) as a process in a namespace with two
access links, against the test peer playing the home agent's wire side.

Each test names the rule it shows; expected values come from the RFCs and the
test's own addresses, never from the daemon. No fixed sleeps: every wait is a
condition with a deadline (mnlab.wait_for, HaPeer.wait).
"""
from __future__ import annotations

import signal
import subprocess
from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from p4mobility.ipsec import export_wireshark_esp_sa
from p4mobility.ipsec.config import load_config
from p4mobility.lab.tools import find_tool
from p4mobility.mh import AlternateCareofAddress, BindingIdentifier, BindingRefreshRequest, Ipv4CareofAddress, Ipv4HomeAddress
from tests.mn.mnlab import CN, CN4, COA4, COA_A, COA_B, HA, HA4, HOA, MAC, MN_PORT, SPI, sh, wait_for

TSHARK = find_tool("tshark")
HOA4 = IPv4Address("10.200.0.5")


def registered(lab) -> dict:
    return wait_for("registration", lambda: (s := lab.status()) and s["registered"] and s)


def tshark_bus(lab, frames: list[bytes], udp: bool) -> list[list[str]]:
    """BUs in ``frames`` as tshark dissects them, decrypted with the exported keys."""
    pcap = lab.root / "bu.pcap"
    wrpcap(str(pcap), [Ether(f) for f in frames])
    args = [TSHARK, "-n", "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE",
            "-o", "esp.enable_authentication_check:TRUE"]
    for rec in export_wireshark_esp_sa(load_config(lab.root / "ipsec-mn.toml").sas).splitlines():
        args += ["-o", f"uat:esp_sa:{rec}"]
    if udp:
        args += ["-d", "udp.port==4191,ipv6"]  # RFC 5555 §4.1: not decoded by default
    args += ["-Y", "mip6.mhtype == 5", "-T", "fields", "-E", "separator=|"]
    for f in ("esp.spi", "esp.icv_good", "mip6.bu.seqnr", "mip6.bu.h_flag", "mip6.acoa.acoa", "mip6.ipv4coa.addr"):
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def test_rfc3776_bu_from_the_coa_in_esp_then_data_through_the_tunnel_interface(make_lab):
    lab, peer = make_lab()
    lab.add_coa("acc1", COA_A, 64)
    lab.start()
    bu = peer.wait("a BU", lambda s: s.kind == "bu")
    # RFC 6275 §11.7.1 / RFC 3776 §4.1: from the CoA of acc1, ESP with the BU SA, HoA in the HAO
    assert (bu.port, bu.outer, bu.outer_src, bu.esp_spi) == ("p1", "ipv6", str(COA_A), SPI["bu"])
    assert bu.bu.home_registration and bu.bu.ack and bu.bu.lifetime > 0
    assert bu.bu.option(AlternateCareofAddress).address == COA_A
    if TSHARK:
        rows = tshark_bus(lab, [bu.frame], udp=False)
        assert [(int(r[0], 0), r[1] in ("1", "True"), int(r[2]), r[3], r[4]) for r in rows] == [
            (SPI["bu"], True, bu.bu.sequence, "1", str(COA_A))]
    status = registered(lab)
    assert status["tunnel"] == {"interface": "acc1", "encapsulation": "ipv6", "coa": str(COA_A), "ha": str(HA)}
    rows = lab.ask({"cmd": "show", "what": "bindings"})["rows"]
    assert [(r[0], r[3], r[4]) for r in rows] == [(0, str(COA_A), f"ipv6 {COA_A} -> {HA}")]
    # the tunnel interface carries the home address and, registered, the default route
    assert f"inet6 {HOA}/128" in sh("ip", "addr", "show", "mip6tun0", ns=lab.mn_ns).stdout
    assert "default dev mip6tun0" in sh("ip", "-6", "route", ns=lab.mn_ns).stdout
    peer.clear()
    # RFC 6275 §11.7.4: a Binding Refresh Request (on the BA SA) is answered by a BU
    peer.send_ba(bu, BindingRefreshRequest())
    refresh = peer.wait("the refresh BU", lambda s: s.kind == "bu").bu
    assert refresh.sequence == bu.bu.sequence + 1 and refresh.lifetime > 0
    peer.clear()
    assert lab.ping(CN)  # the reply the peer tunnelled back reached the application
    data = peer.wait("a tunnelled echo request", lambda s: s.kind == "data")
    # RFC 3776 §3.4: IPv6{CoA -> HA} ESP(payload SA, tunnel) IPv6{HoA -> CN}
    assert (data.port, data.outer, data.outer_src, data.esp_spi) == ("p1", "ipv6", str(COA_A), SPI["data_out"])
    inner = IPv6(data.inner)
    assert (inner.src, inner.dst) == (str(HOA), str(CN))


def test_draft_laganier_req3_bu_from_the_new_coa_data_on_the_old_tunnel_until_the_ba(make_lab):
    lab, peer = make_lab()
    lab.add_coa("acc1", COA_A, 64)
    lab.start()
    registered(lab)
    peer.hold = True
    peer.clear()
    lab.add_coa("acc2", COA_B, 64)
    lab.del_coa("acc1", COA_A, 64)  # the address moves to the other interface (a new CoA there)
    bu = peer.wait("a BU from the new CoA", lambda s: s.kind == "bu")
    assert (bu.port, bu.outer_src, bu.esp_spi) == ("p2", str(COA_B), SPI["bu"])
    assert bu.bu.option(AlternateCareofAddress).address == COA_B
    assert lab.ping(CN)  # data still works, on the old tunnel: no BA yet
    data = peer.wait("data", lambda s: s.kind == "data")
    assert (data.port, data.outer_src, data.esp_spi) == ("p1", str(COA_A), SPI["data_out"])  # other SPI
    assert lab.status()["tunnel"]["coa"] == str(COA_A)
    peer.release()
    wait_for("the tunnel to move", lambda: lab.status()["tunnel"]["coa"] == str(COA_B))
    peer.clear()
    assert lab.ping(CN)
    data = peer.wait("data on the new tunnel", lambda s: s.kind == "data")
    assert (data.port, data.outer_src) == ("p2", str(COA_B))


def test_rfc6275_11_7_2_sigterm_deregisters_and_a_restart_continues_the_sequence(make_lab):
    lab, peer = make_lab()
    lab.add_coa("acc1", COA_A, 64)
    lab.start()
    registered(lab)
    first = peer.wait("the BU", lambda s: s.kind == "bu").bu.sequence
    peer.clear()
    lab.signal(signal.SIGTERM)
    dereg = peer.wait("a de-registration", lambda s: s.kind == "bu").bu
    assert dereg.lifetime == 0 and dereg.sequence == first + 1
    assert dereg.option(AlternateCareofAddress).address == HOA  # RFC 6275 §6.1.7
    assert lab.wait_exit() == 0
    assert lab.events("stopped")
    assert sh("ip", "link", "show", "mip6tun0", ns=lab.mn_ns, check=False).returncode != 0  # gone with it
    peer.clear()
    lab.start()  # RFC 6275 §9.5.1: the HA would refuse an old number; ESP counters resume too
    again = peer.wait("the BU after the restart", lambda s: s.kind == "bu")
    assert again.bu.sequence == dereg.sequence + 1
    registered(lab)
    assert lab.ping(CN)  # the peer's replay window accepts the resumed ESP sequence numbers


def test_garbage_on_an_access_interface_is_counted_never_fatal(make_lab):
    lab, peer = make_lab()
    lab.add_coa("acc1", COA_A, 64)
    lab.start()
    registered(lab)
    before = lab.status()["counters"]
    esp_unknown = bytes(IPv6(src=str(HA), dst=str(COA_A), nh=50)) + bytes(range(40))
    garbage = [
        bytes(IPv6(src=str(HA), dst=str(COA_A), nh=41, plen=200)) + b"\x60short",  # lies about its length
        esp_unknown[:4] + (len(esp_unknown) - 40).to_bytes(2, "big") + esp_unknown[6:],  # SPI 0x00010203
        bytes(IPv6(src=str(HA), dst=str(COA_A), nh=41) / IPv6(src=str(HA), dst=str(HOA), nh=135)),  # clear MH
        bytes(IPv6(src=str(HA), dst=str(COA_A), nh=60, plen=8)) + b"\x3b\xff" + bytes(6),  # header past the end
        bytes(IP(src=str(HA4), dst=str(COA4), proto=17)) + b"junk",  # not to an address of ours
    ]
    for g in garbage:
        peer.inject("p1", g)
    peer.socks["p1"].send(bytes(Ether(src=MAC["p1"], dst=MAC["acc1"], type=0x88B5)) + b"not IP at all")
    counters = wait_for("the drops to be counted", lambda: (s := lab.status())
                        and s["counters"].get("wire_in", 0) - before.get("wire_in", 0) >= len(garbage)
                        and s["counters"])
    drops = {k: v - before.get(k, 0) for k, v in counters.items() if k.startswith("drop_")}
    assert drops.get("drop_malformed", 0) == 3 and drops.get("drop_ipsec_in", 0) == 1, drops
    assert drops.get("drop_not_to_a_coa", 0) == 1, drops  # the non-IP frame never got past the filter
    assert lab.events("mn_drop")
    assert lab.alive() and lab.ping(CN)  # still working


@pytest.mark.parametrize("nat", [30, None], ids=["nat-detected-udp", "no-nat-ip-in-ipv4"])
def test_rfc5555_ipv4_coa_bu_in_udp_4191_and_the_ipv4_home_address(make_lab, nat):
    lab, peer = make_lab(payload_sa=False, mn_extra={"ipv4_home_address": "0.0.0.0"},
                         nat_detection=nat, assign_ipv4=HOA4)
    lab.add_coa("acc1", COA4, 24)
    lab.start()
    bu = peer.wait("a BU over UDP", lambda s: s.kind == "bu")
    # RFC 5555 §4.1: IPv4{CoA -> HA4} UDP{mn_port -> 4191} IPv6{HoA -> HA} ESP{BU}
    assert (bu.port, bu.outer, bu.outer_src, bu.sport, bu.esp_spi) == ("p1", "udp", str(COA4), MN_PORT, SPI["bu"])
    assert bu.bu.option(Ipv4CareofAddress).address == COA4
    assert bu.bu.option(Ipv4HomeAddress).address == IPv4Address(0)  # RFC 5555 §3.1.1: assign one
    if TSHARK:
        rows = tshark_bus(lab, [bu.frame], udp=True)
        assert [(int(r[0], 0), r[1] in ("1", "True"), int(r[2]), r[5]) for r in rows] == [
            (SPI["bu"], True, bu.bu.sequence, str(COA4))]
    status = registered(lab)
    want = "udp4191" if nat else "ipv4"  # RFC 5555 §3.2.2: UDP only with a NAT Detection option
    assert status["tunnel"]["encapsulation"] == want and status["ipv4_home_address"] == str(HOA4)
    wait_for("the IPv4 home address on the tunnel interface",
             lambda: f"inet {HOA4}/32" in sh("ip", "addr", "show", "mip6tun0", ns=lab.mn_ns).stdout)
    for dst, version in ((CN, 6), (CN4, 4)):
        peer.clear()
        assert lab.ping(dst), dst
        data = peer.wait(f"IPv{version} data", lambda s: s.kind == "data")
        assert (data.port, data.outer_src) == ("p1", str(COA4))
        assert data.outer == ("udp" if nat else "ipv4") and data.esp_spi is None  # the SPD bypasses data here
        if nat:
            assert data.sport == MN_PORT
        inner = IPv6(data.inner) if version == 6 else IP(data.inner)
        assert (inner.src, inner.dst) == ((str(HOA), str(CN)) if version == 6 else (str(HOA4), str(CN4)))


def test_rfc5648_two_interfaces_two_bindings_and_the_flows_of_a_lost_one_move(make_lab):
    lab, peer = make_lab(mn_extra={"multiple_coa": True})
    lab.add_coa("acc1", COA_A, 64)
    lab.add_coa("acc2", COA_B, 64)
    lab.start()
    bus = {s.port: s for s in [peer.wait("a BU on p1", lambda s: s.kind == "bu" and s.port == "p1"),
                               peer.wait("a BU on p2", lambda s: s.kind == "bu" and s.port == "p2")]}
    # RFC 5648 §5.1: one BID per interface, its position in access.interfaces + 1
    assert [(b.outer_src, [o.bid for o in b.bu.options_of(BindingIdentifier)]) for b in (bus["p1"], bus["p2"])] == [
        (str(COA_A), [1]), (str(COA_B), [2])]
    rows = wait_for("two bindings", lambda: (r := lab.ask({"cmd": "show", "what": "bindings"})["rows"])
                    and all(row[4] for row in r) and len(r) == 2 and r)
    assert [(r[0], r[3]) for r in rows] == [(1, str(COA_A)), (2, str(COA_B))]
    peer.clear()
    assert lab.ping(CN)
    assert peer.wait("data", lambda s: s.kind == "data").port == "p1"  # the preferred interface's binding
    peer.clear()
    lab.del_coa("acc1", COA_A, 64)
    seen = peer.wait("the lost binding's de-registration", lambda s: s.kind == "bu")
    dereg = seen.bu  # sent by the CoA that is left
    assert (seen.port, seen.outer_src, dereg.lifetime) == ("p2", str(COA_B), 0)
    assert [o.bid for o in dereg.options_of(BindingIdentifier)] == [1]
    wait_for("data to move to BID 2", lambda: lab.status()["tunnel"]["coa"] == str(COA_B))
    assert lab.events("flows_moved")
    peer.clear()
    assert lab.ping(CN)
    assert peer.wait("data", lambda s: s.kind == "data").port == "p2"
