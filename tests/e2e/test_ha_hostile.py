"""Bad input at the home agent gets the RFC answer and nothing is lost (issue 14), on the wire.

The host-mobility lab (lab/mip_lab.py): the real MN registered at one access router,
and MN2 (played by the test with its own keys, mip_states.ForeignMn) registered too.
Each case sends hostile signaling into the HA switch: a malformed Mobility Header in
genuine ESP (RFC 6275 §9.2: discarded, counted), one in the clear with a bad Payload
Proto or Header Len (§9.2: an ICMPv6 Parameter Problem pointing at the field), an
unknown MH Type in the clear (§9.2: Binding Error status 2), BUs in genuine ESP that
each Binding Acknowledgement status the HA can reach on the wire answers (RFC 6275
§9.5.1, §10.3.1, §10.3.2, RFC 3963, RFC 5213, RFC 5555, RFC 5648), a flood of BUs
from one source (dropped past the HA's limit). Each checks the answer (or its
absence) on access link A's capture (the BA opened with MN2's SA and decoded,
tshark where installed: ha_wire.py), the node's counter and log line, and that every
table and action profile of the switch (an independent P4Runtime client) and the HA's
`show bindings` are as they were. The expected answers are written here from the
RFCs, not computed with the code under test. (A BU without ESP, and one for another
MN's home address: test_mip_home_agent.py.)
"""
from __future__ import annotations

import itertools
import signal
import sys
import time
import tomllib
from ipaddress import IPv4Address, IPv6Address

import pytest

from p4mobility.lab import mip_topology as M
from p4mobility.lab.launch import METRICS_PORT
from p4mobility.lab.supervisor import sh
from p4mobility.lab.topology import to_toml
from p4mobility.mh import (AlternateCareofAddress, BindingError, BindingIdentifier, BindingUpdate,
                           Ipv4AddressAcknowledgement, Ipv4CareofAddress, Ipv4HomeAddress)
from p4mobility.mh.pcap import read_frames
from p4mobility.p4rt.names import PROFILES, TABLES
from p4mobility.runtime.frames import FrameError, parse_mh_frame

from tests.tooling import tool_missing

from .ha_wire import (SPI, ba_on_wire, bad_checksum, bytes_past_header_len, icmp_agrees, icmp_on_wire, mutate, no_wire,
                      overrun, past_packet, payload_proto, short_fixed_part, tshark_ba)
from .mip_states import ForeignMn, binding, bu_packet, make_mip_lab, registered_at, targets, to_switch

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
MN2, HA = M.MN2_HOME_ADDRESS, M.HA_ADDRESS
MN2_COA = IPv6Address("2001:db8:a::206")  # on access router A's link
FLOOD_LIMIT = 20  # max_bus_per_second_per_source in this lab
NO_ANSWER_WINDOW = 1.0
PROBE = itertools.count(1000)  # Sequence Numbers of BUs the HA refuses: each answer tells its case


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    lab = make_mip_lab(request, tmp_path_factory,
                       M.MipLabOptions(home_agent={"max_bus_per_second_per_source": FLOOD_LIMIT}))
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def mn2(lab):
    mn = ForeignMn(lab)
    mn.seq = int(time.time()) & 0x7FFF
    return mn


def hostile(lab, packet: bytes) -> None:
    lab.inject("nat", "wan", to_switch("nat", packet))


def hostile_burst(lab, packets: list[bytes], gap: float = 0.002) -> None:
    """Many crafted packets from one sender process (lab.inject starts one per packet)."""
    code = ("import socket,sys,time;s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind(('wan',0))\n"
            f"for h in sys.argv[1:]:\n s.send(bytes.fromhex(h));time.sleep({gap})")
    sh(sys.executable, "-c", code, *(to_switch("nat", p).hex() for p in packets), ns=lab.ns("nat"), timeout=60)


