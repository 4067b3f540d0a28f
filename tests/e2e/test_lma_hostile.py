"""Bad input at the LMA gets the RFC answer and nothing is lost (issue 14), on the wire.

One LMA node alone on a real switch (lma_alone.py), three MNs registered first.
Each case sends hostile signaling from the MAGs' link and checks: the answer the
RFC names (a PBA status, a Binding Error) read back on the wire and decoded with
our codec (cross-checked with tshark where installed), or nothing at all for a
silent drop; the node's Prometheus counter and its log line moved; and every
switch table and action profile (read by an independent P4Runtime client) and the
node's `show bindings` are as they were. The expected answers are written here
from the RFCs (docs/hostile-input.md), not computed with the code under test.
"""
from __future__ import annotations

import subprocess
import time
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from p4mobility.lab.pcapcheck import mh_rows
from p4mobility.mh import (AlternateCareofAddress, BindingAck, BindingError, HomeNetworkPrefix, Timestamp,
                           UnknownOption)
from tests.dataplane.targets import selected_targets
from tests.tooling import tool_missing

from .lma_alone import FLOOD_LIMIT, LMA, MAG1, MAG2, ONLY_MAG1, ROGUE, LmaAlone, frame, mh_bytes, pbu

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
REGISTERED = {"mn0": MAG1, "mn1": MAG1, "mn2": MAG2}
NO_ANSWER_WINDOW = 1.0  # s: how long a silent drop is watched for an answer after its log line


@pytest.fixture(scope="module", params=selected_targets())
def lma(request, tmp_path_factory):
    h = LmaAlone.start_or_skip(request.param, Path(tmp_path_factory.mktemp(f"lma-{request.param}")))
    try:
        h.registration = {}
        for i, (mn, mag) in enumerate(REGISTERED.items()):
            f = frame(mh_bytes(pbu(mn, 1), mag), mag)
            h.drain()
            h.send(f)
            (_, pba), = h.answers(30)
            assert pba.status == 0, (mn, pba)
            h.registration[mn] = (f, IPv6Network((pba.option(HomeNetworkPrefix).prefix, 64)))
        yield h
    finally:
        h.close()


# --- the cases: (what is sent) -> (what the RFC says comes back) ----------------------------

def _mutated(mutate, msg=None, src=MAG1):
    mh = mh_bytes(msg or pbu("mn3", 7), src)
    mutate(mh)
    return frame(bytes(mh), src, fix_checksum=True)


def _grow_header_len(mh):
    mh[1] += 1  # announces 8 bytes more than the packet holds


def _extra_bytes(mh):
    mh += bytes(8)  # 8 bytes more than Header Len announces


def _overrun(mh):
    mh += bytes([200, 30, 0, 0, 0, 0, 0, 0])  # an option whose Length runs past the message
    mh[1] += 1


def _no_length_byte(mh):
    mh += bytes([0, 0, 0, 0, 0, 0, 0, 200])  # an option type in the last byte, no room for its Length
    mh[1] += 1


def _padn_not_zero(mh):
    mh += bytes([1, 6, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])  # PadN whose content is not zero
    mh[1] += 1


def _short_fixed_part(mh):
    del mh[8:]
    mh[1] = 0  # a BU's fixed part needs 12 bytes: Header Len 0 is too short for the type


def _bad_checksum_frame():
    mh = mh_bytes(pbu("mn3", 7))
    mh[4] ^= 0x5A
    return frame(bytes(mh))


def _unknown_option_pbu(mn, seq):
    return pbu(mn, seq, extra=(UnknownOption(200, b"\x01\x02"),))


