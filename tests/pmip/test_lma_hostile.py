"""The LMA core against hostile signaling (RFC 6275 §9.2, §9.3.3, §6.2.1; RFC 5213 §5.3):
an MH that does not decode, a flood from one source, unknown options, a replayed PBU.
Each answer is the RFC's (a Binding Error, a PBA status, or nothing), counted in
``core.counters``, and no binding changes. The decode errors are the codec's own,
raised by ``decode_mh`` on crafted bytes."""
from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest
from p4mobility.mh import (BaStatus, BindingError, MhDecodeError, UnknownOption, decode_mh, encode_mh)
from p4mobility.pmip import ConfigError, LmaConfig, LogEvent, MhUndecodable, SendMh

from tests.pmip.pmip_helpers import LMAA, MAG1, MAG2, T0, make_lma, of, pbu, rx, the


def decode_error(mh: bytes, src=MAG1, dst=LMAA) -> MhDecodeError:
    try:
        decode_mh(mh, src, dst)
    except MhDecodeError as exc:
        return exc
    raise AssertionError("decoded")


def with_checksum(mh: bytearray, src=MAG1, dst=LMAA) -> bytes:
    from p4mobility.mh import checksum
    mh[4:6] = b"\0\0"
    mh[4:6] = struct.pack("!H", checksum(src, dst, bytes(mh)))
    return bytes(mh)


def good_pbu_bytes(**kw) -> bytearray:
    return bytearray(encode_mh(pbu(**kw), MAG1, LMAA))


def unknown_type() -> MhDecodeError:
    mh = good_pbu_bytes()
    mh[2] = 200  # no such MH Type
    return decode_error(with_checksum(mh))


def bad_checksum() -> MhDecodeError:
    mh = good_pbu_bytes()
    mh[4] ^= 0xFF
    return decode_error(bytes(mh))


def option_overrun() -> MhDecodeError:
    mh = good_pbu_bytes()
    mh[13] = 250  # the first option's (MN-ID's) Length runs past the message
    return decode_error(with_checksum(mh))


def payload_proto() -> MhDecodeError:
    mh = good_pbu_bytes()
    mh[0] = 6
    return decode_error(with_checksum(mh))


def header_len_short() -> MhDecodeError:
    mh = bytearray(8)
    mh[:4] = bytes([59, 0, 5, 0])  # a BU needs 12 bytes of fixed part: Header Len 0 is too short
    return decode_error(with_checksum(mh))


def undecodable(err, src=MAG1) -> MhUndecodable:
    return MhUndecodable(err, src, LMAA)


def registered(lma, mn=b"mn1"):
    out = lma.handle(rx(pbu(mn)), T0)
    assert the(out, SendMh).message.status == 0
    return lma.bindings()


def test_rfc6275_9_2_unknown_mh_type_gets_binding_error_status_2(lma):
    before = registered(lma)
    out = lma.handle(undecodable(unknown_type()), T0)
    send = the(out, SendMh)
    assert isinstance(send.message, BindingError) and send.message.status == 2
    assert send.message.home_address == IPv6Address(0)  # no Home Address option in PMIPv6
    assert (send.src, send.dst) == (LMAA, MAG1)
    assert lma.counters["binding_errors_sent"] == 1
    assert lma.bindings() == before


def test_rfc6275_9_3_3_binding_errors_are_rate_limited(lma):
    err = unknown_type()
    sent = sum(len(of(lma.handle(undecodable(err), T0), SendMh)) for _ in range(50))
    assert sent == lma.config.max_binding_errors_per_second == 10  # the burst, then nothing
    assert lma.counters["binding_errors_rate_limited"] == 40
    assert len(of(lma.handle(undecodable(err), T0 + 0.15), SendMh)) == 1  # 1 token per 1/rate s
    assert of(lma.handle(undecodable(err), T0 + 0.15), SendMh) == []


def test_rfc6275_9_3_3_no_binding_error_to_a_multicast_source(lma):
    out = lma.handle(undecodable(unknown_type(), src=IPv6Address("ff02::1")), T0)
    assert of(out, SendMh) == [] and of(out, LogEvent)
    assert lma.counters["binding_errors_not_sent"] == 1


