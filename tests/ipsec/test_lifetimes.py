"""SA lifetimes (RFC 4301 §4.4.2.1) and sequence overflow (RFC 4303 §3.3.3).

Time is injected: tests step ``now`` by hand; nothing sleeps.
"""
from __future__ import annotations

import pytest

from p4mobility.ipsec import (Dropped, Lifetime, Protected, RekeyHard, RekeySoft, SaExpired,
                              SequenceOverflow, SequenceOverflowEvent)

from .conftest import bu_packet, path_pair


def test_rfc4301_4_4_2_1_packet_soft_then_hard():
    path, out, _ = path_pair(lifetime=Lifetime(packet_soft=2, packet_hard=3))
    r1 = path.process_outbound(bu_packet(), out, 0.0)
    r2 = path.process_outbound(bu_packet(), out, 0.0)
    r3 = path.process_outbound(bu_packet(), out, 0.0)
    r4 = path.process_outbound(bu_packet(), out, 0.0)
    assert r1.events == ()
    assert r2.events == (RekeySoft(out, 0x1000, 1, "packets"),)
    assert isinstance(r3, Protected) and r3.events == (RekeyHard(out, 0x1000, 1, "packets"),)
    assert isinstance(r4, Dropped) and r4.reason is SaExpired and r4.events == ()
    assert path.sad.get(out).counters.expired_drops == 1


def test_rfc4301_4_4_2_1_byte_lifetimes_count_payload():
    pkt = bu_packet()
    payload_len = len(pkt) - 40 - 24  # BU after IPv6 + DestOpt(HAO)
    path, out, _ = path_pair(lifetime=Lifetime(byte_soft=payload_len + 1, byte_hard=3 * payload_len))
    events = [path.process_outbound(pkt, out, 0.0).events for _ in range(3)]
    assert events[0] == ()
    assert events[1] == (RekeySoft(out, 0x1000, 1, "bytes"),)
    assert events[2] == (RekeyHard(out, 0x1000, 1, "bytes"),)
    assert path.sad.get(out).counters.bytes == 3 * payload_len


def test_rfc4301_4_4_2_1_inbound_hard_lifetime_drops():
    path, out, inb = path_pair(lifetime=Lifetime(packet_hard=1))
    w1 = path.process_outbound(bu_packet(), out, 0.0).packet
    # outbound SA is now dead too; make a second packet from a fresh pair
    path2, out2, _ = path_pair(lifetime=Lifetime(packet_hard=5))
    w2 = [path2.process_outbound(bu_packet(), out2, 0.0).packet for _ in range(2)][1]
    assert path.process_inbound(w1, inb, 0.0).events == (RekeyHard(inb, 0x1000, 1, "packets"),)
    assert path.process_inbound(w2, inb, 0.0).reason is SaExpired


def test_rfc4301_4_4_2_1_time_lifetimes_by_timer():
    path, out, inb = path_pair(lifetime=Lifetime(time_soft=30, time_hard=60))
    assert path.next_deadline() == 30
    assert path.handle_timer(29.9) == []
    soft = path.handle_timer(30.0)
    assert sorted(type(e).__name__ for e in soft) == ["RekeySoft", "RekeySoft"]
    assert all(e.reason == "time" for e in soft)
    assert path.next_deadline() == 60
    assert isinstance(path.process_outbound(bu_packet(), out, 45.0), Protected)
    hard = path.handle_timer(60.0)
    assert {e.sa_index for e in hard} == {out, inb} and all(isinstance(e, RekeyHard) for e in hard)
    assert path.next_deadline() is None
    assert path.process_outbound(bu_packet(), out, 61.0).reason is SaExpired


def test_rfc4301_4_4_2_1_time_hard_seen_by_a_packet_without_timer():
    path, out, _ = path_pair(lifetime=Lifetime(time_hard=10))
    r = path.process_outbound(bu_packet(), out, 10.0)
    assert r.reason is SaExpired and r.events == (RekeyHard(out, 0x1000, 1, "time"),)


@pytest.mark.parametrize("esn,last", [(False, (1 << 32) - 1), (True, (1 << 64) - 1)])
def test_rfc4303_3_3_3_sequence_overflow_forces_rekey_not_wrap(esn, last):
    path, out, inb = path_pair(esn=esn, oseq=last - 1)
    ok = path.process_outbound(bu_packet(), out, 0.0)
    assert isinstance(ok, Protected) and ok.seq == last
    r = path.process_outbound(bu_packet(), out, 0.0)
    assert isinstance(r, Dropped) and r.reason is SequenceOverflow
    assert r.events == (SequenceOverflowEvent(out, 0x1000, 1), RekeyHard(out, 0x1000, 1, "sequence"))
    again = path.process_outbound(bu_packet(), out, 0.0)
    assert isinstance(again, Dropped) and again.events == ()  # reported once
    assert path.sad.get(out).oseq == last  # never wrapped


def test_rfc4303_2_2_1_esn_packets_cross_2_32():
    path, out, inb = path_pair(esn=True, oseq=(1 << 32) - 2)
    wires = [path.process_outbound(bu_packet(), out, 0.0) for _ in range(3)]
    assert [w.seq for w in wires] == [(1 << 32) - 1, 1 << 32, (1 << 32) + 1]
    path.sad.get(inb).window.update((1 << 32) - 10)
    got = [path.process_inbound(w.packet, inb, 0.0) for w in wires]
    assert [g.seq for g in got] == [w.seq for w in wires]
