"""Mobile node, mobile prefix discovery (RFC 6275 §11.4.2, §11.4.3, §6.7, §6.8; RFC 3776
§5.2.3): when a solicitation leaves and from where, its retransmission, which
advertisements count and what they change. Packets are read back with scapy."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import HAO, ICMPv6MPAdv, ICMPv6MPSol, ICMPv6NDOptPrefixInfo, IPv6, IPv6ExtHdrRouting

from p4mobility.mh import BaStatus, NatDetection
from p4mobility.mip import (AddressAdded, HomePrefixesLearned, LogEvent, OuterUdp4, PrefixAdvertisementReceived,
                            PrefixDiscoveryNeeded, PrefixSolicitationRequested, SendPrefixSolicitation)
from p4mobility.mip.frames import parse_signalling, solicitation_packet, wrap_signalling
from p4mobility.nd.mobile_prefix import MobilePrefixAdvertisement, PrefixOption
from tests.mip.mip_helpers import COA4, COA_A, HA, HA4, HOA, T0, ba, bu_of, make_mn, of, registered, the

HOME = IPv6Network("2001:db8:1::/64")


def mn_with_discovery(**cfg):
    return make_mn(solicit_prefixes_after_registration=True, **cfg)


def mpa(identifier: int, *prefixes: PrefixOption, src=HA, dst=HOA, outer=None) -> PrefixAdvertisementReceived:
    return PrefixAdvertisementReceived(MobilePrefixAdvertisement(identifier, tuple(prefixes)), src, dst, outer)


def test_rfc6275_11_4_2_a_solicitation_from_the_care_of_address_once_the_first_registration_is_accepted():
    mn = mn_with_discovery()
    send, acts = registered(mn)
    mps = the(acts, SendPrefixSolicitation)
    assert (mps.path.coa, mps.ipv6_src, mps.ipv6_dst, mps.home_address_option) == (COA_A, COA_A, HA, True)
    pkt = IPv6(solicitation_packet(mps))
    assert (pkt.src, pkt.dst, pkt[HAO].hoa) == (str(COA_A), str(HA), str(HOA))  # RFC 6275 §6.7: HAO
    icmp = pkt[ICMPv6MPSol]
    want = ICMPv6MPSol(bytes(IPv6(src=str(HOA), dst=str(HA)) / ICMPv6MPSol(id=icmp.id))[40:])
    assert icmp.cksum == want.cksum  # the checksum is over the home address (RFC 6275 §6.3)
    assert mn.pending_solicitation == mps.message.identifier


def test_a_refresh_does_not_solicit_again_and_a_request_does():
    mn = mn_with_discovery()
    _, acts = registered(mn)
    first = the(acts, SendPrefixSolicitation).message.identifier
    assert of(mn.handle(mpa(first, PrefixOption(HOME, 600, 300)), T0 + 1), HomePrefixesLearned)
    refresh = bu_of(mn.handle_timer(mn.next_deadline()))
    acts = mn.handle(ba(refresh), mn.next_deadline() - 1)
    assert not of(acts, SendPrefixSolicitation)
    again = the(mn.handle(PrefixSolicitationRequested(), T0 + 5), SendPrefixSolicitation)
    assert again.message.identifier == (first + 1) & 0xFFFF  # a new solicitation, a new Identifier


def test_rfc6275_11_7_3_ba_status_1_asks_for_prefix_discovery():
    mn = make_mn()  # no solicitation after registration: only because the HA asks
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    acts = mn.handle(ba(send, status=BaStatus.ACCEPTED_PREFIX_DISCOVERY_NECESSARY), T0 + 0.1)
    assert of(acts, PrefixDiscoveryNeeded) and the(acts, SendPrefixSolicitation).path.coa == COA_A


def test_no_solicitation_without_an_accepted_binding():
    mn = mn_with_discovery()
    mn.handle(AddressAdded("eth0", COA_A), T0)  # BU out, no BA yet
    acts = mn.handle(PrefixSolicitationRequested(), T0 + 0.1)
    assert not of(acts, SendPrefixSolicitation) and of(acts, LogEvent)


def test_rfc6275_11_4_2_retransmitted_with_the_same_identifier_backing_off_then_given_up():
    mn = mn_with_discovery()
    _, acts = registered(mn)
    ident = the(acts, SendPrefixSolicitation).message.identifier
    sent_at, waits = [T0 + 0.1], []
    while True:
        due = mn.next_deadline()
        acts = mn.handle_timer(due)
        resent = of(acts, SendPrefixSolicitation)
        if not resent and mn.pending_solicitation is None:
            break
        if resent:
            assert resent[0].message.identifier == ident
            waits.append(round(due - sent_at[-1], 3))
            sent_at.append(due)
    # INITIAL_SOLICIT_TIMER 3 s, doubling while under MAX_BINDACK_TIMEOUT (32 s)
    assert waits == [3.0, 6.0, 12.0]
    assert any("given up" in a.message for a in acts if isinstance(a, LogEvent))


def test_rfc6275_11_4_3_the_matching_advertisement_gives_the_home_prefixes():
    mn = mn_with_discovery()
    _, acts = registered(mn)
    ident = the(acts, SendPrefixSolicitation).message.identifier
    other = IPv6Network("2001:db8:2::/64")
    acts = mn.handle(mpa(ident, PrefixOption(HOME, 0xFFFFFFFF, 0xFFFFFFFF), PrefixOption(other, 100, 50),
                         PrefixOption(IPv6Network("2001:db8:3::/64"), 10, 20)),  # preferred > valid: ignored
                     T0 + 1)
    learned = the(acts, HomePrefixesLearned)
    assert learned.identifier == ident and learned.home_address_covered
    assert [(p.prefix, p.valid_until, p.preferred_until) for p in learned.prefixes] == [
        (HOME, None, None), (other, T0 + 101, T0 + 51)]
    assert mn.pending_solicitation is None
    assert not of(mn.handle_timer(T0 + 4), SendPrefixSolicitation)  # no retransmission any more
    # a later advertisement withdrawing the home prefix (valid lifetime 0): a warning
    ident = the(mn.handle(PrefixSolicitationRequested(), T0 + 10), SendPrefixSolicitation).message.identifier
    acts = mn.handle(mpa(ident, PrefixOption(HOME, 0, 0)), T0 + 11)
    assert not the(acts, HomePrefixesLearned).home_address_covered
    assert [p.prefix for p in mn.home_prefixes()] == [other]
    assert any("holds the home address" in a.message for a in of(acts, LogEvent))


def test_rfc6275_11_4_3_advertisements_that_do_not_count():
    mn = mn_with_discovery()
    _, acts = registered(mn)
    ident = the(acts, SendPrefixSolicitation).message.identifier
    opt = PrefixOption(HOME, 600, 300)
    for ev in (mpa(ident, opt, src=IPv6Address("2001:db8:1::99")),  # not from our home agent
               mpa(ident, opt, dst=IPv6Address("2001:db8:1::200"))):  # not to our home address
        assert not of(mn.handle(ev, T0 + 1), HomePrefixesLearned)
    acts = mn.handle(mpa(ident ^ 0x5555, opt), T0 + 1)  # another Identifier: not processed
    assert not of(acts, HomePrefixesLearned) and not of(acts, SendPrefixSolicitation)  # ours is still out
    assert mn.home_prefixes() == [] and mn.pending_solicitation == ident
    mn.handle(mpa(ident, opt), T0 + 2)
    acts = mn.handle(mpa(ident, opt), T0 + 3)  # answered already: unsolicited, so we ask to confirm it
    assert not of(acts, HomePrefixesLearned) and of(acts, SendPrefixSolicitation)


def test_rfc5555_4_1_over_an_ipv4_care_of_address_the_solicitation_goes_in_udp_from_the_home_address():
    mn = mn_with_discovery()
    send = bu_of(mn.handle(AddressAdded("wlan0", COA4), T0))
    acts = mn.handle(ba(send, options=(NatDetection(False, 30),), outer=OuterUdp4(HA4, COA4, 4191, 4191)), T0 + 0.1)
    mps = the(acts, SendPrefixSolicitation)
    assert (mps.ipv6_src, mps.home_address_option) == (HOA, False)
    wire = IP(wrap_signalling(mps.path, solicitation_packet(mps)))
    assert (wire.src, wire.dst, wire[UDP].dport) == (str(COA4), str(HA4), 4191)
    inner = IPv6(bytes(wire[UDP].payload))
    assert (inner.src, inner.nh, inner[ICMPv6MPSol].id) == (str(HOA), 58, mps.message.identifier)
    # the advertisement comes back in UDP from the HA's 4191: accepted
    acts = mn.handle(mpa(mps.message.identifier, PrefixOption(HOME, 600, 300), outer=OuterUdp4(HA4, COA4, 4191, 4191)),
                     T0 + 1)
    assert the(acts, HomePrefixesLearned).home_address_covered


def test_rfc6275_6_8_an_advertisement_with_rh2_parses_into_the_event():
    """IPv6{HA -> CoA} RH2{HoA} ICMPv6 147 as the HA sends it (after ESP), built by scapy."""
    pkt = (IPv6(src=str(HA), dst=str(COA_A)) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(HOA)])
           / ICMPv6MPAdv(id=0x77, flags=0) / ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64,
                                                                  validlifetime=600, preferredlifetime=300))
    raw = bytearray(bytes(pkt))
    # scapy computes the checksum over the IPv6 destination (the CoA); RFC 8200 §8.1: the final one (HoA)
    want = IPv6(src=str(HA), dst=str(HOA)) / ICMPv6MPAdv(id=0x77, flags=0) / ICMPv6NDOptPrefixInfo(
        prefix="2001:db8:1::", prefixlen=64, validlifetime=600, preferredlifetime=300)
    raw[40 + 24:] = bytes(want)[40:]
    ev = parse_signalling(bytes(raw), HOA)
    assert isinstance(ev, PrefixAdvertisementReceived)
    assert (ev.src, ev.dst, ev.message.identifier, ev.message.prefixes) == (
        HA, HOA, 0x77, (PrefixOption(HOME, 600, 300),))
