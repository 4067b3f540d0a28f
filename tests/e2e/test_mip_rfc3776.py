"""RFC 3776 §5.2 beyond BU/BA with the real mobile-node daemon and the HA node on the P4 switch
(issue 13): each message over the path the RFC prescribes, seen on the MN-HA access link.

- Prefix discovery (§5.2.3; RFC 6275 §6.7, §6.8, §11.4): the MN's Mobile Prefix Solicitation
  in ESP transport mode on the BU SA, the HA's advertisement listing its home prefixes on the
  BA SA; a clear solicitation is not answered.
- Return routability through the HA (§5.2.2; RFC 6275 §5.2.5): a HoTI from an application on
  the MN (source = home address) leaves in the MN-HA tunnel in ESP tunnel mode and reaches the
  correspondent with the home address as source; the correspondent's HoT comes back through
  the HA into the tunnel and arrives on the MN's tunnel interface. With several care-of
  addresses registered (RFC 5648) any of them may carry a tunnelled HoTI, and one tunnelled
  from an unregistered CoA is dropped by the switch (the Monami6 slides).
- The Binding Refresh Request (RFC 6275 §9.5.5): the HA asks before the binding expires, in
  ESP, the MN answers with a BU and the binding is refreshed (short lifetimes in this lab).
- An IPv4 care-of address without a NAT (RFC 5555 §4.1): registration in UDP 4191, data in a
  plain IPv4 tunnel (protocol 41 / 4), IPv6 and IPv4 pings.

The correspondent is played by lab/rrpeer.py (raw MH sockets; the HA forwards, it does not
answer). One lab per target; expected values come from the topology and the RFCs.
"""
from __future__ import annotations

import json
import sys
import time
from ipaddress import IPv6Address

import pytest

from p4mobility.lab import mip_topology as M
from p4mobility.lab.esppcap import esp_on_link
from p4mobility.lab.mip_lab import nat_unavailable
from p4mobility.lab.pcapcheck import mh_rows, prefix_rows
from p4mobility.lab.supervisor import sh
from p4mobility.mh import (AlternateCareofAddress, BindingIdentifier, BindingUpdate, HomeTestInit, encode_mh)
from tests.tooling import needs_tools

from .mip_states import (COA, ForeignMn, binding, bu_packet, make_mip_lab, needs_pcaps, registered_at, targets,
                         to_switch)

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
HOA, HA, CN, CN4 = M.HOME_ADDRESS, M.HA_ADDRESS, M.CN_ADDRESS, M.CN_ADDRESS_V4
SPI = {sa.name: sa.spi for mn in M.HOME_ADDRESSES for sa in M.mip_sas(mn)}
LIFETIME, LEAD = 20.0, 8.0  # the MN asks 20 s; the HA sends a BRR 8 s before a binding expires
LOCAL_UNHANDLED, SPOOFED_TUNNEL_SOURCE = 13, 6  # drop_counter indices (docs/dataplane.md)
MN2 = M.MN2_HOME_ADDRESS
MN2_COAS = {"acca": IPv6Address("2001:db8:a::206"), "accb": IPv6Address("2001:db8:b::206")}


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    # the MN's own refresh comes at 90 % of the lifetime (18 s), after the HA's BRR (at 12 s)
    opts = M.MipLabOptions(home_agent={"refresh_request_lead": LEAD}, mn={"refresh_fraction": 0.9},
                           requested_lifetime=LIFETIME)
    lab = make_mip_lab(request, tmp_path_factory, opts)
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def mn2(lab):
    """MN2 of the lab's IPsec file, played by the tests with its own keys (one ESP sequence per module)."""
    return ForeignMn(lab)


def _prefixes(lab, solicit: bool) -> dict:
    """`p4mob mn prefixes` against the daemon's control socket (the CLI, as an operator runs it)."""
    argv = [sys.executable, "-m", "p4mobility.cli", "mn", "prefixes", "--socket", str(lab.out / "mn.sock"), "--json"]
    res = sh(*argv, *(["--solicit"] if solicit else []), timeout=30)
    return json.loads(res.stdout)


