"""The home agent on the P4 switch with the real mobile-node daemon (issue 13), over IPv6
access networks: home registration in ESP, movement with continuous traffic,
draft-laganier-mext-dsmipv6-ipsec requirements 1, 2 and 3, tshark decoding and
decrypting the signalling, and what the HA refuses (a BU without ESP, a BU for
another MN's home address, tunnelled packets from a spoofed care-of address).

One lab per target (lab/mip_lab.py: MN, two IPv6 access routers, the NAT, the HA
switch with its crypto path and node, the CN); each test starts from the state it
names (mip_states.registered_at). Expected values come from the lab's topology
and the RFCs, never from the code under test.
"""
from __future__ import annotations

import time
from ipaddress import IPv4Address, IPv4Network, IPv6Network

import pytest

from p4mobility.lab import mip_topology as M
from p4mobility.lab.pcapcheck import malformed, mh_rows
from p4mobility.lab.report import parse_ping
from p4mobility.mh import AlternateCareofAddress, BindingUpdate
from p4mobility.runtime.haconfig import mapped
from tests.tooling import needs_tools

from p4mobility.lab.esppcap import ENCRYPTED, crypto_port, esp_on_link
from .mip_states import (COA, ForeignMn, binding, bu_packet, ipv4_in_ipv6, make_mip_lab, needs_pcaps,
                         registered_at, targets, to_switch, wait_replies)

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
HOA, HA, CN, CN4 = M.HOME_ADDRESS, M.HA_ADDRESS, M.CN_ADDRESS, M.CN_ADDRESS_V4
SPI = {sa.name: sa.spi for mn in M.HOME_ADDRESSES for sa in M.mip_sas(mn)}
UNKNOWN_TUNNEL, SPOOFED_TUNNEL_SOURCE = 5, 6  # drop_counter indices (docs/dataplane.md)


def hostile(lab, packet: bytes) -> None:
    """A crafted packet into the switch from the NAT's link (the captures of the IPv6 access links
    keep only what the MN and the HA sent; the switch does not care where a packet entered)."""
    lab.inject("nat", "wan", to_switch("nat", packet))


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    lab = make_mip_lab(request, tmp_path_factory)
    yield lab
    lab.close()


def entries(lab, table: str) -> list[dict]:
    return [e for e in lab.read_switch(table) if e["table"] == table]


def test_rfc6275_10_3_1_home_registration_in_esp_programs_the_switch_and_carries_traffic(lab):
    registered_at(lab, "acca")
    b = binding(lab)
    assert b["coa"] == f"0:{COA['acca']}" and b["state"] == "active"  # one CoA, no BID option (BID 0)
    hoa4 = IPv4Address(b["ipv4_home_address"])
    assert hoa4 in M.IPV4_POOL  # RFC 5555 §3.1.1: assigned on the MN's 0.0.0.0 request
    bu = lab.wait_event("ha", "bu_rx", where=lambda e: e["src"] == str(COA["acca"]))
    # RFC 3776 §4.1: decrypted by the crypto path with the SA bound to the MN's home address
    assert bu["home_address"] == str(HOA) and bu["protected_by"] == str(HOA) and bu["outer"] is None
    ba = lab.wait_event("ha", "ba_tx", where=lambda e: e["seq"] == bu["seq"])
    assert (ba["status"], ba["dst"], ba["home_address"]) == (0, str(COA["acca"]), str(HOA))
    # the switch: HoA and IPv4 HoA, both directions, -> the binding's one member of binding_profile:
    # a tunnel HA -> CoA (RFC 6275 §10.4.1, RFC 5555 §4.1)
    rows = lab.read_switch("bindings", "uplink_sources", "binding_profile")
    members = {r["member_id"]: r for r in rows if r.get("profile") == "binding_profile"}
    down = {IPv6Network(r["match"]["dst_addr"]): r["member_id"] for r in rows if r.get("table") == "bindings"}
    up = {IPv6Network(r["match"]["home_addr"]): r["member_id"] for r in rows if r.get("table") == "uplink_sources"}
    for prefix in (IPv6Network(f"{HOA}/128"), mapped(IPv4Network(hoa4))):
        assert down[prefix] == up[prefix] == b["id"]
    member = members[b["id"]]
    assert member["action"] == "set_binding_tunnel_ipv6"
    assert (member["args"]["src_addr"], member["args"]["dst_addr"]) == (str(HA), str(COA["acca"]))
    assert lab.ping(CN) and lab.ping(CN4)  # IPv6 in ESP, IPv4 through the tunnel
    counters = {(r["counter"], r["index"]): r["packets"] for r in lab.show("counters")}
    assert counters[("binding_downlink_counter", b["id"])] > 0  # CN -> HoA went through the binding


