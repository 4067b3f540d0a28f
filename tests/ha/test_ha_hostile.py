"""The home agent core against hostile signaling (issue 14): a flood of Binding Updates
from one source (past ``max_bus_per_second_per_source`` a source's BUs are dropped
before any check, counted, logged at most once a second; other sources and the
bindings are untouched), and a Mobility Header with a bad Payload Proto or Header Len
(RFC 6275 §9.2: an ICMPv6 Parameter Problem pointing at the field, when it came in the
clear over IPv6). (Unknown MH Type, 135, SA mismatches: test_rfc6275_home_registration.py,
test_rfc3776_sa.py, test_rfc6275_other_messages.py.)"""
from __future__ import annotations

import pytest

import struct
from ipaddress import IPv6Address

from p4mobility.binding import LogEvent, SendMh
from p4mobility.ha import HaoPacketReceived, MhUndecodable, SendIcmpParameterProblem
from p4mobility.ha.config import ConfigError, HaConfig
from p4mobility.mh import MhDecodeError, checksum, decode_mh, encode_mh
from p4mobility.mh.exthdr import HomeAddressOption, encode_destination_options_header

from tests.ha.ha_helpers import COA, COA2, HA, HOA, HOA2, NAT4, bu, config, from_coa, make_ha, of, over_udp, sent


def test_flood_of_bus_from_one_source_is_dropped_past_the_limit():
    ha = make_ha(max_bus_per_second_per_source=4)
    outs = [ha.handle(from_coa(bu(seq), COA, HOA), 100.0) for seq in range(1, 31)]
    assert [bool(sent(o)) for o in outs] == [True] * 4 + [False] * 26
    assert ha.counters["bu_rate_limited"] == 26
    lines = [a for o in outs for a in of(o, LogEvent) if a.fields.get("counter") == "bu_rate_limited"]
    assert len(lines) == 1 and lines[0].fields["src"] == str(COA)  # one line, not one per BU
    state = ha.state()
    # another source is heard; the flooding one again once its second has passed
    assert sent(ha.handle(from_coa(bu(1), COA2, HOA2), 100.0))
    assert sent(ha.handle(from_coa(bu(40), COA, HOA), 101.0))
    assert [b for b in ha.state() if b.binding_id == state[0].binding_id][0].sequence == 40


def test_flood_behind_a_nat_is_counted_by_its_outer_source():
    ha = make_ha(max_bus_per_second_per_source=2)
    outs = [ha.handle(over_udp(bu(seq), outer=(NAT4, 40000 + seq)), 100.0) for seq in range(1, 6)]
    assert [bool(sent(o)) for o in outs] == [True, True, False, False, False]


def test_flood_limit_zero_is_no_limit_and_config_checks_the_key():
    ha = make_ha(max_bus_per_second_per_source=0)
    assert all(sent(ha.handle(from_coa(bu(seq), COA, HOA), 100.0)) for seq in range(1, 100))
    assert config().max_bus_per_second_per_source == 10000
    with pytest.raises(ConfigError, match="max_bus_per_second_per_source"):
        HaConfig.from_dict({"ha_address": "2001:db8:1::1", "home_prefixes": ["2001:db8:1::/64"],
                            "max_bus_per_second_per_source": -1})


# --- RFC 6275 §9.2: Payload Proto / Header Len -> ICMPv6 Parameter Problem -------------------

MH_AT = 40 + 24  # IPv6 header, Destination Options header with the HAO (RFC 6275 §6.3)