def mn2_bu(seq: int, lifetime: int = 200, options=None, **flags) -> BindingUpdate:
    opts = (AlternateCareofAddress(MN2_COA),) if options is None else options
    return BindingUpdate(seq & 0xFFFF, lifetime, ack=True, **{"home_registration": True, **flags}, options=opts)


def sealed(mn2: ForeignMn, mh_packet: bytes) -> bytes:
    return mn2.seal(mh_packet, SPI["mn2-bu"])


def both_registered(lab, mn2: ForeignMn) -> None:
    registered_at(lab, "acca")
    if binding(lab, MN2) is None:
        mn2.seq += 1
        hostile(lab, sealed(mn2, bu_packet(mn2_bu(mn2.seq), MN2_COA, MN2)))
        lab.wait_for(lambda: binding(lab, MN2), "MN2's binding")


def to_mn2(ev: dict) -> bool:
    """A ba_tx line for MN2 (the real MN's refreshes may be logged meanwhile)."""
    return ev.get("home_address") == str(MN2)


def snapshot(lab) -> tuple[list[dict], list[dict]]:
    rows = [{k: v for k, v in r.items() if k != "expires_in"} for r in lab.show("bindings")]
    return lab.read_switch(*TABLES, *PROFILES), rows


def metrics(lab) -> dict[str, float]:
    url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
    code = f"import urllib.request;print(urllib.request.urlopen({url!r}).read().decode())"
    text = sh(sys.executable, "-c", code, ns=lab.ns("ha"), timeout=20).stdout
    return {ln.rsplit(" ", 1)[0]: float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines() if ln and ln[0] != "#"}


def moved(lab, m0: dict, sample: str, by: int = 1) -> None:
    lab.wait_for(lambda: metrics(lab).get(sample, 0.0) >= m0.get(sample, 0.0) + by, f"{sample} +{by}", poll=0.2)
    assert metrics(lab).get(sample, 0.0) == m0.get(sample, 0.0) + by


@pytest.mark.parametrize("case", ["header_len_past_packet", "option_overruns_message", "bad_checksum",
                                  "payload_proto_not_59"])
def test_rfc6275_9_2_malformed_bu_in_genuine_esp_is_discarded_counted_and_changes_nothing(lab, mn2, case):
    both_registered(lab, mn2)
    before, m0 = snapshot(lab), metrics(lab)
    good = bu_packet(mn2_bu(mn2.seq + 1), MN2_COA, MN2)
    bad = {"header_len_past_packet": lambda: mutate(good, past_packet),
           "option_overruns_message": lambda: mutate(good, overrun),
           "bad_checksum": lambda: bad_checksum(good),
           "payload_proto_not_59": lambda: mutate(good, payload_proto)}[case]()
    t = time.time()
    hostile(lab, sealed(mn2, bad))
    ev = lab.wait_event("ha", "mh_undecodable", since=t)
    assert ev["src"] == str(MN2_COA) and ev["error"].startswith("Mh")
    line = lab.wait_event("ha", "core", since=t, where=lambda e: e.get("counter") == "undecodable")
    if case == "payload_proto_not_59":  # §9.2's ICMPv6 error would quote the decrypted BU in the clear
        assert line["action"] == "icmp_parameter_problem" and "ESP" in line["icmp_not_sent"]
    time.sleep(NO_ANSWER_WINDOW)
    assert [e for e in lab.events("ha", "ba_tx", since=t) if to_mn2(e)] == []  # nothing answers it
    assert [e for e in lab.events("ha", "core", since=t) if e.get("counter") == "icmp_parameter_problems_sent"] == []
    moved(lab, m0, 'p4mob_core_events_total{counter="undecodable"}')
    moved(lab, m0, "p4mob_mh_discarded_total")
    assert snapshot(lab) == before