def _tunnel_changed_at(lab, coa, since: float) -> float:
    return lab.wait_event("mn", "tunnel_changed", since=since,
                          where=lambda e: (e.get("tunnel") or {}).get("coa") == str(coa))["ts"]


def test_rfc6275_11_7_1_movement_with_continuous_traffic_and_draft_laganier_req2_host_wide_spd(lab):
    registered_at(lab, "acca")
    spd = sorted(map(str, entries(lab, "outbound_policies")))
    log = lab.start_ping(CN, interval=0.02)
    wait_replies(log, 10)
    t = lab.attach("accb")
    lab.detach("acca")
    moved_at = _tunnel_changed_at(lab, COA["accb"], t)
    wait_replies(log, 20, after=moved_at)
    lab.stop_ping()
    ping = parse_ping(log.read_text())
    assert any(ts < t for ts, _, _ in ping.replies) and sum(ts > moved_at for ts, _, _ in ping.replies) >= 20
    ev = lab.wait_event("ha", "BindingMoved", since=t)
    assert (ev["old_coa"], ev["coa"]) == ([str(COA["acca"])], [str(COA["accb"])])
    assert lab.wait_event("ha", "TunnelPeerRemoved", since=t)["remote"] == str(COA["acca"])
    assert binding(lab)["coa"] == f"0:{COA['accb']}"
    # draft-laganier req. 2: the SPD is host wide on the home address (addresses, protocol, MH type
    # only: the table has no interface key), so moving to another CoA changed none of its entries
    after = entries(lab, "outbound_policies")
    assert sorted(map(str, after)) == spd
    payload = [e for e in after if set(e["match"]) == {"dst_addr"}]  # host-wide: the destination alone
    assert any(e["match"]["dst_addr"].startswith(f"{HOA}&&&") for e in payload)
    assert all(e["action"] == "to_crypto_port" for e in payload)


def test_draft_laganier_req1_the_switch_rewrites_the_outer_destination_to_the_current_coa(lab):
    needs_pcaps(lab)
    registered_at(lab, "accb")
    assert lab.ping(CN, count=5)
    time.sleep(0.5)  # let tcpdump write the last frames (it flushes per packet, -U)
    results = {(e.spi, e.seq): (sa, e) for sa, e in crypto_port(lab.out / "ha-crypto.pcap", ENCRYPTED)
               if e.spi == SPI["data-in"]}
    seen = [e for e in esp_on_link(lab.out / "ha-accb.pcap") if e.spi == SPI["data-in"]]
    assert seen, "no downlink ESP on the access link"
    for e in seen:
        _, out_of_ipsec = results[(e.spi, e.seq)]
        # the crypto path built IPv6{HA -> HoA} ESP (tunnel mode, RFC 3776 §3.4: the SA names the HoA)
        assert (out_of_ipsec.src, out_of_ipsec.dst, out_of_ipsec.outer) == (HA, HOA, "ipv6")
        # on the wire: the same ESP, only the outer destination changed to the CoA, not tunnelled again
        assert (e.src, e.dst, e.outer, e.body) == (HA, COA["accb"], "ipv6", out_of_ipsec.body)
    assert not [e for e in esp_on_link(lab.out / "ha-accb.pcap") if e.outer == "ipv6-in-ipv6"]


