"""Several care-of addresses at once (RFC 5648; the Monami6 slides) with the real mobile-node
daemon: the MN registers the CoAs of two IPv6 access networks with BIDs, the home agent's
switch places each downlink flow of the ESP-protected home address on one of them (its
per-flow selector over the binding's paths, the flow carried across the crypto path), the
uplink is accepted from any registered CoA and from no other, and when one interface loses its
carrier the flows that can move do: the binding keeps the other CoA and every flow arrives.

One lab per target (lab/mip_lab.py), the MN in multiple-CoA mode.
"""
from __future__ import annotations

import json
import sys
import time
from ipaddress import IPv4Address, IPv6Address

import pytest

from p4mobility.lab import mip_topology as M
from p4mobility.lab.supervisor import LabError, sh

from p4mobility.lab.esppcap import flow_byte, links_by_flow
from .mip_states import (COA, binding, ipv4_in_ipv6, make_mip_lab, mn_running, needs_pcaps, targets, to_switch)

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
HOA, CN, CN4 = M.HOME_ADDRESS, M.CN_ADDRESS, M.CN_ADDRESS_V4
SPI = {sa.name: sa.spi for sa in M.mip_sas()}
SINK_PORT = 9000
SPORTS = list(range(41000, 41008))
BOTH = f"1:{COA['acca']} 2:{COA['accb']}"  # RFC 5648 BID = position of the interface + 1
LINK = {"acca": COA["acca"], "accb": COA["accb"]}


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    lab = make_mip_lab(request, tmp_path_factory, M.MipLabOptions(multiple_coa=True))
    yield lab
    lab.close()


def on_both(lab) -> dict:
    """The MN runs with both IPv6 accesses and the HA holds one binding with both CoAs."""
    for access in ("acca", "accb"):
        if access not in lab.attached:
            lab.attach(access)
    if not mn_running(lab):
        lab.start_mn()
        lab.sup.spawn("sink", [sys.executable, "-m", "p4mobility.lab.udpflows", "sink", str(HOA), str(SINK_PORT),
                               str(lab.out / "sink.json")], lab.out / "sink.out", ns=lab.ns("mn"))
    return lab.wait_for(lambda: (b := binding(lab)) and b["coa"] == BOTH and b, "both CoAs registered", 60,
                        proc="mn")


def send_flows(lab, count: int = 20) -> float:
    t = time.time()
    sh(sys.executable, "-m", "p4mobility.lab.udpflows", "send", str(HOA), str(SINK_PORT), *map(str, SPORTS),
       "--count", str(count), "--interval", "0.02", ns=lab.ns("cn"), timeout=60)
    return t


def received(lab) -> dict[int, int]:
    try:
        return {int(k): v for k, v in json.loads((lab.out / "sink.json").read_text()).items()}
    except (OSError, ValueError):
        return {}


def links_of_flows(lab, since: float) -> dict[int, set[str]]:
    """Per flow (source port), the access links its downlink ESP left by: the flow byte the switch
    put on the ENCRYPT request names the flow, the (SPI, sequence) of the result finds it on a link."""
    time.sleep(0.5)  # tcpdump writes each frame as it comes (-U)
    by_flow = links_by_flow({link: lab.out / f"ha-{link}.pcap" for link in LINK}, lab.out / "ha-crypto.pcap",
                            SPI["data-in"], since)
    return {sp: by_flow.get(flow_byte(sp, SINK_PORT), set()) for sp in SPORTS}