# RFC 6275 §9.2 (RFC 4443 §3.4): the pointer counts from the IPv6 header; the MH comes after
# the 40-octet IPv6 header and the 24-octet Destination Options header with the HAO
MH_AT = 40 + 24
ICMP_CASES = {"payload_proto_not_59": (payload_proto, MH_AT + 0),  # Payload Proto
              "bytes_past_header_len": (bytes_past_header_len, MH_AT + 1),  # Header Len
              "header_len_short_for_type": (short_fixed_part, MH_AT + 1)}


@pytest.mark.parametrize("case", list(ICMP_CASES))
def test_rfc6275_9_2_clear_mh_with_bad_payload_proto_or_header_len_gets_icmp_parameter_problem(lab, mn2, case):
    both_registered(lab, mn2)
    before, m0 = snapshot(lab), metrics(lab)
    fn, pointer = ICMP_CASES[case]
    bad = mutate(bu_packet(mn2_bu(mn2.seq + next(PROBE)), MN2_COA, MN2), fn)  # each case quotes its own packet
    t = time.time()
    hostile(lab, bad)  # in the clear: §9.2's checks come before any BU processing
    ev = lab.wait_event("ha", "mh_undecodable", since=t)
    assert ev["src"] == str(MN2_COA) and ev["error"] in ("MhPayloadProtoError", "MhHeaderLenError")
    line = lab.wait_event("ha", "core", since=t, where=lambda e: e.get("counter") == "undecodable")
    assert line["action"] == "icmp_parameter_problem"
    sent = lab.wait_event("ha", "core", since=t, where=lambda e: e.get("counter") == "icmp_parameter_problems_sent")
    assert sent["pointer"] == pointer and sent["src"] == str(MN2_COA)
    moved(lab, m0, 'p4mob_core_events_total{counter="icmp_parameter_problems_sent"}')
    moved(lab, m0, 'p4mob_core_events_total{counter="undecodable"}')
    moved(lab, m0, "p4mob_mh_discarded_total")
    if no_wire(lab) is None:  # on access link A: the error, quoting the packet as it was sent
        raw = lab.wait_for(lambda: icmp_on_wire(lab, bad), "the Parameter Problem on access link A", timeout=10,
                           poll=0.2)
        icmp_agrees(lab, case, raw, bad, MN2_COA, pointer)
    assert [e for e in lab.events("ha", "ba_tx", since=t) if to_mn2(e)] == []  # and no BA answers it
    assert snapshot(lab) == before


def test_rfc6275_9_2_unknown_mh_type_gets_binding_error_2_and_changes_nothing(lab, mn2):
    both_registered(lab, mn2)
    before, m0 = snapshot(lab), metrics(lab)
    t = time.time()
    # in the clear: in ESP the SA's selector (MH Type = BU) refuses it first (RFC 4301 §5.2)
    hostile(lab, mutate(bu_packet(mn2_bu(mn2.seq + 1), MN2_COA, MN2), lambda mh: mh.__setitem__(2, 200)))
    ev = lab.wait_event("ha", "core", since=t, where=lambda e: e.get("counter") == "binding_errors_sent")
    assert ev["be_status"] == 2 and ev["src"] == str(MN2_COA)
    moved(lab, m0, 'p4mob_core_events_total{counter="binding_errors_sent"}')
    if lab.pcap:  # on the wire, towards the source's link: a Binding Error with status 2
        def be_on_wire():
            with open(lab.out / "ha-acca.pcap", "rb") as f:
                for fr in read_frames(f):
                    try:
                        msg, src, dst = parse_mh_frame(fr.data)
                    except FrameError:
                        continue
                    if isinstance(msg, BindingError) and dst == MN2_COA:
                        return msg, src
            return None
        be, src = lab.wait_for(be_on_wire, "the Binding Error on access link A", timeout=10, poll=0.2)
        assert be.status == 2 and src == HA
    assert snapshot(lab) == before