SILENT, PBA, BE, ICMP = "silent", "pba", "be", "icmp"
# id -> (frame builder(h), kind, status or counter, metric sample that must move)
CASES = {
    # RFC 6275 §9.2: a Mobility Header the node cannot take is discarded (checksum, truncation:
    # silently; Payload Proto, Header Len: with an ICMPv6 Parameter Problem code 0 pointing at the
    # field, RFC 4443 §3.4: the pointer counts from the IPv6 header, 40 octets before the MH)
    "header_len_past_packet": (lambda h: _mutated(_grow_header_len), SILENT, "mh_undecodable"),
    "bytes_past_header_len": (lambda h: _mutated(_extra_bytes), ICMP, 40 + 1),
    "header_len_short_for_type": (lambda h: _mutated(_short_fixed_part), ICMP, 40 + 1),
    "option_overruns_message": (lambda h: _mutated(_overrun), SILENT, "mh_undecodable"),
    "option_without_length_byte": (lambda h: _mutated(_no_length_byte), SILENT, "mh_undecodable"),
    "bad_checksum": (lambda h: _bad_checksum_frame(), SILENT, "mh_undecodable"),
    "payload_proto_not_59": (lambda h: _mutated(lambda mh: mh.__setitem__(0, 6)), ICMP, 40 + 0),
    # RFC 6275 §9.2: unknown MH Type -> Binding Error status 2
    "unknown_mh_type": (lambda h: _mutated(lambda mh: mh.__setitem__(2, 200)), BE, 2),
    # RFC 5213 §5: the LMA processes PBUs; a PBA (or any other known MH) sent to it is dropped
    "pba_sent_to_the_lma": (lambda h: frame(mh_bytes(BindingAck(0, 1, 100, proxy=True))), SILENT,
                            "mh_not_handled"),
    # RFC 5213 §8.1: a BU without the P flag is not a PBU: not the LMA's to answer
    "bu_without_p_flag": (lambda h: frame(mh_bytes(pbu("mn0", 9, proxy=False))), SILENT, "bu_not_proxy"),
    # RFC 6275 §6.2.2: padding is skipped whatever it holds: the PBU is processed (153: no profile)
    "padn_with_nonzero_content": (lambda h: _mutated(_padn_not_zero, pbu("stranger", 7)), PBA, 153),
    # RFC 5213 §5.3.1 (in its order)
    "missing_mn_id": (lambda h: frame(mh_bytes(pbu(None, 7))), PBA, 160),
    "untrusted_mag": (lambda h: frame(mh_bytes(pbu("mn0", 9), ROGUE), ROGUE), PBA, 154),
    "unknown_mn": (lambda h: frame(mh_bytes(pbu("stranger", 7))), PBA, 153),
    "mag_not_allowed_for_mn": (lambda h: frame(mh_bytes(pbu(ONLY_MAG1, 7), MAG2), MAG2), PBA, 154),
    "missing_hnp": (lambda h: frame(mh_bytes(pbu("mn3", 7, hnps=()))), PBA, 158),
    "missing_handoff_indicator": (lambda h: frame(mh_bytes(pbu("mn3", 7, hi=None))), PBA, 161),
    "missing_access_technology": (lambda h: frame(mh_bytes(pbu("mn3", 7, att=None))), PBA, 162),
    # RFC 5213 §5.5: Timestamp outside TimestampValidityWindow -> 156 with the LMA's time
    "timestamp_out_of_window": (lambda h: frame(mh_bytes(pbu("mn0", 9, ts=time.time() - 600))), PBA, 156),
    # RFC 5213 §5.4.1.1 / §5.3.2: a prefix that is not the MN's -> 155
    "prefix_of_another_mn": (lambda h: frame(mh_bytes(pbu("mn3", 7, hnps=((
        str(h.registration["mn0"][1].network_address), 64),)))), PBA, 155),
    "prefix_not_in_profile": (lambda h: frame(mh_bytes(pbu("mn3", 7, hnps=(("2001:db8:999::", 64),)))),
                              PBA, 155),
    # RFC 6275 §9.5.1: a Proxy-CoA (Alternate Care-of Address option) that is no unicast address -> 174
    "proxy_coa_multicast": (lambda h: frame(mh_bytes(pbu("mn3", 7, extra=(
        AlternateCareofAddress(IPv6Address("ff02::1")),)))), PBA, 174),
    "proxy_coa_is_the_lmaa": (lambda h: frame(mh_bytes(pbu("mn3", 7, extra=(AlternateCareofAddress(LMA),)))),
                              PBA, 174),
    # RFC 6275 §10.3.2 (RFC 5213 §5.3.1): de-registration for no binding -> 133
    "deregistration_without_binding": (lambda h: frame(mh_bytes(pbu("mn4", 7, lifetime=0))), PBA, 133),
    # RFC 5213 §5.3.5: a de-registration from a MAG that is not the binding's Proxy-CoA is ignored
    "stale_deregistration": (lambda h: frame(mh_bytes(pbu("mn0", 9, lifetime=0, hi=3, hnps=((
        str(h.registration["mn0"][1].network_address), 64),)), MAG2), MAG2), SILENT,
        "pbu_stale_deregistration"),
}