def test_rfc5648_two_coas_registered_with_bids_and_the_switch_holds_both(lab):
    b = on_both(lab)
    assert b["coa"] == BOTH and len(b["peer"].split()) == 2
    rows = lab.read_switch("binding_profile", "binding_peers", "binding_peer_selector", "binding_coas")
    member = next(r for r in rows if r.get("profile") == "binding_profile" and r["member_id"] == b["id"])
    assert member["action"] == "set_multi_coa_binding"
    group = next(r for r in rows if r.get("profile") == "binding_peer_selector" and "group_id" in r)
    peers = {r["args"]["tunnel_peer_id"] for r in rows if r.get("profile") == "binding_peer_selector"
             and r.get("member_id") in group["members"]}
    assert peers == set(b["peer"].split())  # one selector member per CoA's tunnel peer
    assert [r["group_id"] for r in rows if r.get("table") == "binding_peers"] == [group["group_id"]]
    coas = {IPv6Address(r["match"]["coa"]) for r in rows if r.get("table") == "binding_coas"}
    assert coas == {COA["acca"], COA["accb"]}
    assert lab.ping(CN) and lab.ping(CN4)


def test_rfc5648_downlink_flows_leave_by_different_coas_each_flow_by_one(lab):
    needs_pcaps(lab)
    on_both(lab)
    before = received(lab)
    t = send_flows(lab)
    def got() -> dict[int, int]:
        now = received(lab)
        return {sp: now.get(sp, 0) - before.get(sp, 0) for sp in SPORTS}

    try:
        lab.wait_for(lambda: all(n == 20 for n in got().values()), "every datagram of every flow at the MN")
    except LabError as e:  # say which flow lost what, and where the ESP went
        raise AssertionError(f"{e}: received per flow {got()}, links {links_of_flows(lab, t)}") from None
    links = links_of_flows(lab, t)
    assert all(len(v) == 1 for v in links.values()), links  # a flow stays on one CoA
    assert set().union(*links.values()) == {"acca", "accb"}, links  # the flows use both


def _uplinks(lab, binding_id: int) -> int:
    return sum(r["packets"] for r in lab.show("counters")
               if r["counter"] == "binding_uplink_counter" and r["index"] == binding_id)


def test_monami6_uplink_from_any_registered_coa_is_accepted_and_from_no_other(lab):
    b = on_both(lab)
    hoa4 = IPv4Address(b["ipv4_home_address"])
    up = _uplinks(lab, b["id"])
    for coa in (COA["acca"], COA["accb"]):
        lab.inject("nat", "wan", to_switch("nat", ipv4_in_ipv6(coa, hoa4, CN4)))
    lab.wait_for(lambda: _uplinks(lab, b["id"]) == up + 2, "both CoAs' uplink accepted", poll=0.3)
    spoofed = sum(r["packets"] for r in lab.show("counters") if r["counter"] == "drop_counter" and r["index"] == 5)
    lab.inject("nat", "wan", to_switch("nat", ipv4_in_ipv6(IPv6Address("2001:db8:a::99"), hoa4, CN4)))
    lab.wait_for(lambda: sum(r["packets"] for r in lab.show("counters") if r["counter"] == "drop_counter"
                             and r["index"] == 5) == spoofed + 1, "a third CoA dropped (UNKNOWN_TUNNEL)", poll=0.3)
    assert _uplinks(lab, b["id"]) == up + 2


def test_rfc5648_one_interface_lost_the_flows_move_to_the_other_coa(lab):
    needs_pcaps(lab)
    on_both(lab)
    t = lab.detach("acca", carrier=False)  # wlan0 (BID 1) loses its radio
    lab.wait_for(lambda: binding(lab)["coa"] == f"2:{COA['accb']}", "the HA to drop BID 1", 60)
    lab.wait_tunnel(COA["accb"])  # the MN's data (lowest BID left) goes by wlan1
    assert lab.events("mn", "flows_moved", since=t)
    before = received(lab)
    t = send_flows(lab)
    lab.wait_for(lambda: all(received(lab).get(sp, 0) - before.get(sp, 0) == 20 for sp in SPORTS),
                 "every flow arriving after the move")
    assert set().union(*links_of_flows(lab, t).values()) == {"accb"}
    assert lab.ping(CN) and lab.ping(CN4)
    lab.attach("acca")  # the radio is back: both CoAs again
    lab.wait_for(lambda: binding(lab)["coa"] == BOTH, "BID 1 registered again", 60)