def _solicit(lab) -> tuple[float, int]:
    """Ask the MN for a solicitation of its own: one still outstanding (the MN sends one after its
    first registration, RFC 6275 §11.4.2) is waited out first, or the answer seen after the ask
    would be to a solicitation the HA logged before it. The time of the ask and its identifier."""
    lab.wait_for(lambda: _prefixes(lab, solicit=False)["pending"] is None, "no outstanding solicitation", poll=0.2)
    t = time.time()
    pending = _prefixes(lab, solicit=True)["pending"]
    assert pending is not None
    return t, pending


# --- prefix discovery ---------------------------------------------------------------------------

def test_rfc3776_5_2_3_the_mn_solicits_and_the_ha_advertises_its_home_prefixes_in_esp(lab):
    registered_at(lab, "acca")
    t, asked = _solicit(lab)
    learned = lab.wait_event("mn", "home_prefixes", since=t)
    assert learned["identifier"] == asked
    assert learned["home_address_covered"] and [p["prefix"] for p in learned["prefixes"]] == [str(M.HOME_PREFIX)]
    rx = lab.wait_event("ha", "mps_rx", since=t, where=lambda e: e["identifier"] == learned["identifier"])
    # RFC 3776 §4.1: decrypted with the SA bound to the MN's home address, from its registered CoA
    assert (rx["src"], rx["home_address"], rx["protected_by"]) == (str(COA["acca"]), str(HOA), str(HOA))
    tx = lab.wait_event("ha", "mpa_tx", since=t, where=lambda e: e["identifier"] == learned["identifier"])
    assert (tx["dst"], tx["home_address"], tx["prefixes"]) == (str(COA["acca"]), str(HOA), [str(M.HOME_PREFIX)])
    rows = _prefixes(lab, solicit=False)
    assert [r[0] for r in rows["rows"]] == [str(M.HOME_PREFIX)] and rows["pending"] is None


@needs_tools("tshark")
def test_rfc3776_5_2_3_on_the_wire_the_solicitation_and_advertisement_are_esp_on_the_bu_and_ba_sas(lab):
    needs_pcaps(lab)
    registered_at(lab, "acca")
    t, ident = _solicit(lab)
    assert lab.wait_event("mn", "home_prefixes", since=t)["identifier"] == ident
    time.sleep(0.5)  # tcpdump writes each frame as it comes (-U)
    pcap = lab.out / "ha-acca.pcap"
    assert prefix_rows(pcap) == []  # nothing readable without the keys: no clear 146 / 147 on the link
    rows = [r for r in prefix_rows(pcap, lab.out / "esp_sa") if r.identifier == ident]
    sol = [r for r in rows if r.icmp_type == 146]
    adv = [r for r in rows if r.icmp_type == 147]
    assert sol and all(r.spi == SPI["bu"] and r.icv_good for r in sol)
    assert adv and all(r.spi == SPI["ba"] and r.icv_good for r in adv)
    assert all(r.prefixes == (str(M.HOME_PREFIX),) for r in adv)


@pytest.mark.skipif(nat_unavailable() is not None, reason=nat_unavailable() or "")
def test_rfc5555_4_1_prefix_discovery_through_a_nat_in_udp_4191(lab):
    """Behind the NAT the solicitation goes in UDP 4191 from the home address; the HA checks it
    came from the binding's NAT address and port and answers the same way."""
    registered_at(lab, "nat", timeout=60)
    t, asked = _solicit(lab)
    learned = lab.wait_event("mn", "home_prefixes", since=t)
    assert learned["identifier"] == asked
    assert [p["prefix"] for p in learned["prefixes"]] == [str(M.HOME_PREFIX)]
    rx = lab.wait_event("ha", "mps_rx", since=t, where=lambda e: e["identifier"] == learned["identifier"])
    assert (rx["src"], rx["protected_by"]) == (str(HOA), str(HOA))
    assert rx["outer"].split(":")[0] == str(M.NAT_PUBLIC)  # recorded before decryption
    tx = lab.wait_event("ha", "mpa_tx", since=t, where=lambda e: e["identifier"] == learned["identifier"])
    assert (tx["dst"], tx.get("udp"), tx["dst_port"]) == (str(M.NAT_PUBLIC), True, int(rx["outer"].split(":")[1]))
    registered_at(lab, "acca", timeout=60)  # back on IPv6 for the other tests