@needs_tools("nft")
def test_draft_laganier_req3_bu_from_the_new_coa_while_data_stays_on_the_old_tunnel_until_the_ba(lab):
    needs_pcaps(lab)
    registered_at(lab, "acca")
    lab.drop_forwarded("accb", f"esp spi {SPI['ba']}")  # the BA to the new CoA is lost on its way
    try:
        t = lab.attach("accb")
        lab.detach("acca")
        bu = lab.wait_event("ha", "bu_rx", since=t, where=lambda e: e["src"] == str(COA["accb"]))
        assert binding(lab)["coa"] == f"0:{COA['accb']}"  # the HA moved ...
        assert lab.mn_tunnel()["coa"] == str(COA["acca"])  # ... the MN, without a BA, did not
        assert lab.ping(CN, count=3)  # uplink in the old tunnel, downlink already to the new CoA
        assert lab.mn_tunnel()["coa"] == str(COA["acca"])
    finally:
        lab.drop_forwarded("accb", None)
    moved_at = _tunnel_changed_at(lab, COA["accb"], t)
    assert lab.ping(CN, count=3)
    time.sleep(0.5)
    old = [e for e in esp_on_link(lab.out / "ha-acca.pcap") if e.t > t]
    new = [e for e in esp_on_link(lab.out / "ha-accb.pcap") if e.t > t]
    first_bu = min(e.t for e in new if e.spi == SPI["bu"] and e.src == COA["accb"])
    assert first_bu <= bu["ts"]
    # the MN tells BU from data by SPI: BUs on the BU SA from the new CoA, data on the payload SA
    # from the old CoA after the first BU and until the BA, from the new one only after it
    assert [e for e in old if e.spi == SPI["data-out"] and first_bu < e.t < moved_at and e.src == COA["acca"]]
    assert [e for e in new if e.spi == SPI["data-out"] and e.t > moved_at and e.src == COA["accb"]]
    assert not [e for e in new if e.spi == SPI["data-out"] and e.t < moved_at]
    assert SPI["bu"] != SPI["data-out"]


@needs_tools("tshark")
def test_tshark_decodes_the_signalling_and_decrypts_the_esp_with_the_exported_keys(lab):
    needs_pcaps(lab)
    registered_at(lab, "acca")
    registered_at(lab, "accb")
    time.sleep(0.5)
    esp_sa = lab.out / "esp_sa"
    for link in ("acca", "accb"):
        pcap = lab.out / f"ha-{link}.pcap"
        assert not [r for r in mh_rows(pcap) if r.spi is None], f"a clear MH on {link}"  # RFC 3776 §4.1
        rows = mh_rows(pcap, esp_sa)
        assert {5, 6} <= {r.mh_type for r in rows}, f"no BU and BA decrypted on {link}"
        assert all(r.icv_good for r in rows)
        assert {r.spi for r in rows if r.mh_type == 5} == {SPI["bu"]}
        assert {r.spi for r in rows if r.mh_type == 6} == {SPI["ba"]}
        assert all(r.ba_status == 0 for r in rows if r.mh_type == 6)
        assert malformed(pcap, esp_sa) == ""


def test_rfc3776_4_1_a_bu_without_esp_is_discarded_counted_and_logged(lab):
    registered_at(lab, "acca")
    before = binding(lab)
    t = time.time()
    bu = BindingUpdate(40000, 100, ack=True, home_registration=True,
                       options=(AlternateCareofAddress(COA["accb"]),))
    hostile(lab, bu_packet(bu, COA["accb"], HOA))
    ev = lab.wait_event("ha", "core", since=t, where=lambda e: e.get("counter") == "unprotected")
    assert ev["home_address"] == str(HOA)
    assert lab.wait_event("ha", "mh_unprotected", since=t)["src"] == str(COA["accb"])
    assert lab.events("ha", "ba_tx", since=t) == []  # silently: nothing answers it
    assert binding(lab)["coa"] == before["coa"] and lab.ping(CN)


