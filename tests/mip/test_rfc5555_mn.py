"""Mobile node, RFC 5555 (DSMIPv6): BUs over IPv4 in UDP 4191 with the IPv4
CoA option and the F flag, NAT detection from the BA and keepalives at its
refresh time, the IPv4 home address request/assignment, movement between an
IPv6 and an IPv4-only access with the data tunnel kept until the BA."""
from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from p4mobility.mh import (AlternateCareofAddress, Ipv4AckStatus, Ipv4AddressAcknowledgement,
                           Ipv4CareofAddress, Ipv4HomeAddress, NatDetection)
from p4mobility.mip import (AddressAdded, AddressRemoved, Encapsulation, HomeAddressAssigned,
                            HomeAddressReleased, InterfaceDown, Keepalive, LogEvent, OuterUdp4, Registered,
                            SendMh, StopRequested, TunnelChanged)
from tests.mip.mip_helpers import (COA4, COA_A, HA, HA4, HOA, NAT4, T0, ba, bu_of, make_mn, of, registered,
                                   the)

NAT_30 = NatDetection(False, 30)


def v4_bu(mn, now=T0, iface="wlan0"):
    return bu_of(mn.handle(AddressAdded(iface, COA4), now))


def test_rfc5555_4_1_bu_from_an_ipv4_coa_goes_in_udp_4191():
    mn = make_mn()
    send = v4_bu(mn)
    path = send.path
    assert path.encapsulation is Encapsulation.UDP4
    assert (path.coa, path.ha, path.mn_port, path.ha_port) == (COA4, HA4, 4191, 4191)
    # inner IPv6 from the home address, no Home Address option, no Alternate CoA
    assert send.ipv6_src == HOA and send.ipv6_dst == HA and not send.home_address_option
    bu = send.message
    assert bu.option(Ipv4CareofAddress).address == COA4  # as configured (private behind a NAT)
    assert bu.option(AlternateCareofAddress) is None
    assert bu.ack and bu.home_registration and not bu.force_udp


def test_rfc5555_3_1_3_f_flag_when_udp_is_forced():
    mn = make_mn(force_udp_encapsulation=True, mn_udp_port=40000)
    send = v4_bu(mn)
    assert send.message.force_udp and send.path.mn_port == 40000
    ipv6 = bu_of(make_mn(force_udp_encapsulation=True).handle(AddressAdded("eth0", COA_A), T0))
    assert not ipv6.message.force_udp  # no UDP over IPv6


def test_rfc5555_ipv4_coa_needs_the_home_agents_ipv4_address():
    mn = make_mn(home_agent_ipv4=None)
    assert not of(mn.handle(AddressAdded("wlan0", COA4), T0), SendMh)
    assert mn.bindings() == []


def test_rfc5555_3_2_2_nat_detected_udp_data_and_keepalives_at_the_refresh_time():
    mn = make_mn()
    send = v4_bu(mn)
    # the BA comes back through the NAT: from the HA's 4191 to the port the BU left from
    acts = mn.handle(ba(send, options=(NAT_30,), outer=OuterUdp4(HA4, COA4, 4191, 4191)), T0 + 0.2)
    tunnel = the(acts, TunnelChanged).tunnel
    assert tunnel.encapsulation is Encapsulation.UDP4
    assert (tunnel.coa, tunnel.ha, tunnel.mn_port, tunnel.ha_port) == (COA4, HA4, 4191, 4191)
    assert mn.bindings()[0].keepalive == 30
    assert mn.next_deadline() == pytest.approx(T0 + 0.2 + 30)
    acts = mn.handle_timer(T0 + 30.2)
    ka = the(acts, Keepalive)
    assert ka.path == tunnel and ka.interval == 30
    refresh = bu_of(acts)  # the keepalive is a binding refresh on the same UDP path
    assert acts.index(ka) < acts.index(refresh)
    assert refresh.path.encapsulation is Encapsulation.UDP4 and refresh.path.coa == COA4
    acts = mn.handle(ba(refresh, options=(NAT_30,)), T0 + 30.3)
    assert not of(acts, TunnelChanged) and the(acts, Registered).refreshed
    assert mn.next_deadline() == pytest.approx(T0 + 60.3)


def test_rfc5555_3_2_2_refresh_time_0_means_natkatimeout():
    mn = make_mn()
    send = v4_bu(mn)
    mn.handle(ba(send, options=(NatDetection(False, 0),)), T0 + 0.2)
    assert mn.bindings()[0].keepalive == 110.0


def test_rfc5555_3_2_2_no_nat_option_means_ip_in_ipv4_without_keepalives():
    mn = make_mn()
    send = v4_bu(mn)
    acts = mn.handle(ba(send), T0 + 0.2)
    tunnel = the(acts, TunnelChanged).tunnel
    assert tunnel.encapsulation is Encapsulation.IPV4 and tunnel.mn_port is None
    assert mn.bindings()[0].keepalive is None
    assert mn.next_deadline() == pytest.approx(T0 + 0.8 * 3600)  # only the lifetime refresh


def test_rfc5555_3_2_2_forced_udp_without_nat_has_no_keepalives():
    mn = make_mn(force_udp_encapsulation=True)
    send = v4_bu(mn)
    acts = mn.handle(ba(send, options=(NatDetection(True, 0xFFFFFFFF),)), T0 + 0.2)
    assert the(acts, TunnelChanged).tunnel.encapsulation is Encapsulation.UDP4
    assert mn.bindings()[0].keepalive is None