def metric(h: LmaAlone, sample: str) -> float:
    return h.metrics().get(sample, 0.0)


def metric_moves_to(h: LmaAlone, sample: str, value: float) -> None:
    """``sample`` reaches ``value`` (the node counts after the packet-out left: poll a little)
    and goes no further."""
    deadline = time.monotonic() + 10
    while metric(h, sample) < value:
        assert time.monotonic() < deadline, f"{sample} did not reach {value}"
        time.sleep(0.1)
    assert metric(h, sample) == value


def same_state(before, after) -> None:
    (entries0, rows0), (entries1, rows1) = before, after
    assert entries1 == entries0  # every table entry and profile member of the switch
    assert [r[:-1] for r in rows1] == [r[:-1] for r in rows0]  # every binding, as `show bindings` lists it
    assert all(r1[-1] <= r0[-1] for r0, r1 in zip(rows0, rows1))  # time left: nothing was refreshed
    assert len(rows0) == len(REGISTERED)


def tshark_agrees(h: LmaAlone, name: str, raw: bytes, mh_type: int, status: int | None) -> None:
    if tool_missing("tshark"):
        return
    pcap = h.out / f"{name}.pcap"
    wrpcap(str(pcap), [Ether(raw)])
    (row,) = mh_rows(pcap)
    assert row.mh_type == mh_type
    if mh_type == 6:
        assert row.ba_status == status