def test_rfc6275_9_5_1_old_sequence_number_in_esp_gets_135_with_the_last_accepted(lab, mn2):
    both_registered(lab, mn2)
    last = binding(lab, MN2)
    before, m0 = snapshot(lab), metrics(lab)
    t = time.time()
    hostile(lab, sealed(mn2, bu_packet(mn2_bu(mn2.seq - 1), MN2_COA, MN2)))
    ba = lab.wait_event("ha", "ba_tx", since=t, where=to_mn2)
    assert ba["status"] == 135 and ba["seq"] == mn2.seq and ba["lifetime"] == 0
    moved(lab, m0, 'p4mob_pba_sent_total{status="135"}')
    assert binding(lab, MN2)["coa"] == last["coa"]
    assert snapshot(lab) == before


def _coa(n: int) -> IPv6Address:
    return IPv6Address(int(MN2_COA) + 0x100 + n)  # more addresses on access link A


ALT = AlternateCareofAddress(MN2_COA)
# id -> (the BU MN2 sends in genuine ESP, given its Sequence Number; the BA Status the RFC names)
BA_CASES = {
    # RFC 6275 §9.5.1, §10.3.1: H clear for an entry that is a home registration -> 139
    "h_flag_clear_on_a_home_binding": (lambda s: mn2_bu(s, home_registration=False), 139),
    # RFC 3963 §6.6: R set, and this home agent serves no mobile network prefixes -> 140
    "mobile_router_flag": (lambda s: mn2_bu(s, mobile_router=True), 140),
    # RFC 5213 §5.3.1 (IANA 152): P set at a home agent that does no proxy registration
    "proxy_flag_at_a_home_agent": (lambda s: mn2_bu(s, proxy=True), 152),
    # RFC 6275 §9.5.1: a care-of address that is no unicast routable address -> 174
    "alternate_coa_multicast": (lambda s: mn2_bu(s, options=(AlternateCareofAddress(IPv6Address("ff02::1")),)), 174),
    "alternate_coa_link_local": (lambda s: mn2_bu(s, options=(AlternateCareofAddress(IPv6Address("fe80::1")),)), 174),
    # RFC 5555 §3.1.2: an IPv4 Care-of Address option only in a BU that came over IPv4 -> 174
    "ipv4_coa_option_over_ipv6": (lambda s: mn2_bu(s, options=(ALT, Ipv4CareofAddress(M.MN_V4_PUBLIC))), 174),
    # RFC 5648 §6.1, §5.2: BID 0 is reserved, a BID may appear once -> 164 (malformed)
    "bid_zero": (lambda s: mn2_bu(s, options=(ALT, BindingIdentifier(0))), 164),
    "bid_twice": (lambda s: mn2_bu(s, options=(ALT, BindingIdentifier(1, coa=_coa(1)),
                                               BindingIdentifier(1, coa=_coa(2)))), 164),
    # RFC 5648 §5.2: a BID for a home address whose binding has none -> 165
    "bid_on_a_binding_without_bids": (lambda s: mn2_bu(s, options=(ALT, BindingIdentifier(1))), 165),
    # RFC 5648 §5.2: de-registering a BID the binding does not hold -> 167
    "deregister_an_unknown_bid": (lambda s: mn2_bu(s, 0, options=(ALT, BindingIdentifier(9))), 167),
    # RFC 5648 §5.2: the H flag of a BID option (home and foreign at once); this HA has no home link -> 169
    "bid_with_h_flag": (lambda s: mn2_bu(s, options=(ALT, BindingIdentifier(1, h=True))), 169),
}