def test_rfc3776_4_1_a_clear_solicitation_is_not_answered(lab):
    from scapy.layers.inet6 import HAO, ICMPv6MPSol, IPv6, IPv6ExtHdrDestOpt

    registered_at(lab, "acca")
    t = time.time()
    before = lab.drops(LOCAL_UNHANDLED)
    # from the MN's registered CoA, with its HAO and a valid checksum over the home address: only ESP is missing
    icmp = bytes(IPv6(src=str(HOA), dst=str(HA)) / ICMPv6MPSol(id=0x5A5A))[40:]
    mps = bytes(IPv6(src=str(COA["acca"]), dst=str(HA)) / IPv6ExtHdrDestOpt(nh=58, options=[HAO(hoa=str(HOA))]))
    mps = mps[:4] + (len(mps) - 40 + len(icmp)).to_bytes(2, "big") + mps[6:] + icmp
    lab.inject("acca", "ha", to_switch("acca", mps))
    lab.wait_for(lambda: lab.drops(LOCAL_UNHANDLED) > before, "the switch to drop a local packet", poll=0.3)
    # the MN's own solicitation crosses the same link and switch port after it and is answered:
    # by then the clear one was handled, and it reached neither the node nor an answer
    _, mine = _solicit(lab)
    assert lab.wait_event("mn", "home_prefixes", since=t)["identifier"] == mine
    assert [e for e in lab.events("ha", "mps_rx", since=t) if e["identifier"] != mine] == []
    assert [e for e in lab.events("ha", "mpa_tx", since=t) if e["identifier"] != mine] == []


# --- return routability through the home agent ---------------------------------------------------

def _correspondent(lab) -> None:
    """The correspondent's stand-in (lab/rrpeer.py cn) runs in the CN namespace."""
    if "rr-cn" not in lab.sup.procs or not lab.sup.procs["rr-cn"].alive():
        (lab.out / "rr-cn.json").unlink(missing_ok=True)
        lab.sup.spawn("rr-cn", [sys.executable, "-m", "p4mobility.lab.rrpeer", "cn", str(CN),
                                str(lab.out / "rr-cn.json")], lab.out / "rr-cn.out", ns=lab.ns("cn"))
        lab.wait_for(lambda: (lab.out / "rr-cn.json").exists(), "the correspondent's stand-in", proc="rr-cn")


def _cn_saw(lab) -> dict:
    try:
        return json.loads((lab.out / "rr-cn.json").read_text())
    except (OSError, ValueError):
        return {"hoti": [], "hot_sent": []}


def test_rfc3776_5_2_2_hoti_and_hot_cross_the_ha_in_the_tunnel_in_esp_tunnel_mode(lab):
    registered_at(lab, "acca")
    _correspondent(lab)
    t, cookie = time.time(), 0x1000_0000_0000_0000 | int(time.time())
    result = lab.out / "rr-mn.json"
    # an application on the MN: a raw MH socket bound to the home address (the tunnel interface's)
    res = sh(sys.executable, "-m", "p4mobility.lab.rrpeer", "mn", str(HOA), str(CN), "3", str(cookie), str(result),
             "10", ns=lab.ns("mn"), timeout=60, check=False)
    got = json.loads(result.read_text())
    assert res.returncode == 0, (res.stderr, got)
    sent = {s["cookie"] for s in got["sent"]}
    # RFC 6275 §5.2.5: the HoTI reaches the correspondent from the home address ...
    at_cn = {h["cookie"]: h["src"] for h in _cn_saw(lab)["hoti"] if h["t"] >= t}
    assert {c: at_cn.get(c) for c in sent} == {c: str(HOA) for c in sent}
    # ... and its HoT arrives on the MN's tunnel interface, to the home address
    assert {(h["cookie"], h["src"], h["ifname"]) for h in got["hot"]} == {(c, str(CN), M.TUNNEL_IFACE) for c in sent}


