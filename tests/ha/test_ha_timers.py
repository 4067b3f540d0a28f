"""Lifetimes and Binding Refresh Requests at the home agent, with ``now`` stepped by hand:
RFC 6275 §10.3.1 (the binding lasts the granted lifetime), §9.5.5 / RFC 5648 §5.4 (a BRR
before it ends), and tunnel peers that outlive the last path using them by nothing."""
from __future__ import annotations

from p4mobility.binding import BindingDeleted, BindingMoved, TunnelPeerRemoved
from p4mobility.ha import HomeAgent, HomeState, Ipv6Route, SendBindingRefreshRequest, UdpIpv4Route
from p4mobility.mh import BindingIdentifier, BindingRefreshRequest

from tests.ha.ha_helpers import (COA, COA2, HA, HA4, HOA, HOA2, NAT4, bid, bu, from_coa, make_ha, of, only,
                                 over_udp, sent)


def test_rfc6275_10_3_1_binding_expires_with_its_lifetime_and_takes_its_tunnel_peer():
    ha = make_ha()
    ha.handle(from_coa(bu(1, 100)), 0.0)
    assert ha.next_deadline() == 400.0 and ha.handle_timer(399.9) == []
    actions = ha.handle_timer(400.0)
    assert [type(a) for a in actions] == [BindingDeleted, TunnelPeerRemoved]
    assert only(actions, BindingDeleted).reason == "expired"
    assert only(actions, TunnelPeerRemoved).endpoints.remote == COA
    assert ha.state() == () and ha.tunnel_peers() == [] and ha.next_deadline() is None


def test_rfc6275_10_3_1_refresh_pushes_the_expiry():
    ha = make_ha()
    ha.handle(from_coa(bu(1, 100)), 0.0)
    ha.handle(from_coa(bu(2, 100)), 300.0)
    assert ha.handle_timer(400.0) == [] and ha.next_deadline() == 700.0


def test_shared_tunnel_peer_goes_with_its_last_path():
    ha = make_ha()
    ha.handle(from_coa(bu(1, 100), COA, HOA), 0.0)
    ha.handle(from_coa(bu(1, 50), COA, HOA2), 0.0)  # the same CoA: one peer, two paths
    assert [p.bindings for p in ha.tunnel_peers()] == [2]
    assert of(ha.handle_timer(200.0), TunnelPeerRemoved) == [] and [p.bindings for p in ha.tunnel_peers()] == [1]
    assert len(of(ha.handle_timer(400.0), TunnelPeerRemoved)) == 1 and ha.tunnel_peers() == []


def test_rfc6275_9_5_5_refresh_request_before_expiry_then_a_bu_makes_it_active_again():
    ha = make_ha(refresh_request_lead=100.0)
    ha.handle(from_coa(bu(1, 100)), 0.0)
    assert ha.next_deadline() == 300.0
    actions = ha.handle_timer(300.0)
    req = only(actions, SendBindingRefreshRequest)
    (msg,) = sent(actions)
    assert isinstance(msg, BindingRefreshRequest) and msg.options == ()  # no BIDs: none named
    assert req.route == Ipv6Route(HA, COA, HOA)
    assert ha.binding_for(HOA).state is HomeState.REFRESH_REQUESTED and ha.next_deadline() == 400.0
    ha.handle(from_coa(bu(2, 100)), 310.0)
    assert ha.binding_for(HOA).state is HomeState.ACTIVE and ha.next_deadline() == 610.0


def test_rfc5648_5_4_refresh_request_names_the_bids_and_follows_their_path():
    ha = make_ha(refresh_request_lead=40.0)
    ha.handle(over_udp(bu(1, 100, bid(2)), outer=(NAT4, 40000)), 0.0)
    ha.handle(from_coa(bu(2, 50, bid(1)), COA2), 0.0)  # expires first
    first = only(ha.handle_timer(160.0), SendBindingRefreshRequest)
    assert first.message.options == (BindingIdentifier(1),) and first.route.dst == COA2
    second = only(ha.handle_timer(360.0), SendBindingRefreshRequest)
    assert second.message.options == (BindingIdentifier(2),)
    assert second.route == UdpIpv4Route(HA4, NAT4, 40000, HA, HOA)


def test_rfc6275_9_5_5_no_refresh_request_when_the_lifetime_is_shorter_than_the_lead():
    ha = make_ha(refresh_request_lead=100.0)
    ha.handle(from_coa(bu(1, 20)), 0.0)  # 80 s
    assert ha.next_deadline() == 80.0 and of(ha.handle_timer(80.0), SendBindingRefreshRequest) == []


def test_restored_core_past_both_deadlines_expires_without_a_refresh_request():
    ha = make_ha(refresh_request_lead=100.0)
    ha.handle(from_coa(bu(1, 100)), 0.0)
    back = HomeAgent.from_state(ha.config, ha.state(), now=0.0)
    actions = back.handle_timer(1000.0)  # the adapter was away: BRR time and expiry both passed
    assert of(actions, SendBindingRefreshRequest) == [] and only(actions, BindingDeleted).reason == "expired"


def test_path_expiry_of_one_bid_is_a_move_without_it():
    ha = make_ha()
    ha.handle(from_coa(bu(1, 25, bid(1)), COA), 0.0)
    ha.handle(from_coa(bu(2, 100, bid(2)), COA2), 0.0)
    moved = only(ha.handle_timer(100.0), BindingMoved)
    assert [p.bid for p in moved.old_paths] == [1, 2] and [p.bid for p in moved.paths] == [2]