def refused_on_the_wire(lab, mn2, bu: BindingUpdate, status: int) -> None:
    """Send ``bu`` from MN2 in genuine ESP; the RFC's ``status`` comes back, counted, logged, on the wire."""
    m0 = metrics(lab)
    t = time.time()
    hostile(lab, sealed(mn2, bu_packet(bu, MN2_COA, MN2)))
    ba = lab.wait_event("ha", "ba_tx", since=t, where=to_mn2)
    assert (ba["status"], ba["seq"], ba["lifetime"]) == (status, bu.sequence, 0)
    lab.wait_event("ha", "core", since=t, where=lambda e: e.get("status") == status)  # why, in words
    moved(lab, m0, f'p4mob_pba_sent_total{{status="{status}"}}')
    if no_wire(lab) is None:  # on access link A, in ESP on MN2's BA SA, to the care-of address
        msg = lab.wait_for(lambda: ba_on_wire(lab, bu.sequence, MN2_COA), "the BA on access link A", timeout=10,
                           poll=0.2)
        assert (msg.status, msg.lifetime) == (status, 0)
        if not tool_missing("tshark"):  # Wireshark's dissector, the ESP opened with the lab's esp_sa file
            row = tshark_ba(lab, bu.sequence)
            assert row is not None and (row.ba_status, row.icv_good) == (status, True), row


@pytest.mark.parametrize("case", list(BA_CASES))
def test_bu_in_genuine_esp_gets_the_rfc_ba_status_and_changes_nothing(lab, mn2, case):
    build, status = BA_CASES[case]
    both_registered(lab, mn2)
    before = snapshot(lab)
    refused_on_the_wire(lab, mn2, build(mn2.seq + next(PROBE)), status)
    assert snapshot(lab) == before


def test_rfc6275_10_3_2_deregistration_without_binding_133_and_too_many_care_of_addresses_130(lab, mn2):
    both_registered(lab, mn2)
    mn2.seq += 1
    t = time.time()
    hostile(lab, sealed(mn2, bu_packet(mn2_bu(mn2.seq, 0), MN2_COA, MN2)))  # MN2 de-registers: accepted
    assert lab.wait_event("ha", "ba_tx", since=t, where=to_mn2)["status"] == 0
    lab.wait_for(lambda: binding(lab, MN2) is None, "MN2's binding gone")
    before = snapshot(lab)
    # RFC 6275 §10.3.2: a de-registration for a home address without a binding -> 133
    refused_on_the_wire(lab, mn2, mn2_bu(mn2.seq + next(PROBE), 0), 133)
    # RFC 5648 §4.3 bulk registration of more care-of addresses than local policy allows
    # (max_care_of_addresses, 8 by default) -> 130 (RFC 6275 §10.3.1: insufficient resources)
    bids = tuple(BindingIdentifier(i, coa=_coa(i)) for i in range(1, 10))
    refused_on_the_wire(lab, mn2, mn2_bu(mn2.seq + next(PROBE), options=(ALT, *bids)), 130)
    assert snapshot(lab) == before and binding(lab, MN2) is None


def ha_restarted_with(lab, **home_agent) -> None:
    """The HA node restarted (SIGTERM) on its ha.toml with ``home_agent`` keys changed; its
    bindings come back from its store and the switch is reconciled against them."""
    path = lab.out / "ha.toml"
    cfg = tomllib.loads(path.read_text())
    cfg["home_agent"].update(home_agent)
    path.write_text(to_toml(cfg))
    t = lab.restart_ha(signal.SIGTERM)
    lab.wait_event("ha", "reconciled", since=t, timeout=180)


def test_rfc5648_5_2_bids_refused_by_local_policy_166_168_across_restarts(lab, mn2):
    both_registered(lab, mn2)
    before = snapshot(lab)
    original = (lab.out / "ha.toml").read_text()
    try:
        # RFC 5648 §5.2: multiple care-of addresses are off at this home agent -> 166
        ha_restarted_with(lab, mcoa_enabled=False)
        assert snapshot(lab) == before  # restored from the store, nothing else moved
        refused_on_the_wire(lab, mn2, mn2_bu(mn2.seq + next(PROBE), options=(ALT, BindingIdentifier(1))), 166)
        # RFC 5648 §4.3, §5.2: several BID options while bulk registration is off -> 168
        ha_restarted_with(lab, mcoa_enabled=True, mcoa_bulk_registration=False)
        bids = (BindingIdentifier(1, coa=_coa(1)), BindingIdentifier(2, coa=_coa(2)))
        refused_on_the_wire(lab, mn2, mn2_bu(mn2.seq + next(PROBE), options=(ALT, *bids)), 168)
        assert snapshot(lab) == before
    finally:
        (lab.out / "ha.toml").write_text(original)
        t = lab.restart_ha(signal.SIGTERM)
        lab.wait_event("ha", "reconciled", since=t, timeout=180)


