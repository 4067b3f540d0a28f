"""RFC 3776 §4.1, §4.3 (spec row 2): a BU counts only when the MN-HA ESP SA carried it, and an
MN may register only the home address its SA is bound to. Both checks come before any state
change and answer nothing (a BA would reach another MN's home address on its SA); each discard
is counted in a LogEvent."""
from __future__ import annotations

from p4mobility.binding import LogEvent
from p4mobility.ha import SendBindingAck

from tests.ha.ha_helpers import COA, COA2, HOA, HOA2, bu, from_coa, make_ha, of, only, over_udp, v4req


def test_rfc3776_4_1_unprotected_bu_silently_discarded_and_counted():
    ha = make_ha()
    for i in (1, 2):
        actions = ha.handle(from_coa(bu(i), sa=None), float(i))
        assert of(actions, SendBindingAck) == [] and ha.state() == ()
        log = only(actions, LogEvent)
        assert log.fields["counter"] == "unprotected" and log.fields["count"] == i
    assert ha.counters == {"unprotected": 2}


def test_rfc3776_4_3_bu_for_another_mns_home_address_changes_nothing():
    """MN 2 (SA bound to HOA2) sends a BU naming HOA (MN 1's) in its HAO, from its own CoA:
    it must not move MN 1's binding, create one, or even answer."""
    ha = make_ha()
    ha.handle(from_coa(bu(1)), 0.0)
    before = ha.state(), ha.tunnel_peers()
    actions = ha.handle(from_coa(bu(2), COA2, HOA, sa=HOA2), 1.0)
    assert (ha.state(), ha.tunnel_peers()) == before
    assert of(actions, SendBindingAck) == []
    assert only(actions, LogEvent).fields["counter"] == "sa_home_address_mismatch"
    # also a de-registration, and a first registration for an address without a binding
    assert of(ha.handle(from_coa(bu(3, 0), COA2, HOA, sa=HOA2), 2.0), SendBindingAck) == []
    ha.handle(from_coa(bu(1), COA2, HOA2, sa=HOA), 3.0)
    assert (ha.state(), ha.tunnel_peers()) == before and ha.counters["sa_home_address_mismatch"] == 3


def test_rfc3776_4_3_the_check_comes_before_the_sequence_number_row():
    """A replayed or spoofed number on the wrong SA is discarded, not answered with 135."""
    ha = make_ha()
    ha.handle(from_coa(bu(5)), 0.0)
    assert of(ha.handle(from_coa(bu(5), sa=HOA2), 1.0), SendBindingAck) == []


def test_rfc3776_dsmipv6_bu_in_udp_on_the_wrong_sa_is_discarded_too():
    ha = make_ha()
    before = ha.state()
    actions = ha.handle(over_udp(bu(1, 100, v4req()), sa=HOA2), 0.0)
    assert of(actions, SendBindingAck) == [] and ha.state() == before
    assert ha.pool.free_count() == 254  # no IPv4 home address handed out


def test_rfc3776_matching_sa_is_accepted():
    ha = make_ha()
    ha.handle(from_coa(bu(1), COA), 0.0)
    assert ha.binding_for(HOA).careofs[0].coa == COA and ha.counters == {}
