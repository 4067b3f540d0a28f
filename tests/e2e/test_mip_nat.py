"""DSMIPv6 through a NAT with the real mobile-node daemon (RFC 5555, issue 13): the MN moves
from an IPv6 access network to an IPv4-only one behind an nftables masquerade and back,
keeping its IPv6 and IPv4 home addresses, its pings and a TCP transfer to the CN; the home
agent detects the NAT by comparing the outer IPv4 source and UDP port recorded before
IPsec with the IPv4 Care-of Address option found after it (draft-laganier-mext-dsmipv6-ipsec
requirement 4); tshark decodes the signalling in UDP 4191 and decrypts it.

One lab per target (lab/mip_lab.py); skipped without nftables (no NAT).
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from ipaddress import IPv4Address

import pytest

from p4mobility.lab import mip_topology as M
from p4mobility.lab.mip_lab import nat_unavailable
from p4mobility.lab.pcapcheck import DSMIPV6_DECODE, esp_options, mh_rows
from p4mobility.lab.report import parse_ping
from tests.tooling import needs_tools

from p4mobility.lab.esppcap import DECRYPT, crypto_port, esp_on_link
from .mip_states import (COA, binding, make_mip_lab, needs_pcaps, registered_at, targets, wait_replies)

pytestmark = [pytest.mark.root, pytest.mark.timeout(900),
              pytest.mark.skipif(nat_unavailable() is not None, reason=nat_unavailable() or "")]
HOA, CN, CN4 = M.HOME_ADDRESS, M.CN_ADDRESS, M.CN_ADDRESS_V4
SPI = {sa.name: sa.spi for sa in M.mip_sas()}
TCP_PORT = 5001


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    lab = make_mip_lab(request, tmp_path_factory)
    yield lab
    lab.close()


def _tcp(lab):
    lab.sup.spawn("tcp-server", [sys.executable, "-m", "p4mobility.lab.tcpflow", "server", str(TCP_PORT),
                                 str(lab.out / "tcp-server.json")], lab.out / "tcp-server.out", ns=lab.ns("cn"))
    lab.wait_for(lambda: "LISTEN" in subprocess.run(["ip", "netns", "exec", lab.ns("cn"), "ss", "-ltn"],
                                                    capture_output=True, text=True).stdout, "the TCP server")
    lab.sup.spawn("tcp-client", [sys.executable, "-m", "p4mobility.lab.tcpflow", "client", str(CN), str(TCP_PORT),
                                 str(lab.out / "tcp-client.json")], lab.out / "tcp-client.out", ns=lab.ns("mn"))


def test_rfc5555_ipv4_only_access_behind_a_nat_and_back_keeps_home_addresses_pings_and_tcp(lab):
    registered_at(lab, "acca")
    hoa4 = binding(lab)["ipv4_home_address"]
    log6, log4 = lab.start_ping(CN, "nat-ping", 0.02), lab.start_ping(CN4, "nat-ping4", 0.05)
    _tcp(lab)
    wait_replies(log6, 5)
    wait_replies(log4, 5)
    for to, away in (("nat", "acca"), ("acca", "nat")):
        lab.attach(to)
        lab.detach(away)
        tunnel = lab.wait_tunnel(COA[to], timeout=60)
        assert tunnel["encapsulation"] == ("udp4191" if to == "nat" else "ipv6")
        after = time.time()
        wait_replies(log6, 10, after=after)  # both home addresses answer from the new access
        wait_replies(log4, 5, after=after)
        b = binding(lab)
        assert b["ipv4_home_address"] == hoa4  # RFC 5555 §3.1.1: the IPv4 home address is kept
        if to == "nat":  # the HA tunnels to the NAT's public address and port, not the private CoA
            assert b["coa"].startswith(f"0:{M.MN_V4_COA} (nat {M.NAT_PUBLIC}:")
    lab.sup.stop("tcp-client", sig=signal.SIGTERM, timeout=30)
    lab.sup.stop("tcp-server", timeout=10)
    lab.stop_ping("nat-ping")
    lab.stop_ping("nat-ping4")
    client = json.loads((lab.out / "tcp-client.json").read_text())
    server = json.loads((lab.out / "tcp-server.json").read_text())
    assert client["survived"], client  # no reset, no error across both moves
    assert server["bytes"] == client["bytes"] > 0 and server["peer"].endswith(str(HOA))
    assert parse_ping(log6.read_text()).received > 0


def test_draft_laganier_req4_the_nat_is_detected_from_the_outer_header_recorded_before_ipsec(lab):
    needs_pcaps(lab)
    t = time.time()
    registered_at(lab, "nat")
    lab.wait_for(lambda: [e for e in lab.events("ha", "bu_rx", since=t) if e.get("outer")], "a BU over UDP")
    time.sleep(0.5)
    bu = next(e for e in lab.events("ha", "bu_rx", since=t) if e.get("outer"))
    nat_addr, nat_port = bu["outer"].split(":")
    assert IPv4Address(nat_addr) == M.NAT_PUBLIC  # the masquerade's address, not the MN's 192.168.1.100
    # before IPsec: the switch sent the crypto path the BU's ESP inside the wrapper as the NAT made it
    asked = [e for _, e in crypto_port(lab.out / "ha-crypto.pcap", DECRYPT) if e.spi == SPI["bu"] and e.t > t]
    assert asked and all((e.outer, e.src, e.sport) == ("udp", M.NAT_PUBLIC, int(nat_port)) for e in asked)
    # after IPsec: the BU's IPv4 Care-of Address option names the private address (RFC 5555 §3.1.2),
    # so the two differ: NAT detected, the tunnel goes in UDP to the recorded address and port
    peers = [p for p in lab.show("peers") if p["transport"] == "udp_ipv4"]
    assert [p["remote"] for p in peers] == [f"{M.NAT_PUBLIC}:{nat_port}"]
    assert binding(lab)["coa"] == f"0:{M.MN_V4_COA} (nat {M.NAT_PUBLIC}:{nat_port})"
    assert lab.ping(CN) and lab.ping(CN4)
    # the BA went back the same way: UDP from 4191 to the NAT's port
    ba = lab.wait_event("ha", "ba_tx", since=t, where=lambda e: e.get("udp"))
    assert (ba["dst"], ba["dst_port"], ba["status"]) == (str(M.NAT_PUBLIC), int(nat_port), 0)


@needs_tools("tshark")
def test_tshark_decodes_dsmipv6_signalling_in_udp_4191_and_decrypts_it(lab):
    needs_pcaps(lab)
    registered_at(lab, "nat")
    lab.wait_event("ha", "ba_tx", since=0, where=lambda e: e.get("udp"))
    time.sleep(0.5)
    pcap, esp_sa = lab.out / "ha-nat.pcap", lab.out / "esp_sa"
    assert mh_rows(pcap, esp_sa) == []  # RFC 5555 §4.1: not dissected as IPv6 without -d
    rows = mh_rows(pcap, esp_sa, DSMIPV6_DECODE)
    assert {5, 6} <= {r.mh_type for r in rows} and all(r.icv_good for r in rows)
    assert {r.spi for r in rows} == {SPI["bu"], SPI["ba"]}
    fields = subprocess.run(["tshark", "-n", "-r", str(pcap), *esp_options(esp_sa), *DSMIPV6_DECODE, "-Y",
                             "mip6.mhtype == 5 || mip6.mhtype == 6", "-T", "fields", "-E", "separator=|",
                             "-e", "mip6.mhtype", "-e", "mip6.ipv4coa.addr", "-e", "mip6.natd.refresh_t"],
                            capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
    bus = [f.split("|") for f in fields if f.startswith("5|")]
    bas = [f.split("|") for f in fields if f.startswith("6|")]
    assert bus and all(b[1] == str(M.MN_V4_COA) for b in bus)  # the private CoA, inside ESP
    # RFC 5555 §3.2.2: the BA's NAT Detection option with the configured refresh time
    assert any(b[2] == "110" for b in bas)
    # on the wire they are ESP inside IPv4/UDP 4191 (the BUs from the NAT's address)
    assert {e.spi for e in esp_on_link(pcap) if e.outer == "udp" and e.src == M.NAT_PUBLIC} >= {SPI["bu"]}


def test_draft_laganier_req3_the_bu_leaves_from_the_new_ipv4_coa_while_data_stays_on_the_old_tunnel(lab):
    """RFC 5555 §4.1 as the draft reads it: moving to an IPv4-only network, the BU goes in UDP from
    the new IPv4 CoA while the data keeps the old (IPv6) tunnel until the BA comes; the MN tells
    them apart by SPI (BU SA, transport mode, vs payload SA, tunnel mode)."""
    needs_pcaps(lab)
    registered_at(lab, "acca")
    # the BA on its way to the MN through the NAT is lost: UDP from 4191, IPv6 (40 bytes), the BA SA's SPI
    lab.drop_forwarded("nat", f"udp sport 4191 @th,384,32 {SPI['ba']}")
    try:
        t = lab.attach("nat")
        lab.detach("acca")
        bu = lab.wait_event("ha", "bu_rx", since=t, where=lambda e: e.get("outer"))
        assert binding(lab)["coa"].startswith(f"0:{M.MN_V4_COA} (nat ")  # the HA moved ...
        assert lab.mn_tunnel()["coa"] == str(COA["acca"])  # ... the MN, without a BA, did not
        assert lab.ping(CN, count=3)  # uplink in the old IPv6 tunnel, downlink in UDP through the NAT
        assert lab.mn_tunnel()["coa"] == str(COA["acca"])
    finally:
        lab.drop_forwarded("nat", None)
    moved_at = lab.wait_event("mn", "tunnel_changed", since=t, timeout=60,
                              where=lambda e: (e.get("tunnel") or {}).get("coa") == str(M.MN_V4_COA))["ts"]
    assert lab.ping(CN, count=3)
    time.sleep(0.5)
    old = [e for e in esp_on_link(lab.out / "ha-acca.pcap") if e.t > t]
    new = [e for e in esp_on_link(lab.out / "ha-nat.pcap") if e.t > t]
    first_bu = min(e.t for e in new if e.spi == SPI["bu"] and e.outer == "udp" and e.src == M.NAT_PUBLIC)
    assert first_bu <= bu["ts"]
    assert [e for e in old if e.spi == SPI["data-out"] and first_bu < e.t < moved_at and e.src == COA["acca"]]
    assert not [e for e in new if e.spi == SPI["data-out"] and e.t < moved_at]
    assert [e for e in new if e.spi == SPI["data-out"] and e.t > moved_at and e.outer == "udp"]