@pytest.mark.parametrize("make,action", [
    (bad_checksum, "silent_discard"),
    (option_overrun, "silent_discard"),
    (payload_proto, "icmp_parameter_problem"),
    (header_len_short, "icmp_parameter_problem"),
])
def test_rfc6275_9_2_other_decode_failures_are_discarded_and_counted(lma, make, action):
    before = registered(lma)
    err = make()
    assert err.action == action
    out = lma.handle(undecodable(err), T0)
    assert of(out, SendMh) == []
    log = the(out, LogEvent)
    assert log.fields["counter"] == "mh_undecodable" and log.fields["action"] == action
    assert lma.counters == {"mh_undecodable": 1}
    assert lma.bindings() == before


def test_flood_from_one_source_is_dropped_past_the_limit_and_logged_once_a_second():
    lma = make_lma(max_pbus_per_second_per_mag=5)
    before = registered(lma)  # 1 of MAG1's 5 in this second
    outs = [lma.handle(rx(pbu(b"mn2", seq=i)), T0) for i in range(2, 40)]
    answered = [o for o in outs if of(o, SendMh)]
    assert len(answered) == 4
    assert lma.counters["pbu_rate_limited"] == 34
    logs = [a for o in outs for a in of(o, LogEvent) if a.fields.get("counter") == "pbu_rate_limited"]
    assert len(logs) == 1 and logs[0].fields["src"] == str(MAG1)  # not one per dropped PBU
    assert {b.binding_id for b in lma.bindings()} >= {b.binding_id for b in before}
    # another source is not limited by MAG1's flood
    assert the(lma.handle(rx(pbu(b"static"), src=MAG2), T0), SendMh).message.status == 0
    # a second later MAG1 is heard again; its next flood's log line counts what was dropped since
    assert of(lma.handle(rx(pbu(b"mn2", seq=100)), T0 + 1.0), SendMh)
    outs = [lma.handle(rx(pbu(b"mn2", seq=101 + i)), T0 + 1.5) for i in range(5)]
    assert [bool(of(o, SendMh)) for o in outs] == [True] * 4 + [False]
    assert the(outs[-1], LogEvent).fields["dropped"] == 34


def test_flood_limit_zero_means_no_limit():
    lma = make_lma(max_pbus_per_second_per_mag=0)
    outs = [lma.handle(rx(pbu(b"mn1", seq=i)), T0) for i in range(1, 200)]
    assert all(of(o, SendMh) for o in outs)
    assert "pbu_rate_limited" not in lma.counters


def test_rfc6275_6_2_1_unknown_option_is_skipped(lma):
    msg = pbu()
    msg = type(msg)(msg.sequence, msg.lifetime_seconds // 4, ack=True, proxy=True,
                    options=msg.options + (UnknownOption(200, b"\x01\x02\x03"),))
    decoded = decode_mh(encode_mh(msg, MAG1, LMAA), MAG1, LMAA)
    assert any(isinstance(o, UnknownOption) for o in decoded.options)
    send = the(lma.handle(rx(decoded), T0), SendMh)
    assert send.message.status == BaStatus.ACCEPTED


def test_rfc5213_5_5_replayed_registration_is_157_and_changes_nothing(lma):
    first = pbu(seq=9)
    lma.handle(rx(first), T0)
    before = lma.bindings()
    send = the(lma.handle(rx(first), T0 + 0.1), SendMh)  # the same bytes again, within the window
    assert send.message.status == BaStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert lma.bindings() == before


@pytest.mark.parametrize("msg,counter", [
    (lambda: pbu(proxy=False), "bu_not_proxy"),
])
def test_ignored_pbus_are_counted(lma, msg, counter):
    out = lma.handle(rx(msg()), T0)
    assert of(out, SendMh) == [] and the(out, LogEvent).fields["counter"] == counter
    assert lma.counters[counter] == 1


def test_config_keys_for_hostile_input():
    cfg = LmaConfig.from_dict({"lma_address": str(LMAA), "max_binding_errors_per_second": 2,
                               "max_pbus_per_second_per_mag": 0})
    assert (cfg.max_binding_errors_per_second, cfg.max_pbus_per_second_per_mag) == (2.0, 0)
    with pytest.raises(ConfigError, match="max_pbus_per_second_per_mag"):
        LmaConfig.from_dict({"lma_address": str(LMAA), "max_pbus_per_second_per_mag": -1})
    with pytest.raises(ConfigError, match="max_binding_errors_per_second"):
        LmaConfig.from_dict({"lma_address": str(LMAA), "max_binding_errors_per_second": 0})