def test_rfc3776_4_1_a_bu_for_another_mns_home_address_is_refused(lab):
    registered_at(lab, "acca")
    before = binding(lab)
    mn2 = ForeignMn(lab)
    drops = lab.crypto("drops")["drops"].get("PolicyMismatch", 0)
    t = time.time()
    # MN2's genuine BU SA carries a BU for MN1's home address (RFC 3776 §4.1: the SA names MN2's)
    bu = BindingUpdate(40000, 100, ack=True, home_registration=True, options=(AlternateCareofAddress(COA["accb"]),))
    hostile(lab, mn2.seal(bu_packet(bu, COA["accb"], HOA), SPI["mn2-bu"]))
    lab.wait_for(lambda: lab.crypto("drops")["drops"].get("PolicyMismatch", 0) == drops + 1,
                 "the crypto path to refuse the decrypted BU (RFC 4301 §5.2)")
    assert [e for e in lab.events("ha", "bu_rx", since=t) if e["src"] == str(COA["accb"])] == []
    assert binding(lab)["coa"] == before["coa"]
    # the same SA registering its own home address is accepted (the refusal above was the HoA's)
    own = BindingUpdate(40001, 100, ack=True, home_registration=True, options=(AlternateCareofAddress(COA["accb"]),))
    hostile(lab, mn2.seal(bu_packet(own, COA["accb"], M.MN2_HOME_ADDRESS),
                 SPI["mn2-bu"]))
    ev = lab.wait_event("ha", "bu_rx", since=t, where=lambda e: e["src"] == str(COA["accb"]))
    assert ev["protected_by"] == ev["home_address"] == str(M.MN2_HOME_ADDRESS)
    lab.wait_for(lambda: binding(lab, M.MN2_HOME_ADDRESS), "MN2's binding")
    bye = BindingUpdate(40002, 0, ack=True, home_registration=True, options=(AlternateCareofAddress(COA["accb"]),))
    hostile(lab, mn2.seal(bu_packet(bye, COA["accb"], M.MN2_HOME_ADDRESS),
                 SPI["mn2-bu"]))
    lab.wait_for(lambda: binding(lab, M.MN2_HOME_ADDRESS) is None, "MN2's de-registration")
    assert binding(lab)["coa"] == before["coa"]


def _drops(lab, reason: int) -> int:
    return sum(r["packets"] for r in lab.show("counters") if r["counter"] == "drop_counter" and r["index"] == reason)


def test_rfc6275_10_4_5_tunnelled_packets_from_a_spoofed_coa_are_dropped_in_the_switch(lab):
    registered_at(lab, "acca")
    hoa4 = IPv4Address(binding(lab)["ipv4_home_address"])
    unknown, spoofed = _drops(lab, UNKNOWN_TUNNEL), _drops(lab, SPOOFED_TUNNEL_SOURCE)
    # a CoA the binding does not have
    hostile(lab, ipv4_in_ipv6(COA["accb"], hoa4, CN4))
    # the binding's CoA, but an inner source that is not its home address
    hostile(lab, ipv4_in_ipv6(COA["acca"], IPv4Address("10.200.0.250"), CN4))
    lab.wait_for(lambda: _drops(lab, UNKNOWN_TUNNEL) == unknown + 1 and
                 _drops(lab, SPOOFED_TUNNEL_SOURCE) == spoofed + 1, "both drops counted", poll=0.3)
    assert lab.ping(CN4)  # the genuine tunnel still works


def test_a_crashed_ha_node_restores_its_bindings_and_the_switch_never_stops_forwarding(lab):
    registered_at(lab, "acca")
    before = binding(lab)
    log = lab.start_ping(CN, name="restart-ping", interval=0.05)
    wait_replies(log, 5)
    t = lab.restart_ha()  # SIGKILL: nothing is flushed on the way out
    assert lab.wait_event("ha", "state_restored", since=t, timeout=60)["bindings"] == 1
    rec = lab.wait_event("ha", "reconciled", since=t, timeout=120)
    assert (rec["inserted"], rec["modified"], rec["deleted"]) == (0, 0, 0)  # the switch had it all
    wait_replies(log, 5, after=time.time())
    lab.stop_ping("restart-ping")
    after = binding(lab)
    assert {k: after[k] for k in ("id", "coa", "ipv4_home_address", "peer")} == \
        {k: before[k] for k in ("id", "coa", "ipv4_home_address", "peer")}
    # the MN's next BU (sequence number after the restored one) is accepted
    t = time.time()
    lab.attach("accb")
    lab.detach("acca")
    lab.wait_tunnel(COA["accb"])
    assert lab.wait_event("ha", "ba_tx", since=t)["status"] == 0