def _bad_bu(mutate) -> tuple[MhDecodeError, bytes]:
    """(the decode error, the IPv6 packet CoA -> HA with HAO = HoA) of a BU changed by ``mutate``;
    the MH checksum (over HoA, HA: RFC 6275 §6.1.1) made to match again."""
    mh = bytearray(encode_mh(bu(7), HOA, HA))
    mutate(mh)
    mh[4:6] = b"\0\0"
    mh[4:6] = struct.pack("!H", checksum(HOA, HA, bytes(mh)))
    body = encode_destination_options_header(135, (HomeAddressOption(HOA),)) + bytes(mh)
    packet = struct.pack("!IHBB", 0x60000000, len(body), 60, 64) + COA.packed + HA.packed + body
    try:
        decode_mh(bytes(mh), HOA, HA)
    except MhDecodeError as exc:
        return exc, packet
    raise AssertionError("the mutated BU decoded")


def _payload_proto(mh):
    mh[0] = 6


def _bytes_past_header_len(mh):
    mh.extend(bytes(8))


@pytest.mark.parametrize("mutate,pointer", [(_payload_proto, MH_AT + 0), (_bytes_past_header_len, MH_AT + 1)])
def test_rfc6275_9_2_clear_mh_with_bad_payload_proto_or_header_len_gets_icmp_parameter_problem(mutate, pointer):
    ha = make_ha()
    err, packet = _bad_bu(mutate)
    out = ha.handle(MhUndecodable(err, COA, HA, HOA, packet, MH_AT), 1.0)
    (icmp,) = of(out, SendIcmpParameterProblem)
    # RFC 4443 §3.4: code 0, the pointer into the invoking packet, to its IPv6 Source (the CoA)
    assert (icmp.code, icmp.pointer, icmp.invoking, icmp.src, icmp.dst) == (0, pointer, packet, HA, COA)
    assert ha.counters == {"undecodable": 1, "icmp_parameter_problems_sent": 1}
    assert of(out, SendMh) == [] and ha.state() == ()
    (line,) = [a for a in of(out, LogEvent) if a.fields.get("counter") == "undecodable"]
    assert line.fields["action"] == "icmp_parameter_problem" and line.fields["src"] == str(COA)


def test_rfc6275_9_2_no_parameter_problem_about_an_mh_that_came_in_esp_or_udp_4191():
    err, packet = _bad_bu(_payload_proto)
    ha = make_ha()
    out = ha.handle(MhUndecodable(err, COA, HA, HOA, packet, MH_AT, in_esp=True), 1.0)
    assert of(out, SendIcmpParameterProblem) == [] and ha.counters == {"undecodable": 1}
    assert "ESP" in of(out, LogEvent)[0].fields["icmp_not_sent"]
    out = ha.handle(MhUndecodable(err, HOA, HA, None, packet, 40, outer_v4=(NAT4, 40000)), 1.0)
    assert of(out, SendIcmpParameterProblem) == [] and ha.counters == {"undecodable": 2}


def test_rfc4443_2_4_icmp_errors_share_the_binding_errors_bucket_and_skip_multicast():
    ha = make_ha(max_binding_errors_per_second=2.0)
    err, packet = _bad_bu(_payload_proto)
    assert of(ha.handle(HaoPacketReceived(COA2, HA, HOA2), 0.0), SendMh)  # one token for a Binding Error
    assert of(ha.handle(MhUndecodable(err, COA, HA, HOA, packet, MH_AT), 0.0), SendIcmpParameterProblem)
    assert of(ha.handle(MhUndecodable(err, COA, HA, HOA, packet, MH_AT), 0.0), SendIcmpParameterProblem) == []
    assert ha.counters["icmp_errors_rate_limited"] == 1  # RFC 4443 §2.4(f)
    multicast = MhUndecodable(err, IPv6Address("ff02::1"), HA, HOA, packet, MH_AT)
    assert of(make_ha().handle(multicast, 0.0), SendIcmpParameterProblem) == []  # §2.4(e)
    big = packet + bytes(2000)
    (icmp,) = of(make_ha().handle(MhUndecodable(err, COA, HA, HOA, big, MH_AT), 0.0), SendIcmpParameterProblem)
    assert len(icmp.invoking) == 1280 - 48  # §2.4(c)
