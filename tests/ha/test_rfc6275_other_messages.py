"""RFC 6275 §6.7/§6.8/§10.6.2 Mobile Prefix Solicitation/Advertisement (ESP-protected, RFC
3776 §5.2.3) and §9.3.1/§9.3.3 Binding Errors (status 1 for a HAO packet without a binding,
rate limited like ICMPv6 errors) at the home agent."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from p4mobility.binding import LogEvent, SendMh
from p4mobility.ha import (
    HaoPacketReceived,
    Ipv6Route,
    MobilePrefixSolicitationReceived,
    SendMobilePrefixAdvertisement,
    UdpIpv4Route,
)
from p4mobility.mh import BindingError

from tests.ha.ha_helpers import COA, COA2, HA, HA4, HOA, HOA2, NAT4, bu, from_coa, make_ha, of, only, over_udp, sent


def mps(ident=7, src=COA, hoa=HOA, sa=..., outer=None):
    if outer is not None:
        return MobilePrefixSolicitationReceived(ident, hoa, HA, None, hoa if sa is ... else sa, outer)
    return MobilePrefixSolicitationReceived(ident, src, HA, hoa, hoa if sa is ... else sa)


def test_rfc6275_10_6_2_solicitation_answered_with_home_prefixes_along_its_path():
    ha = make_ha(home_prefix_valid_lifetime=86400, home_prefix_preferred_lifetime=14400)
    ha.handle(from_coa(bu(1)), 0.0)
    adv = only(ha.handle(mps(ident=0x1234), 1.0), SendMobilePrefixAdvertisement)
    assert adv.identifier == 0x1234 and not adv.managed and not adv.other
    assert [(p.prefix, p.valid_lifetime, p.preferred_lifetime) for p in adv.prefixes] == [
        (IPv6Network("2001:db8:1::/64"), 86400, 14400)]
    assert adv.route == Ipv6Route(HA, COA, HOA) and adv.route.type2_routing_header == HOA


def test_rfc5555_solicitation_in_udp_answered_in_udp():
    ha = make_ha()
    ha.handle(over_udp(bu(1)), 0.0)
    adv = only(ha.handle(mps(outer=(NAT4, 40000)), 1.0), SendMobilePrefixAdvertisement)
    assert adv.route == UdpIpv4Route(HA4, NAT4, 40000, HA, HOA)


def test_rfc3776_5_2_3_solicitation_without_esp_wrong_sa_or_binding_is_discarded():
    ha = make_ha()
    ha.handle(from_coa(bu(1)), 0.0)
    for ev, counter in ((mps(sa=None), "mps_unprotected"), (mps(sa=HOA2), "sa_home_address_mismatch"),
                        (mps(hoa=HOA2, src=COA2), "mps_without_binding")):
        actions = ha.handle(ev, 1.0)
        assert of(actions, SendMobilePrefixAdvertisement) == []
        assert only(actions, LogEvent).fields["counter"] == counter and ha.counters[counter] == 1


def test_rfc6275_9_3_1_hao_packet_without_binding_gets_binding_error_1():
    ha = make_ha()
    actions = ha.handle(HaoPacketReceived(COA, HA, HOA), 0.0)
    (be,) = sent(actions)  # through the codec, checksum over (HA, CoA)
    assert isinstance(be, BindingError) and be.status == 1 and be.home_address == HOA
    send = only(actions, SendMh)
    assert (send.src, send.dst) == (HA, COA)


def test_rfc6275_9_3_1_hao_packet_from_a_registered_coa_is_no_error_but_another_source_is():
    ha = make_ha()
    ha.handle(from_coa(bu(1)), 0.0)
    assert of(ha.handle(HaoPacketReceived(COA, HA, HOA), 1.0), SendMh) == []
    assert sent(ha.handle(HaoPacketReceived(COA2, HA, HOA), 1.0))[0].status == 1


def test_rfc6275_9_3_3_binding_errors_are_rate_limited_and_never_sent_to_multicast():
    ha = make_ha(max_binding_errors_per_second=2.0)
    sent_at_0 = [len(of(ha.handle(HaoPacketReceived(COA, HA, HOA), 0.0), SendMh)) for _ in range(3)]
    assert sent_at_0 == [1, 1, 0] and ha.counters["binding_errors_rate_limited"] == 1
    assert of(ha.handle(HaoPacketReceived(COA, HA, HOA), 1.0), SendMh)  # tokens refilled
    assert of(ha.handle(HaoPacketReceived(IPv6Address("ff02::1"), HA, HOA), 5.0), SendMh) == []


def test_monami6_solicitation_from_a_source_that_is_none_of_the_coas_is_dropped():
    ha = make_ha()
    ha.handle(from_coa(bu(1)), 0.0)
    actions = ha.handle(mps(src=COA2), 1.0)
    assert of(actions, SendMobilePrefixAdvertisement) == [] and ha.counters["mps_unknown_source"] == 1
    ha.handle(over_udp(bu(2), outer=(NAT4, 40000)), 2.0)
    assert of(ha.handle(mps(outer=(HA4, 40000)), 3.0), SendMobilePrefixAdvertisement) == []