# RFC 5555 §3.2.1: the IPv6 registration stands (BA 0), the IPv4 Address Acknowledgement refuses
V4_CASES = {"ipv4_prefix_requested": (Ipv4HomeAddress(24, True, IPv4Address("10.200.0.0")), 133),
            "ipv4_address_not_its_own": (Ipv4HomeAddress(32, False, IPv4Address("10.200.0.77")), 130),
            "ipv4_address_not_unicast": (Ipv4HomeAddress(32, False, IPv4Address("224.0.0.1")), 131)}


@pytest.mark.parametrize("case", list(V4_CASES))
def test_rfc5555_3_2_1_refused_ipv4_home_address_gets_its_status_and_changes_nothing(lab, mn2, case):
    opt, status = V4_CASES[case]
    both_registered(lab, mn2)
    before, m0 = snapshot(lab), metrics(lab)
    mn2.seq += 1  # accepted: a refresh of the IPv6 binding
    t = time.time()
    hostile(lab, sealed(mn2, bu_packet(mn2_bu(mn2.seq, options=(ALT, opt)), MN2_COA, MN2)))
    line = lab.wait_event("ha", "core", since=t, where=lambda e: e.get("counter") == "ipv4_home_address_refused")
    assert line["ipv4_status"] == status and line["home_address"] == str(MN2)
    moved(lab, m0, 'p4mob_core_events_total{counter="ipv4_home_address_refused"}')
    if no_wire(lab) is None:
        msg = lab.wait_for(lambda: ba_on_wire(lab, mn2.seq, MN2_COA), "the BA on access link A", timeout=10,
                           poll=0.2)
        ack = msg.option(Ipv4AddressAcknowledgement)
        assert msg.status == 0 and (ack.status, ack.prefix_length, ack.address) == (status, 0, opt.address)
    assert binding(lab, MN2)["ipv4_home_address"] is None
    assert snapshot(lab) == before  # the refresh moved nothing


def test_flood_of_bus_from_one_source_is_dropped_counted_logged_rarely_and_changes_nothing(lab, mn2):
    both_registered(lab, mn2)
    before, m0 = snapshot(lab), metrics(lab)
    old = bu_packet(mn2_bu(mn2.seq - 1), MN2_COA, MN2)  # each one processed is answered 135
    n = 10 * FLOOD_LIMIT
    t = time.time()
    hostile_burst(lab, [sealed(mn2, old) for _ in range(n)])  # paced: ~10x the limit within about a second
    rx, limited = "p4mob_pbu_received_total", 'p4mob_core_events_total{counter="bu_rate_limited"}'

    def settled():
        m = metrics(lab)
        got, dropped = m.get(rx, 0.0) - m0.get(rx, 0.0), m.get(limited, 0.0) - m0.get(limited, 0.0)
        answered = len(lab.events("ha", "ba_tx", since=t))
        return (got, dropped, answered) if dropped > 0 and got == dropped + answered else None

    got, dropped, answered = lab.wait_for(settled, "every BU answered 135 or counted as rate limited", timeout=60,
                                          poll=0.5)
    assert got <= n and 0 < answered <= FLOOD_LIMIT * (int(time.time() - t) + 1)
    lines = [e for e in lab.events("ha", "core", since=t) if e.get("counter") == "bu_rate_limited"]
    assert 1 <= len(lines) <= int(time.time() - t) + 2 and lines[0]["src"] == str(MN2_COA)
    assert snapshot(lab) == before