def test_rfc5555_4_1_ba_over_udp_must_come_from_the_home_agent_port_4191():
    mn = make_mn()
    send = v4_bu(mn)
    for outer in (OuterUdp4(NAT4, COA4, 4191, 4191), OuterUdp4(HA4, COA4, 5000, 4191),
                  OuterUdp4(HA4, COA4, 4191, 5000)):
        acts = mn.handle(ba(send, options=(NAT_30,), outer=outer), T0 + 0.2)
        assert not of(acts, Registered) and of(acts, LogEvent)
    assert of(mn.handle(ba(send, options=(NAT_30,)), T0 + 0.3), Registered)


def test_rfc5555_3_1_1_ipv4_home_address_requested_and_assigned():
    mn = make_mn(ipv4_home_address=IPv4Address("0.0.0.0"))
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    req = send.message.option(Ipv4HomeAddress)
    assert req.address == IPv4Address(0) and req.prefix_length == 32 and not req.p
    given = IPv4Address("10.20.0.5")
    acts = mn.handle(ba(send, options=(Ipv4AddressAcknowledgement(0, 32, given),)), T0 + 0.1)
    assigned = the(acts, HomeAddressAssigned)
    assert (assigned.address, assigned.prefix_length) == (given, 32) and mn.ipv4_home_address == given
    assert acts.index(assigned) < acts.index(the(acts, Registered))
    refresh = bu_of(mn.handle_timer(mn.next_deadline()))
    assert refresh.message.option(Ipv4HomeAddress).address == given  # refreshes the same address
    acts = mn.handle(ba(refresh, options=(Ipv4AddressAcknowledgement(0, 32, given),)), T0 + 3000)
    assert not of(acts, HomeAddressAssigned)  # unchanged: nothing to do
    # the assigned IPv4 HoA (on the tunnel interface) is never taken for a CoA
    assert not of(mn.handle(AddressAdded("tun0", given), T0 + 3001), SendMh)


def test_rfc5555_3_1_1_static_ipv4_home_address_and_its_refusal():
    static = IPv4Address("10.20.0.9")
    mn = make_mn(ipv4_home_address=static)
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    assert send.message.option(Ipv4HomeAddress).address == static
    ack = Ipv4AddressAcknowledgement(Ipv4AckStatus.ADMINISTRATIVELY_PROHIBITED, 0, static)
    acts = mn.handle(ba(send, options=(ack,)), T0 + 0.1)
    assert not of(acts, HomeAddressAssigned) and of(acts, Registered)  # the IPv6 binding stands
    assert any(a.level == "error" for a in of(acts, LogEvent)) and mn.ipv4_home_address is None


def test_rfc5555_3_2_1_assigned_address_released_when_refused_later_and_at_stop():
    given = IPv4Address("10.20.0.5")
    mn = make_mn(ipv4_home_address=IPv4Address(0))
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    mn.handle(ba(send, options=(Ipv4AddressAcknowledgement(0, 32, given),)), T0 + 0.1)
    refresh = bu_of(mn.handle_timer(mn.next_deadline()))
    acts = mn.handle(ba(refresh, options=(Ipv4AddressAcknowledgement(128, 0, given),)), T0 + 2900)
    assert the(acts, HomeAddressReleased).address == given
    mn2 = make_mn(ipv4_home_address=IPv4Address(0))
    s2 = bu_of(mn2.handle(AddressAdded("eth0", COA_A), T0))
    mn2.handle(ba(s2, options=(Ipv4AddressAcknowledgement(0, 32, given),)), T0 + 0.1)
    dereg = bu_of(mn2.handle(StopRequested(), T0 + 5))
    assert dereg.message.option(Ipv4HomeAddress) is None  # lifetime 0 removes everything
    assert the(mn2.handle(ba(dereg), T0 + 5.1), HomeAddressReleased).reason == "stopped"


def test_rfc5555_movement_ipv6_to_ipv4_nat_keeps_data_until_the_ba():
    """draft-laganier requirement 3 across families: the BU leaves the new
    IPv4 CoA in UDP while data keeps the IPv6 tunnel until the BA."""
    mn = make_mn()
    registered(mn, "eth0", COA_A)
    mn.handle(AddressAdded("wlan0", COA4), T0 + 10)
    acts = mn.handle(InterfaceDown("eth0"), T0 + 10)
    send = bu_of(acts)
    assert send.path.encapsulation is Encapsulation.UDP4 and send.path.coa == COA4
    assert not of(acts, TunnelChanged)
    assert mn.bindings()[0].tunnel.encapsulation is Encapsulation.IPV6
    acts = mn.handle(ba(send, options=(NAT_30,)), T0 + 10.2)
    moved = the(acts, TunnelChanged)
    assert moved.previous.encapsulation is Encapsulation.IPV6 and moved.previous.coa == COA_A
    assert moved.tunnel.encapsulation is Encapsulation.UDP4 and moved.tunnel.coa == COA4
    # and back: IPv6 again, no more keepalives
    mn.handle(AddressAdded("eth0", COA_A), T0 + 20)
    back = bu_of(mn.handle(AddressRemoved("wlan0", COA4), T0 + 20))
    assert back.path.encapsulation is Encapsulation.IPV6 and back.home_address_option
    acts = mn.handle(ba(back), T0 + 20.1)
    assert the(acts, TunnelChanged).tunnel.encapsulation is Encapsulation.IPV6
    assert mn.bindings()[0].keepalive is None


def test_rfc5555_4_1_ipv6_coa_preferred_on_a_dual_stack_interface():
    mn = make_mn()
    mn.handle(AddressAdded("eth0", COA4), T0)
    acts = mn.handle(AddressAdded("eth0", COA_A), T0 + 0.5)
    assert bu_of(acts).path.encapsulation is Encapsulation.IPV6
