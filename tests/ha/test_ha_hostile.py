"""The home agent core against a flood of Binding Updates from one source (issue 14):
past ``max_bus_per_second_per_source`` a source's BUs are dropped before any check,
counted, logged at most once a second; other sources and the bindings are untouched.
(Malformed MH, unknown MH Type, 135, SA mismatches: test_rfc6275_home_registration.py,
test_rfc3776_sa.py, test_rfc6275_other_messages.py.)"""
from __future__ import annotations

import pytest

from p4mobility.binding import LogEvent
from p4mobility.ha.config import ConfigError, HaConfig

from tests.ha.ha_helpers import COA, COA2, HOA, HOA2, NAT4, bu, config, from_coa, make_ha, of, over_udp, sent


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