def icmp_agrees(h: LmaAlone, name: str, raw: bytes, sent: bytes, pointer: int) -> None:
    """RFC 4443 §3.4 as scapy (and tshark, where installed) read it: type 4 code 0, the pointer,
    the invoking packet whole, a checksum that verifies, from the LMA to the sender."""
    from scapy.layers.inet6 import ICMPv6ParamProblem, IPv6
    pkt = Ether(raw)
    pp = pkt[ICMPv6ParamProblem]
    assert (pp.type, pp.code, pp.ptr) == (4, 0, pointer)
    assert pkt[IPv6].src == str(LMA) and pkt[IPv6].dst == str(MAG1)
    assert bytes(pp.payload) == sent[14:]  # the whole invoking IPv6 packet (it fits 1280)
    again = Ether(raw)
    del again[ICMPv6ParamProblem].cksum
    assert Ether(bytes(again))[ICMPv6ParamProblem].cksum == pp.cksum
    if tool_missing("tshark"):
        return
    pcap = h.out / f"{name}.pcap"
    wrpcap(str(pcap), [pkt])
    res = subprocess.run(["tshark", "-n", "-r", str(pcap), "-T", "fields", "-e", "icmpv6.type", "-e", "icmpv6.code", "-e", "icmpv6.pointer",
                          "-e", "icmpv6.checksum.status"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    typ, code, ptr, status = (res.stdout.strip().split("\t") + [""] * 4)[:4]
    assert (int(typ), int(code), int(ptr)) == (4, 0, pointer) and status == "1"  # 1: the checksum is good


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_signaling_gets_the_rfc_answer_and_changes_nothing(lma, case):
    build, kind, want = CASES[case]
    h = lma
    before = h.snapshot()
    m0 = h.metrics()
    counter = f'p4mob_core_events_total{{counter="{want}"}}'
    pba_sample = f'p4mob_pba_sent_total{{status="{want}"}}'
    h.drain()
    t = time.time()
    sent = build(h)
    h.send(sent)
    if kind == SILENT:
        if want == "mh_undecodable":
            ev = h.wait_event("mh_undecodable", since=t)
            assert ev["error"].startswith("Mh"), ev
        ev = h.wait_event("core", since=t, where=lambda e: e.get("counter") == want)
        assert h.answers(NO_ANSWER_WINDOW) == []  # silently discarded
    elif kind == ICMP:
        (raw,) = h.icmp_answers(10)
        icmp_agrees(h, case, raw, sent, want)
        h.wait_event("mh_undecodable", since=t)
        assert h.wait_event("core", since=t, where=lambda e: e.get("counter") == "icmp_parameter_problems_sent")
        assert h.answers(NO_ANSWER_WINDOW) == []  # and no Mobility Header answers it
        counter = 'p4mob_core_events_total{counter="icmp_parameter_problems_sent"}'
    else:
        got = h.answers(10)
        assert len(got) == 1, f"expected one answer, got {got}"
        raw, msg = got[0]
        if kind == BE:
            assert isinstance(msg, BindingError) and msg.status == want
            assert h.wait_event("core", since=t, where=lambda e: e.get("counter") == "binding_errors_sent")
            tshark_agrees(h, case, raw, 7, None)
            counter = 'p4mob_core_events_total{counter="binding_errors_sent"}'
        else:
            assert isinstance(msg, BindingAck) and msg.proxy and msg.status == want and msg.lifetime == 0
            ev = h.wait_event("pba_tx", since=t, where=lambda e: e.get("status") == want)
            assert h.wait_event("core", since=t, where=lambda e: e.get("status") == want)  # why, in words
            if want == 156:  # §5.5: the LMA's own time, for the MAG to resync
                assert abs(msg.option(Timestamp).seconds - time.time()) < 60
            tshark_agrees(h, case, raw, 6, want)
            counter = pba_sample
    metric_moves_to(h, counter, m0.get(counter, 0.0) + 1)
    if kind == ICMP or (kind == SILENT and want == "mh_undecodable"):
        metric_moves_to(h, "p4mob_mh_discarded_total", m0.get("p4mob_mh_discarded_total", 0.0) + 1)
    same_state(before, h.snapshot())


def test_rfc6275_6_2_1_unknown_option_is_skipped_and_the_pbu_accepted(lma):
    h = lma
    h.drain()
    h.send(frame(mh_bytes(_unknown_option_pbu("mn5", 3))))
    (raw, pba), = h.answers(10)
    assert isinstance(pba, BindingAck) and pba.status == 0
    h.drain()  # de-register it again: the other tests count three bindings
    h.send(frame(mh_bytes(pbu("mn5", 4, lifetime=0, hi=1, hnps=((str(pba.option(HomeNetworkPrefix).prefix), 64),)))))
    (_, bye), = h.answers(10)
    assert bye.status == 0 and bye.lifetime == 0
    h.wait_event("BindingDeleted", since=time.time() - 30, timeout=30,
                 where=lambda e: e.get("mn_id") == "mn5")


def test_rfc5213_5_5_replayed_pbu_is_157_and_changes_nothing(lma):
    """The same PBU twice (a refresh, then its exact bytes again within TimestampValidityWindow):
    the replay's Timestamp is not newer than the one the BCE holds -> 157."""
    h = lma
    prefix = str(h.registration["mn1"][1].network_address)
    f = frame(mh_bytes(pbu("mn1", 2, hi=5, hnps=((prefix, 64),))))
    h.drain()
    h.send(f)
    (_, ok), = h.answers(10)
    assert ok.status == 0
    before = h.snapshot()
    m0 = h.metrics()
    h.drain()
    h.send(f)
    (raw, again), = h.answers(10)
    assert isinstance(again, BindingAck) and again.status == 157 and again.sequence == 2
    tshark_agrees(h, "replay", raw, 6, 157)
    sample = 'p4mob_pba_sent_total{status="157"}'
    metric_moves_to(h, sample, m0.get(sample, 0.0) + 1)
    same_state(before, h.snapshot())


def test_flood_from_one_source_is_dropped_counted_logged_rarely_and_changes_nothing(lma):
    h = lma
    before = h.snapshot()
    m0 = h.metrics()
    sample = 'p4mob_core_events_total{counter="pbu_rate_limited"}'
    t = time.time()
    n = 10 * FLOOD_LIMIT
    f = frame(mh_bytes(pbu("stranger", 5), MAG2), MAG2)  # each would be answered 153
    h.drain()
    for _ in range(n):  # ~10x the limit within about a second (paced: bmv2 drops a burst at its input)
        h.send(f)
        time.sleep(0.002)
    # every PBU that reached the node (a switch may lose some of a burst at its input) is
    # either answered (153) or counted as rate limited, once the node has handled them all
    rx, answered = "p4mob_pbu_received_total", 'p4mob_pba_sent_total{status="153"}'
    deadline = time.monotonic() + 20
    while True:
        m = h.metrics()
        got, limited, ok = (m.get(k, 0.0) - m0.get(k, 0.0) for k in (rx, sample, answered))
        if got == limited + ok and limited > 0:
            break
        assert time.monotonic() < deadline, f"{got} PBUs received, {limited} rate limited, {ok} answered"
        time.sleep(0.1)
    elapsed = time.time() - t  # the node handled the flood within this many seconds
    assert got <= n and 0 < ok <= FLOOD_LIMIT * (int(elapsed) + 1)  # at most FLOOD_LIMIT a second
    wire = h.answers(5, count=int(ok))
    assert len(wire) == ok and all(msg.status == 153 for _, msg in wire)
    lines = [e for e in h.events("core", since=t) if e.get("counter") == "pbu_rate_limited"]
    assert 1 <= len(lines) <= int(elapsed) + 1  # at most one a second, not one per PBU
    assert lines[0]["src"] == str(MAG2) and sum(e["dropped"] for e in lines) <= limited
    # MAG1 is not limited by MAG2's flood
    h.drain()
    h.send(frame(mh_bytes(pbu("stranger", 6))))
    (_, msg), = h.answers(10)
    assert msg.status == 153
    same_state(before, h.snapshot())


def test_rfc5213_5_5_sequence_mode_out_of_window_is_135_with_the_last_accepted(lma):
    """With timestamps off (§9.3 TimestampBasedApproachInUse = 0) the node restarts, restores
    its bindings from its store, and answers an old sequence number with 135 and the last
    accepted one (§5.5, RFC 6275 §9.5.1)."""
    h = lma
    h.restart_node(timestamp_based_approach_in_use=False)
    try:
        before = h.snapshot()
        prefix = str(h.registration["mn0"][1].network_address)
        m0 = h.metrics()
        for seq in (1, 0, 0x8001):  # the registration's, an older one, one more than half the space away
            h.drain()
            h.send(frame(mh_bytes(pbu("mn0", seq, hi=5, hnps=((prefix, 64),)))))
            (_, msg), = h.answers(10)
            assert msg.status == 135 and msg.sequence == 1
        sample = 'p4mob_pba_sent_total{status="135"}'
        metric_moves_to(h, sample, m0.get(sample, 0.0) + 3)
        same_state(before, h.snapshot())
    finally:
        h.restart_node()


def written_in_log(h: LmaAlone) -> dict:
    """The table writes the node's debug lines report since its last start (entries_written)."""
    events = h.events()
    start = max((i for i, e in enumerate(events) if e["event"] == "node_start"), default=0)
    sizes = [e["updates"] for e in events[start:] if e["event"] == "entries_written"]
    return {"batches": len(sizes), "updates": sum(sizes), "largest": max(sizes, default=0)}


def test_status_counts_the_table_writes_a_registration_makes(lma):
    """`status` "written": the batches of table writes and their updates since the node
    started (what bench_registrations reads at log level info), as its debug lines say; a
    registration adds entries an independent P4Runtime client sees."""
    h = lma
    entries0 = len(h.snapshot()[0])
    h.drain()
    h.send(frame(mh_bytes(pbu("mn6", 1))))
    (_, pba), = h.answers(10)
    assert pba.status == 0
    assert len(h.snapshot()[0]) > entries0
    written = h.control({"cmd": "status"})["written"]
    assert written == written_in_log(h)
    h.drain()  # de-register it again: the other tests count three bindings
    h.send(frame(mh_bytes(pbu("mn6", 2, lifetime=0, hi=1, hnps=((str(pba.option(HomeNetworkPrefix).prefix), 64),)))))
    (_, bye), = h.answers(10)
    assert bye.status == 0 and bye.lifetime == 0
    h.wait_event("BindingDeleted", since=time.time() - 30, timeout=30, where=lambda e: e.get("mn_id") == "mn6")
    assert h.control({"cmd": "status"})["written"] == written_in_log(h)
