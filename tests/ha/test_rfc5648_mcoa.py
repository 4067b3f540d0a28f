"""RFC 5648 at the home agent: one path per Binding ID, single and bulk registrations, the
per-BID Status in the BA's BID options (a non-zero one overrides the BA status, §6.1; partial
success = 4 MCOA NOTCOMPLETE), de-registration of one BID or of all, per-BID lifetimes, and
the 164-169 refusals (§5.2, §6.2)."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from p4mobility.binding import BindingCreated, BindingDeleted, BindingMoved, TunnelPeerAdded, TunnelPeerRemoved
from p4mobility.ha import SendBindingAck
from p4mobility.mh import BaStatus, BindingIdentifier

from tests.ha.ha_helpers import (
    COA,
    COA2,
    COA3,
    HOA,
    HOA2,
    PRIV4,
    ba_of,
    bid,
    bu,
    from_coa,
    make_ha,
    of,
    only,
    over_udp,
)

HOA9 = IPv6Address("2001:db8:1::900")


def statuses(ba) -> dict[int, int]:
    return {o.bid: o.status for o in ba.options_of(BindingIdentifier)}


def two_bids(ha, t=0.0):
    ha.handle(from_coa(bu(1, 100, bid(1)), COA), t)
    return ha.handle(from_coa(bu(2, 100, bid(2)), COA2), t)


def test_rfc5648_5_2_single_registrations_add_one_path_per_bid():
    ha = make_ha()
    first = ha.handle(from_coa(bu(1, 100, bid(1)), COA), 0.0)
    assert only(first, BindingCreated).paths[0].bid == 1
    ba, _ = ba_of(first)
    assert ba.status == 0 and statuses(ba) == {1: 0}
    second = ha.handle(from_coa(bu(2, 100, bid(2)), COA2), 1.0)
    assert [type(a) for a in second] == [TunnelPeerAdded, BindingMoved, SendBindingAck]
    moved = only(second, BindingMoved)
    assert [(p.bid, p.coa) for p in moved.paths] == [(1, COA), (2, COA2)] and len(moved.old_paths) == 1
    assert [c.coa for c in ha.binding_for(HOA).careofs] == [COA, COA2]


def test_rfc5648_4_3_bulk_registration_registers_every_bid_option():
    ha = make_ha()
    actions = ha.handle(from_coa(bu(1, 100, bid(1), bid(2, COA2), bid(3, COA3)), COA), 0.0)
    created = only(actions, BindingCreated)
    assert [(p.bid, p.coa) for p in created.paths] == [(1, COA), (2, COA2), (3, COA3)]
    assert len(of(actions, TunnelPeerAdded)) == 3 and len({p.tunnel_peer_id for p in created.paths}) == 3
    ba, act = ba_of(actions)
    assert ba.status == 0 and statuses(ba) == {1: 0, 2: 0, 3: 0} and act.route.dst == COA
    echoed = {o.bid: o.coa for o in ba.options_of(BindingIdentifier)}
    assert echoed == {1: None, 2: COA2, 3: COA3}


def test_rfc5648_6_1_partial_bulk_success_is_4_with_per_bid_status():
    ha = make_ha()
    bad6, bad4 = IPv6Address("fe80::9"), IPv4Address("198.51.100.99")
    actions = ha.handle(from_coa(bu(1, 100, bid(1), bid(2, bad6), bid(3, bad4), bid(4, COA3)), COA), 0.0)
    ba, _ = ba_of(actions)
    assert ba.status == BaStatus.MCOA_NOTCOMPLETE and ba.lifetime == 100
    assert statuses(ba) == {1: 0, 2: BaStatus.INVALID_CARE_OF_ADDRESS, 3: BaStatus.MCOA_UNKNOWN_COA, 4: 0}
    assert [p.bid for p in only(actions, BindingCreated).paths] == [1, 4]


def test_rfc5648_6_1_every_bid_refused_is_a_rejection_and_no_state():
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, bid(2, IPv6Address("ff02::1")), bid(3, IPv6Address("::1"))), COA),
                            0.0))
    assert ba.status == BaStatus.INVALID_CARE_OF_ADDRESS and ba.lifetime == 0 and ha.state() == ()


def test_rfc5648_5_2_deregistering_one_bid_keeps_the_others():
    ha = make_ha()
    two_bids(ha)
    ha.handle(from_coa(bu(3, 100, bid(3)), COA3), 2.0)
    actions = ha.handle(from_coa(bu(4, 0, bid(2)), COA, alt=False), 3.0)  # from another CoA
    assert [type(a) for a in actions] == [BindingMoved, TunnelPeerRemoved, SendBindingAck]
    assert [p.bid for p in only(actions, BindingMoved).paths] == [1, 3]
    assert only(actions, TunnelPeerRemoved).endpoints.remote == COA2
    ba, _ = ba_of(actions)
    assert (ba.status, ba.lifetime) == (0, 0) and statuses(ba) == {2: 0}
    assert [c.bid for c in ha.binding_for(HOA).careofs] == [1, 3]


def test_rfc5648_5_2_deregistering_the_last_bids_deletes_the_binding():
    ha = make_ha()
    two_bids(ha)
    actions = ha.handle(from_coa(bu(3, 0, bid(1), bid(2)), COA, alt=False), 3.0)
    assert only(actions, BindingDeleted).reason == "deregistered" and len(of(actions, TunnelPeerRemoved)) == 2
    assert ha.state() == () and ha.tunnel_peers() == []


def test_rfc5648_5_2_lifetime_zero_without_bid_option_removes_every_binding():
    ha = make_ha()
    two_bids(ha)
    actions = ha.handle(from_coa(bu(3, 0), COA, alt=False), 3.0)
    assert only(actions, BindingDeleted) and ha.state() == ()


def test_rfc5648_unknown_bid_deregistration_gets_167_and_changes_nothing():
    ha = make_ha()
    two_bids(ha)
    before = ha.state()
    ba, _ = ba_of(ha.handle(from_coa(bu(3, 0, bid(9)), COA, alt=False), 3.0))
    assert ba.status == BaStatus.MCOA_UNKNOWN_COA and ha.state() == before
    actions = ha.handle(from_coa(bu(4, 0, bid(2), bid(9)), COA, alt=False), 4.0)
    ba, _ = ba_of(actions)
    assert ba.status == BaStatus.MCOA_NOTCOMPLETE and statuses(ba) == {2: 0, 9: BaStatus.MCOA_UNKNOWN_COA}
    assert [p.bid for p in only(actions, BindingMoved).paths] == [1]


def test_rfc5648_bids_belong_to_one_home_address_and_a_spoofed_one_moves_nothing():
    ha = make_ha()
    two_bids(ha)
    before = ha.binding_for(HOA)
    ha.handle(from_coa(bu(1, 100, bid(1)), COA3, HOA9), 5.0)  # the same BID, another MN
    assert ha.binding_for(HOA) == before and ha.binding_for(HOA9).paths[0].coa == COA3
    spoof = ha.handle(from_coa(bu(9, 100, bid(1)), COA3, HOA, sa=HOA9), 6.0)  # BID 1 of HOA on HOA9's SA
    assert of(spoof, SendBindingAck) == [] and ha.binding_for(HOA) == before


@pytest.mark.parametrize("opts", [
    (bid(0),),  # BID 0 is reserved
    (bid(1), bid(1, COA2)),  # a BID twice
    (bid(1), bid(2)),  # two BIDs both meaning "the BU's own CoA"
])
def test_rfc5648_5_2_malformed_bid_options_get_164(opts):
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, *opts), COA), 0.0))
    assert ba.status == BaStatus.MCOA_MALFORMED and ha.state() == ()


def test_rfc5648_5_2_bids_for_a_binding_without_them_get_165():
    ha = make_ha()
    ha.handle(from_coa(bu(1)), 0.0)
    before = ha.state()
    ba, _ = ba_of(ha.handle(from_coa(bu(2, 100, bid(1)), COA2), 1.0))
    assert ba.status == BaStatus.MCOA_NON_MCOA_BINDING_EXISTS and ha.state() == before


def test_rfc5648_5_2_a_bu_without_bid_replaces_all_bindings_by_one():
    ha = make_ha()
    two_bids(ha)
    actions = ha.handle(from_coa(bu(3), COA3), 1.0)
    moved = only(actions, BindingMoved)
    assert [(p.bid, p.coa) for p in moved.paths] == [(0, COA3)] and len(of(actions, TunnelPeerRemoved)) == 2


@pytest.mark.parametrize("over, hoa", [({"mcoa_enabled": False}, HOA), ({}, HOA2)])
def test_rfc5648_5_2_multiple_coas_off_get_166(over, hoa):
    ha = make_ha(**over)
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, bid(1)), COA, hoa), 0.0))
    assert ba.status == BaStatus.MCOA_PROHIBITED and ha.state() == ()


def test_rfc5648_4_3_bulk_registration_off_gets_168_single_still_works():
    ha = make_ha(mcoa_bulk_registration=False)
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, bid(1), bid(2, COA2)), COA), 0.0))
    assert ba.status == BaStatus.MCOA_BULK_REGISTRATION_PROHIBITED
    assert ba_of(ha.handle(from_coa(bu(2, 100, bid(1)), COA), 0.0))[0].status == 0


def test_rfc5648_4_6_h_flag_simultaneous_home_and_foreign_gets_169():
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, bid(1, h=True)), COA), 0.0))
    assert ba.status == BaStatus.MCOA_SIMULTANEOUS_HOME_AND_FOREIGN_PROHIBITED


def test_rfc5648_ipv4_coa_with_bid_over_udp_and_ipv6_bids_share_the_binding():
    ha = make_ha()
    ha.handle(from_coa(bu(1, 100, bid(1)), COA), 0.0)
    actions = ha.handle(over_udp(bu(2, 100, bid(2))), 1.0)
    paths = only(actions, BindingMoved).paths
    assert [(p.bid, p.endpoints.transport.value) for p in paths] == [(1, "ipv6"), (2, "udp_ipv4")]
    assert ha.binding_for(HOA).careof(2).coa == PRIV4


def test_rfc5648_5_each_bid_has_its_own_lifetime():
    ha = make_ha()
    ha.handle(from_coa(bu(1, 100, bid(1)), COA), 0.0)  # expires at 400
    ha.handle(from_coa(bu(2, 100, bid(2)), COA2), 200.0)  # expires at 600
    assert ha.next_deadline() == 400.0
    actions = ha.handle_timer(400.0)
    assert [type(a) for a in actions] == [BindingMoved, TunnelPeerRemoved]
    assert [p.bid for p in only(actions, BindingMoved).paths] == [2] and ha.binding_for(HOA).expires_at == 600.0
    actions = ha.handle_timer(600.0)
    assert only(actions, BindingDeleted).reason == "expired" and ha.tunnel_peers() == []


def test_rfc5648_care_of_addresses_per_home_address_are_bounded_130():
    ha = make_ha(max_care_of_addresses=2)
    two_bids(ha)
    before = ha.state()
    ba, _ = ba_of(ha.handle(from_coa(bu(3, 100, bid(3)), COA3), 1.0))
    assert ba.status == BaStatus.INSUFFICIENT_RESOURCES and ha.state() == before
    assert ba_of(ha.handle(from_coa(bu(4, 100, bid(2)), COA3), 2.0))[0].status == 0  # moving one is fine


def test_rfc5648_5_2_replacing_bid_1_by_no_bid_at_the_same_coa_keeps_the_tunnel_peer():
    """Found by the random test: the peer moves from BID 1 to BID 0 and must not be freed
    and re-created under the same id (a TunnelPeerRemoved after the TunnelPeerAdded would
    delete it from the switch)."""
    ha = make_ha()
    ha.handle(over_udp(bu(1, 100, bid(1))), 0.0)
    peer = ha.tunnel_peers()
    actions = ha.handle(over_udp(bu(2)), 1.0)
    assert of(actions, TunnelPeerAdded) == [] and of(actions, TunnelPeerRemoved) == []
    assert [p.bid for p in only(actions, BindingMoved).paths] == [0] and ha.tunnel_peers() == peer