def test_rfc5213_5_a_known_mh_other_than_a_bu_is_discarded_and_counted(lma):
    from p4mobility.mh import BindingRefreshRequest
    from p4mobility.pmip import OtherMhReceived
    before = registered(lma)
    out = lma.handle(OtherMhReceived(BindingRefreshRequest(), MAG1, LMAA), T0)
    assert of(out, SendMh) == [] and the(out, LogEvent).fields["counter"] == "mh_not_handled"
    assert lma.counters == {"mh_not_handled": 1} and lma.bindings() == before


def test_flood_state_stays_bounded_under_many_spoofed_sources():
    """Every PBU from another source (a spoofer): the per-source state is pruned once a
    second, so it holds at most two seconds of sources, and each check stays O(1)."""
    from p4mobility.binding.ratelimit import FloodGate
    gate = FloodGate(5)
    for i in range(20000):
        assert gate.check(("src", i), T0 + i * 0.001) == (True, None)
    assert len(gate._times) <= 2 * 1000 + 1  # two windows of sources at most (1000 a window here)


def _packet_around(mh: bytes, src=MAG1, dst=LMAA) -> bytes:
    return struct.pack("!IHBB", 0x60000000, len(mh), 135, 64) + src.packed + dst.packed + mh


@pytest.mark.parametrize("mutate,pointer", [
    (lambda mh: mh.__setitem__(0, 6), 40 + 0),  # Payload Proto
    (lambda mh: mh.extend(bytes(8)), 40 + 1),  # Header Len disagrees with the bytes present
])
def test_rfc6275_9_2_payload_proto_or_header_len_gets_icmp_parameter_problem(lma, mutate, pointer):
    from p4mobility.pmip import SendIcmpParameterProblem
    mh = good_pbu_bytes()
    mutate(mh)
    mh = with_checksum(mh)
    packet = _packet_around(mh)
    out = lma.handle(MhUndecodable(decode_error(mh), MAG1, LMAA, packet, 40), T0)
    icmp = the(out, SendIcmpParameterProblem)
    assert (icmp.code, icmp.pointer, icmp.invoking, icmp.src, icmp.dst) == (0, pointer, packet, LMAA, MAG1)
    assert lma.counters == {"mh_undecodable": 1, "icmp_parameter_problems_sent": 1}
    assert of(out, SendMh) == []


def test_an_undecodable_mh_that_came_in_esp_gets_no_icmp_quoting_it_in_the_clear(lma):
    from p4mobility.pmip import LogEvent, SendIcmpParameterProblem
    mh = good_pbu_bytes()
    mh[0] = 6  # Payload Proto: would get a Parameter Problem in the clear
    mh = with_checksum(mh)
    out = lma.handle(MhUndecodable(decode_error(mh), MAG1, LMAA, _packet_around(mh), 40, in_esp=True), T0)
    assert of(out, SendIcmpParameterProblem) == [] and of(out, SendMh) == []
    assert "ESP" in the(out, LogEvent).fields["icmp_not_sent"]
    assert lma.counters == {"mh_undecodable": 1}


def test_rfc4443_2_4_icmp_errors_rate_limited_never_about_multicast_and_cut_to_the_minimum_mtu(lma):
    from p4mobility.pmip import SendIcmpParameterProblem
    mh = good_pbu_bytes()
    mh[0] = 6
    err = decode_error(with_checksum(mh))
    big = _packet_around(bytes(mh)) + bytes(2000)
    sent = [the(lma.handle(MhUndecodable(err, MAG1, LMAA, big, 40), T0), SendIcmpParameterProblem)
            for _ in range(10)]
    assert all(len(s.invoking) == 1280 - 48 for s in sent)  # §2.4(c)
    assert of(lma.handle(MhUndecodable(err, MAG1, LMAA, big, 40), T0), SendIcmpParameterProblem) == []
    assert lma.counters["icmp_errors_rate_limited"] == 1
    fresh = make_lma()
    multicast = MhUndecodable(err, IPv6Address("ff02::1"), LMAA, big, 40)
    assert of(fresh.handle(multicast, T0), SendIcmpParameterProblem) == []  # §2.4(e)
