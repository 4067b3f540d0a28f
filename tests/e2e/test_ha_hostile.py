"""Bad input at the home agent gets the RFC answer and nothing is lost (issue 14), on the wire.

The host-mobility lab (lab/mip_lab.py): the real MN registered at one access router,
and MN2 (played by the test with its own keys, mip_states.ForeignMn) registered too.
Each case sends hostile signaling into the HA switch: a malformed Mobility Header in
genuine ESP (RFC 6275 §9.2: discarded, counted), an unknown MH Type in the clear
(§9.2: Binding Error status 2), an old Sequence Number in ESP (§9.5.1: 135 with the
last accepted one), a flood of BUs from one source (dropped past the HA's limit). Each
checks the answer (or its absence), the node's counter and log line, and that every
table and action profile of the switch (an independent P4Runtime client) and the HA's
`show bindings` are as they were. (A BU without ESP, and one for another MN's home
address: test_mip_home_agent.py.)
"""
from __future__ import annotations

import sys
import time
from ipaddress import IPv6Address

import pytest

from p4mobility.lab import mip_topology as M
from p4mobility.lab.launch import METRICS_PORT
from p4mobility.lab.supervisor import sh
from p4mobility.mh import AlternateCareofAddress, BindingError, BindingUpdate, checksum
from p4mobility.mh.pcap import read_frames
from p4mobility.p4rt.names import PROFILES, TABLES
from p4mobility.runtime.frames import FrameError, parse_mh_frame

from .mip_states import ForeignMn, binding, bu_packet, make_mip_lab, registered_at, targets, to_switch

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
SPI = {sa.name: sa.spi for mn in M.HOME_ADDRESSES for sa in M.mip_sas(mn)}
MN2, HA = M.MN2_HOME_ADDRESS, M.HA_ADDRESS
MN2_COA = IPv6Address("2001:db8:a::206")  # on access router A's link
FLOOD_LIMIT = 20  # max_bus_per_second_per_source in this lab
NO_ANSWER_WINDOW = 1.0


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


def mn2_bu(seq: int, lifetime: int = 200) -> BindingUpdate:
    return BindingUpdate(seq & 0xFFFF, lifetime, ack=True, home_registration=True,
                         options=(AlternateCareofAddress(MN2_COA),))


def sealed(mn2: ForeignMn, mh_packet: bytes) -> bytes:
    return mn2.seal(mh_packet, SPI["mn2-bu"])


def both_registered(lab, mn2: ForeignMn) -> None:
    registered_at(lab, "acca")
    if binding(lab, MN2) is None:
        mn2.seq += 1
        hostile(lab, sealed(mn2, bu_packet(mn2_bu(mn2.seq), MN2_COA, MN2)))
        lab.wait_for(lambda: binding(lab, MN2), "MN2's binding")


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


def mutate(packet: bytes, fn) -> bytes:
    """``packet`` (IPv6 + HAO + MH, bu_packet) with its MH changed by ``fn`` and the IPv6 Payload
    Length and MH checksum (over HoA, HA: RFC 6275 §6.1.1) made to match again."""
    at = 40 + (packet[41] + 1) * 8  # after the IPv6 header and the Destination Options header
    head, mh = bytearray(packet[:at]), bytearray(packet[at:])
    fn(mh)
    mh[4:6] = b"\0\0"
    mh[4:6] = checksum(MN2, HA, bytes(mh)).to_bytes(2, "big")
    head[4:6] = (len(head) - 40 + len(mh)).to_bytes(2, "big")
    return bytes(head + mh)


def _past_packet(mh):
    mh[1] += 1


def _overrun(mh):
    mh += bytes([200, 30, 0, 0, 0, 0, 0, 0])
    mh[1] += 1


def _bad_checksum(packet: bytes) -> bytes:
    b = bytearray(packet)
    b[40 + (packet[41] + 1) * 8 + 4] ^= 0x5A  # the MH checksum
    return bytes(b)


@pytest.mark.parametrize("case", ["header_len_past_packet", "option_overruns_message", "bad_checksum"])
def test_rfc6275_9_2_malformed_bu_in_genuine_esp_is_discarded_counted_and_changes_nothing(lab, mn2, case):
    both_registered(lab, mn2)
    before, m0 = snapshot(lab), metrics(lab)
    good = bu_packet(mn2_bu(mn2.seq + 1), MN2_COA, MN2)
    bad = {"header_len_past_packet": lambda: mutate(good, _past_packet),
           "option_overruns_message": lambda: mutate(good, _overrun),
           "bad_checksum": lambda: _bad_checksum(good)}[case]()
    t = time.time()
    hostile(lab, sealed(mn2, bad))
    ev = lab.wait_event("ha", "mh_undecodable", since=t)
    assert ev["src"] == str(MN2_COA) and ev["error"].startswith("Mh")
    lab.wait_event("ha", "core", since=t, where=lambda e: e.get("counter") == "undecodable")
    time.sleep(NO_ANSWER_WINDOW)
    assert lab.events("ha", "ba_tx", since=t) == []  # nothing answers it
    moved(lab, m0, 'p4mob_core_events_total{counter="undecodable"}')
    moved(lab, m0, "p4mob_mh_discarded_total")
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
    ba = lab.wait_event("ha", "ba_tx", since=t)
    assert ba["status"] == 135 and ba["seq"] == mn2.seq and ba["lifetime"] == 0
    moved(lab, m0, 'p4mob_pba_sent_total{status="135"}')
    assert binding(lab, MN2)["coa"] == last["coa"]
    assert snapshot(lab) == before


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