def test_rfc3776_5_2_2_on_the_access_link_hoti_and_hot_are_only_esp_of_their_own_sas(lab):
    needs_pcaps(lab)
    registered_at(lab, "acca")
    _correspondent(lab)
    t = time.time()
    res = sh(sys.executable, "-m", "p4mobility.lab.rrpeer", "mn", str(HOA), str(CN), "2", "0x77", str(lab.out / "rr2.json"),
             "10", ns=lab.ns("mn"), timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    time.sleep(0.5)
    pcap = lab.out / "ha-acca.pcap"
    seen = [e for e in esp_on_link(pcap) if e.t > t]
    hoti = [e for e in seen if e.spi == SPI["hoti"]]
    hot = [e for e in seen if e.spi == SPI["hot"]]
    # tunnel mode CoA <-> HA (RFC 3776 §5.2.2): the CoA outside, the HA's switch rewrote the HoT's
    # destination to the current CoA (draft-laganier req. 1)
    assert len(hoti) >= 2 and all((e.src, e.dst, e.outer) == (COA["acca"], HA, "ipv6") for e in hoti)
    assert len(hot) >= 2 and all((e.src, e.dst, e.outer) == (HA, COA["acca"], "ipv6") for e in hot)
    if sh("sh", "-c", "command -v tshark", check=False).returncode == 0:
        clear = [r for r in mh_rows(pcap) if r.mh_type in (1, 3)]
        assert clear == []  # no HoTI / HoT in the clear on the MN-HA link
        rows = [r for r in mh_rows(pcap, lab.out / "esp_sa") if r.mh_type in (1, 3)]
        assert {(r.mh_type, r.spi) for r in rows} == {(1, SPI["hoti"]), (3, SPI["hot"])}
        assert all(r.icv_good for r in rows)


def _hoti_from(mn2: ForeignMn, coa: IPv6Address, cookie: bytes) -> bytes:
    """MN2's HoTI sealed in its HoTI SA (tunnel mode, outer HoA -> HA), the outer source then set
    to ``coa`` as the MN's tunnel code does after IPsec (RFC 3776 §3.4: the CoA is outside ESP)."""
    from scapy.layers.inet6 import IPv6

    mh = encode_mh(HomeTestInit(cookie), MN2, CN)
    inner = bytes(IPv6(src=str(MN2), dst=str(CN), nh=135, plen=len(mh))) + mh
    sealed = mn2.seal(inner, SPI["mn2-hoti"])
    return sealed[:8] + coa.packed + sealed[24:]


def test_rfc5648_monami6_a_tunnelled_hoti_from_any_registered_coa_and_not_from_another(lab, mn2):
    registered_at(lab, "acca")
    _correspondent(lab)
    coa1, coa2 = MN2_COAS["acca"], MN2_COAS["accb"]
    # MN2 registers two CoAs in one bulk BU with BIDs (RFC 5648 §5.3), from the first one
    bu = BindingUpdate(int(time.time()) & 0x7FFF, int(LIFETIME * 3) // 4, ack=True, home_registration=True,
                       options=(AlternateCareofAddress(coa1), BindingIdentifier(1, coa=coa1),
                                BindingIdentifier(2, coa=coa2)))
    lab.inject("acca", "ha", to_switch("acca", mn2.seal(bu_packet(bu, coa1, MN2), SPI["mn2-bu"])))
    lab.wait_for(lambda: (b := binding(lab, MN2)) and b["coa"] == f"1:{coa1} 2:{coa2}", "MN2's two CoAs")
    t = time.time()
    for access, coa, cookie in (("acca", coa1, b"\x21" * 8), ("accb", coa2, b"\x22" * 8)):
        lab.inject(access, "ha", to_switch(access, _hoti_from(mn2, coa, cookie)))
    want = {(b"\x21" * 8).hex(): str(MN2), (b"\x22" * 8).hex(): str(MN2)}
    lab.wait_for(lambda: {h["cookie"]: h["src"] for h in _cn_saw(lab)["hoti"] if h["t"] >= t} == want,
                 "both HoTIs at the correspondent, from MN2's home address")
    spoofed = lab.drops(SPOOFED_TUNNEL_SOURCE)
    lab.inject("acca", "ha", to_switch("acca", _hoti_from(mn2, IPv6Address("2001:db8:a::99"), b"\x23" * 8)))
    lab.wait_for(lambda: lab.drops(SPOOFED_TUNNEL_SOURCE) == spoofed + 1, "the unregistered CoA's HoTI dropped",
                 poll=0.3)
    # the switch dropped it before the crypto path: the correspondent never sees it
    assert (b"\x23" * 8).hex() not in {h["cookie"] for h in _cn_saw(lab)["hoti"]}
    # the HoTs went back into MN2's tunnel, each by one of its registered CoAs (the Monami6 slides:
    # it does not matter which)
    if lab.pcap:
        time.sleep(0.5)
        hots = [e for link in ("acca", "accb") for e in esp_on_link(lab.out / f"ha-{link}.pcap")
                if e.spi == SPI["mn2-hot"] and e.t > t]
        assert len(hots) >= 2 and {e.dst for e in hots} <= {coa1, coa2}
    bye = BindingUpdate((bu.sequence + 1) & 0xFFFF, 0, ack=True, home_registration=True,
                        options=(AlternateCareofAddress(MN2),))
    lab.inject("acca", "ha", to_switch("acca", mn2.seal(bu_packet(bye, coa1, MN2), SPI["mn2-bu"])))
    lab.wait_for(lambda: binding(lab, MN2) is None, "MN2 de-registered")


# --- Binding Refresh Request ----------------------------------------------------------------------

def test_rfc6275_9_5_5_the_ha_asks_for_a_refresh_in_esp_and_the_mn_answers_with_a_bu(lab):
    registered_at(lab, "acca")
    before = binding(lab)
    t = time.time()
    brr = lab.wait_event("ha", "brr_tx", since=t, timeout=LIFETIME + 10)
    assert (brr["dst"], brr["home_address"]) == (str(COA["acca"]), str(HOA))
    got = lab.wait_event("mn", "signalling_received", since=t, where=lambda e: e["kind"] == "BrrReceived")
    bu = lab.wait_event("mn", "bu_sent", since=got["ts"])
    # RFC 6275 §11.7.4: the MN answers the request itself, before its own refresh time
    assert bu["lifetime"] > 0 and bu["path"]["coa"] == str(COA["acca"])
    rx = lab.wait_event("ha", "bu_rx", since=t, where=lambda e: e["seq"] == bu["seq"])
    assert rx["protected_by"] == str(HOA)
    ba = lab.wait_event("ha", "ba_tx", since=t, where=lambda e: e["seq"] == bu["seq"])
    assert ba["status"] == 0
    reg = lab.wait_event("mn", "registered", since=got["ts"])
    assert reg["refreshed"] and reg["coa"] == str(COA["acca"])
    after = binding(lab)
    assert after["id"] == before["id"] and after["expires_in"] > LEAD  # the same binding, refreshed
    if lab.pcap and sh("sh", "-c", "command -v tshark", check=False).returncode == 0:
        time.sleep(0.5)
        pcap = lab.out / "ha-acca.pcap"
        assert [r for r in mh_rows(pcap) if r.mh_type == 0] == []  # never in the clear
        rows = [r for r in mh_rows(pcap, lab.out / "esp_sa") if r.mh_type == 0]
        assert rows and all(r.spi == SPI["ba"] and r.icv_good for r in rows)  # on the BA SA (RFC 3776 §5.2.1)


# --- an IPv4 care-of address without a NAT ----------------------------------------------------------

def test_rfc5555_4_1_a_public_ipv4_care_of_address_uses_a_plain_ipv4_tunnel(lab):
    t = time.time()
    tunnel = registered_at(lab, "pub", timeout=60)
    assert tunnel["encapsulation"] == "ipv4"  # no NAT Detection option: IP-in-IPv4 (RFC 5555 §3.2.2)
    rx = lab.wait_event("ha", "bu_rx", since=t, where=lambda e: e.get("outer"))
    assert rx["outer"].split(":")[0] == str(M.MN_V4_PUBLIC)  # the outer source is the CoA itself
    b = binding(lab)
    assert b["coa"] == f"0:{M.MN_V4_PUBLIC}"  # no "(nat ...)": none detected
    peers = {p["peer"]: p for p in lab.show("peers")}
    assert [p["transport"] for pid, p in peers.items() if pid in map(int, b["peer"].split())] == ["ipv4"]
    assert lab.ping(CN) and lab.ping(CN4)  # IPv6 (payload ESP in protocol 41) and IPv4 (protocol 4)
    if lab.pcap:
        time.sleep(0.5)
        seen = [e for e in esp_on_link(lab.out / "ha-nat.pcap") if e.t > t]
        up = [e for e in seen if e.spi == SPI["data-out"]]
        down = [e for e in seen if e.spi == SPI["data-in"]]
        assert up and all(e.outer == "ipv6-in-ipv4" and e.src == HOA for e in up)
        assert down and all(e.outer == "ipv6-in-ipv4" for e in down)
    registered_at(lab, "acca")  # back on IPv6 for the other tests
