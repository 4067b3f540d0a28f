"""RFC 5555 at the home agent: IPv4 home address requests and the IPv4 Address
Acknowledgement (§3.1.1, §3.2.1), IPv4 care-of addresses in UDP 4191 (§4.1), NAT detection
with the outer address the switch recorded before decryption (§4.2, draft-laganier req. 4),
the F flag and the NAT Detection option (§3.1.3, §3.2.2)."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from p4mobility.binding import BindingCreated, BindingMoved, LogEvent, Transport, TunnelPeerRemoved
from p4mobility.ha import SendBindingAck, UdpIpv4Route
from p4mobility.mh import (
    BaStatus,
    Ipv4AckStatus,
    Ipv4AddressAcknowledgement,
    Ipv4CareofAddress,
    NatDetection,
)
from p4mobility.mh.constants import NAT_REFRESH_NO_NAT

from tests.ha.ha_helpers import (
    COA,
    HA,
    HA4,
    HOA,
    HOA2,
    HOA_STATIC4,
    NAT4,
    PRIV4,
    PUB4,
    STATIC4,
    ba_of,
    bu,
    from_coa,
    make_ha,
    of,
    only,
    over_udp,
    v4req,
)

HOA3 = HOA.__class__("2001:db8:1::400")


def ack(ba) -> Ipv4AddressAcknowledgement:
    return ba.option(Ipv4AddressAcknowledgement)


# --- IPv4 home address (§3.1.1, §3.2.1) -------------------------------------------------

def test_rfc5555_3_1_1_zero_address_assigned_from_the_pool_and_routed_as_a_32():
    ha = make_ha()
    actions = ha.handle(from_coa(bu(1, 100, v4req())), 0.0)
    ba, _ = ba_of(actions)
    got = ack(ba)
    assert ba.status == 0 and got.status == Ipv4AckStatus.SUCCESS and got.prefix_length == 32
    first = IPv4Network("10.9.0.0/24").network_address + 1
    assert got.address == first
    assert IPv4Network(first) in only(actions, BindingCreated).home_prefixes
    assert ha.binding_for(first).home_address == HOA and ha.binding_for(HOA).ipv4_home_address == first
    ba, _ = ba_of(ha.handle(from_coa(bu(2, 100, v4req())), 10.0))  # refresh: the same address again
    assert ack(ba).address == first
    ba, _ = ba_of(ha.handle(from_coa(bu(3, 100, v4req(first))), 20.0))  # or asked by name
    assert ack(ba).status == 0 and ack(ba).address == first


def test_rfc5555_3_1_1_static_address_from_the_profile():
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, v4req()), hoa=HOA_STATIC4), 0.0))
    assert ack(ba).status == 0 and ack(ba).address == STATIC4
    assert ha.pool.free_count() == 254  # the pool was not touched


def test_rfc5555_3_2_1_refusals_keep_the_ipv6_registration():
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, v4req()), hoa=HOA2), 0.0))  # profile: no dynamic IPv4
    assert ba.status == BaStatus.ACCEPTED and ack(ba).status == Ipv4AckStatus.ADMINISTRATIVELY_PROHIBITED
    assert ha.binding_for(HOA2).ipv4_home_address is None and ha.binding_for(HOA2) is not None


@pytest.mark.parametrize("req, status", [
    (v4req(IPv4Address("10.9.0.77")), Ipv4AckStatus.INCORRECT_IPV4_HOME_ADDRESS),  # not ours to give
    (v4req(STATIC4), Ipv4AckStatus.INCORRECT_IPV4_HOME_ADDRESS),  # another MN's static address
    (v4req(IPv4Address("224.1.2.3")), Ipv4AckStatus.INVALID_IPV4_ADDRESS),
    (v4req(IPv4Address("255.255.255.255")), Ipv4AckStatus.INVALID_IPV4_ADDRESS),
    (v4req(p=True), Ipv4AckStatus.PREFIX_ALLOCATION_UNAUTHORIZED),
])
def test_rfc5555_3_2_1_specific_requests_checked(req, status):
    ha = make_ha()
    out = ha.handle(from_coa(bu(1, 100, req)), 0.0)
    ba, _ = ba_of(out)
    assert ba.status == 0 and ack(ba).status == status and ack(ba).address == req.address
    assert ha.binding_for(HOA).ipv4_home_address is None and ha.pool.free_count() == 254
    (line,) = [a for a in out if isinstance(a, LogEvent) and a.fields.get("counter") == "ipv4_home_address_refused"]
    assert line.fields["ipv4_status"] == status and ha.counters["ipv4_home_address_refused"] == 1


def test_rfc5555_3_2_1_a_different_address_than_the_one_held_is_refused_and_the_held_one_kept():
    ha = make_ha()
    held = ack(ba_of(ha.handle(from_coa(bu(1, 100, v4req())), 0.0))[0]).address
    ba, _ = ba_of(ha.handle(from_coa(bu(2, 100, v4req(IPv4Address("10.9.0.99")))), 1.0))
    assert ack(ba).status == Ipv4AckStatus.INCORRECT_IPV4_HOME_ADDRESS
    assert ha.binding_for(HOA).ipv4_home_address == held


def test_rfc5555_3_2_1_pool_exhausted_or_absent_gets_132():
    ha = make_ha(ipv4_pool="10.9.0.5/32")
    assert ack(ba_of(ha.handle(from_coa(bu(1, 100, v4req())), 0.0))[0]).address == IPv4Address("10.9.0.5")
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, v4req()), hoa=HOA3), 0.0))
    assert ack(ba).status == Ipv4AckStatus.DYNAMIC_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_AVAILABLE
    ha = make_ha(ipv4_pool=None)
    assert ack(ba_of(ha.handle(from_coa(bu(1, 100, v4req())), 0.0))[0]).status == 132


def test_rfc5555_pool_address_returns_to_the_pool_after_deregistration_and_expiry():
    ha = make_ha(ipv4_pool="10.9.0.5/32")
    ha.handle(from_coa(bu(1, 100, v4req())), 0.0)
    ha.handle(from_coa(bu(2, 0), alt=False), 1.0)
    assert ack(ba_of(ha.handle(from_coa(bu(1, 10, v4req()), hoa=HOA3), 2.0))[0]).status == 0
    ha.handle_timer(100.0)  # HOA3's 40 s ran out
    assert ha.binding_for(HOA3) is None and ha.pool.free_count() == 1


def test_rfc5555_ipv4_home_address_added_to_a_live_binding_is_a_move_with_the_new_prefix():
    ha = make_ha()
    ha.handle(from_coa(bu(1)), 0.0)
    actions = ha.handle(from_coa(bu(2, 100, v4req())), 1.0)
    moved = only(actions, BindingMoved)
    assert moved.paths == moved.old_paths and len(moved.home_prefixes) == 2
    assert ha.binding_for(moved.home_prefixes[1].network_address).home_address == HOA


def test_rfc5555_no_ipv4_option_no_acknowledgement():
    ba, _ = ba_of(make_ha().handle(from_coa(bu(1)), 0.0))
    assert ack(ba) is None and ba.option(NatDetection) is None


# --- IPv4 care-of addresses and NAT detection (§4.1, §4.2) -------------------------------

def test_rfc5555_4_2_nat_detected_tunnel_to_outer_address_and_port_in_udp():
    ha = make_ha()
    actions = ha.handle(over_udp(bu(1, 100, v4req()), PRIV4, (NAT4, 40000)), 0.0)
    path = only(actions, BindingCreated).paths[0]
    e = path.endpoints
    assert (e.transport, e.local, e.local_port, e.remote, e.remote_port) == (
        Transport.UDP_IPV4, HA4, 4191, NAT4, 40000)
    ba, act = ba_of(actions)
    assert ba.option(NatDetection) == NatDetection(False, 110)
    assert act.route == UdpIpv4Route(HA4, NAT4, 40000, HA, HOA) and act.route.src_port == 4191
    c = ha.binding_for(HOA).careofs[0]
    assert (c.coa, c.nat_detected, c.signal_port) == (PRIV4, True, 40000)


def test_rfc5555_4_2_nat_keepalive_refresh_time_is_the_configured_one():
    ha = make_ha(nat_keepalive_refresh=25)
    ba, _ = ba_of(ha.handle(over_udp(bu(1)), 0.0))
    assert ba.option(NatDetection).refresh_time == 25


def test_rfc5555_4_1_no_nat_no_f_plain_ipv4_tunnel_and_no_nat_option():
    ha = make_ha()
    actions = ha.handle(over_udp(bu(1), PUB4, (PUB4, 4191)), 0.0)
    e = only(actions, BindingCreated).paths[0].endpoints
    assert (e.transport, e.local, e.remote, e.local_port, e.remote_port) == (Transport.IPV4, HA4, PUB4, 0, 0)
    ba, act = ba_of(actions)
    assert ba.option(NatDetection) is None
    assert act.route == UdpIpv4Route(HA4, PUB4, 4191, HA, HOA)  # signalling still returns in UDP
    assert ha.binding_for(HOA).careofs[0].nat_detected is False


@pytest.mark.parametrize("cfg, flag", [({}, True), ({"force_udp_encapsulation": True}, False)])
def test_rfc5555_3_1_3_f_flag_or_ha_policy_udp_without_nat(cfg, flag):
    ha = make_ha(**cfg)
    actions = ha.handle(over_udp(bu(1, force_udp=flag), PUB4, (PUB4, 5555)), 0.0)
    e = only(actions, BindingCreated).paths[0].endpoints
    assert (e.transport, e.remote, e.local_port, e.remote_port) == (Transport.UDP_IPV4, PUB4, 4191, 5555)
    assert ba_of(actions)[0].option(NatDetection) == NatDetection(True, NAT_REFRESH_NO_NAT)


def test_rfc5555_3_1_3_profile_may_ignore_the_f_flag():
    ha = make_ha()
    actions = ha.handle(over_udp(bu(1, force_udp=True), PUB4, (PUB4, 5555), hoa=HOA2), 0.0)
    assert only(actions, BindingCreated).paths[0].endpoints.transport is Transport.IPV4


def test_rfc5555_4_2_new_nat_mapping_moves_the_path_to_the_new_port():
    ha = make_ha()
    ha.handle(over_udp(bu(1), PRIV4, (NAT4, 40000)), 0.0)
    actions = ha.handle(over_udp(bu(2), PRIV4, (NAT4, 40001)), 50.0)
    moved = only(actions, BindingMoved)
    assert moved.old_paths[0].endpoints.remote_port == 40000 and moved.paths[0].endpoints.remote_port == 40001
    assert only(actions, TunnelPeerRemoved).endpoints.remote_port == 40000
    assert ba_of(actions)[1].route.dst_port == 40001


def test_rfc5555_moving_between_ipv6_and_ipv4_care_of_addresses():
    ha = make_ha()
    ha.handle(from_coa(bu(1, 100, v4req())), 0.0)
    v4 = ha.binding_for(HOA).ipv4_home_address
    actions = ha.handle(over_udp(bu(2, 100, v4req(v4))), 10.0)
    assert only(actions, BindingMoved).paths[0].endpoints.transport is Transport.UDP_IPV4
    assert ack(ba_of(actions)[0]).address == v4
    actions = ha.handle(from_coa(bu(3, 100, v4req(v4)), COA), 20.0)
    assert only(actions, BindingMoved).paths[0].coa == COA and ha.binding_for(HOA).ipv4_home_address == v4


def test_rfc5555_3_1_2_ipv4_coa_option_over_ipv6_and_udp_without_it_get_174():
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 100, Ipv4CareofAddress(PUB4))), 0.0))
    assert ba.status == BaStatus.INVALID_CARE_OF_ADDRESS
    ev = over_udp(bu(1))
    ev = ev.__class__(bu(1), ev.src, ev.dst, None, HOA, ev.outer_v4)  # no IPv4 CoA option
    ba, act = ba_of(ha.handle(ev, 0.0))
    assert ba.status == BaStatus.INVALID_CARE_OF_ADDRESS and isinstance(act.route, UdpIpv4Route)
    assert ha.state() == ()


def test_rfc5555_bu_in_udp_without_an_ipv4_address_configured_is_discarded():
    ha = make_ha(ha_address_v4=None, ipv4_pool=None)
    actions = ha.handle(over_udp(bu(1)), 0.0)
    assert of(actions, SendBindingAck) == [] and only(actions, LogEvent).fields["counter"] == "no_ipv4_endpoint"


def test_rfc5555_tunnel_peers_carry_ipv4_when_the_ha_is_dual_stack():
    from p4mobility.binding import TunnelPeerAdded
    assert only(make_ha().handle(from_coa(bu(1)), 0.0), TunnelPeerAdded).inner_ipv4 is True
    single = make_ha(ipv4_pool=None, ha_address_v4=None, mobile_nodes=[])
    assert only(single.handle(from_coa(bu(1)), 0.0), TunnelPeerAdded).inner_ipv4 is False
