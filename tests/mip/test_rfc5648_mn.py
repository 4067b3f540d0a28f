"""Mobile node, RFC 5648 (multiple care-of addresses): one BID per access
interface, single and bulk registration, per-BID status in the BA, one
interface lost = that BID de-registered only, its flows moved to another."""
from __future__ import annotations

from p4mobility.mh import AlternateCareofAddress, BaStatus, BindingIdentifier, Ipv4CareofAddress
from p4mobility.mip import (AddressAdded, Deregistered, Encapsulation, FlowsMoved, InterfaceDown, LogEvent,
                            Registered, RegistrationFailed, SendMh, StopRequested, Stopped, TunnelChanged)
from tests.mip.mip_helpers import COA4, COA_A, COA_B, HOA, HOME_LINK, T0, ba, bu_of, make_mn, of, the, wire


def two_interfaces(**cfg):
    """eth0 and eth1 up and registered one after the other."""
    mn = make_mn(multiple_coa=True, **cfg)
    s1 = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    s2 = bu_of(mn.handle(AddressAdded("eth1", COA_B), T0 + 0.01))
    acts = mn.handle(ba(s1, bid_statuses={}), T0 + 0.1) + mn.handle(ba(s2, bid_statuses={}), T0 + 0.11)
    return mn, s1, s2, acts


def test_rfc5648_5_1_one_bid_per_interface_single_registrations():
    mn, s1, s2, acts = two_interfaces()
    for send, bid, coa in ((s1, 1, COA_A), (s2, 2, COA_B)):
        bids = send.message.options_of(BindingIdentifier)
        assert [(b.bid, b.status, b.coa) for b in bids] == [(bid, 0, None)]  # CoA = the source
        assert send.path.coa == coa and send.message.option(AlternateCareofAddress).address == coa
        assert send.bids == (bid,)
    assert s2.message.sequence == s1.message.sequence + 1  # one counter for every BID
    tunnels = {t.bid: t.tunnel.coa for t in of(acts, TunnelChanged)}
    assert tunnels == {1: COA_A, 2: COA_B}
    assert {v.bid: v.coa for v in mn.bindings()} == {1: COA_A, 2: COA_B}


def test_rfc5648_5_1_configured_interfaces_fix_the_bids():
    mn = make_mn(multiple_coa=True, interfaces=("wlan0", "eth0"))
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    assert send.message.option(BindingIdentifier).bid == 2
    assert not of(mn.handle(AddressAdded("usb0", COA_B), T0 + 1), SendMh)  # not ours to use


def test_rfc5648_losing_one_interface_deregisters_that_bid_only():
    mn, s1, s2, _ = two_interfaces()
    acts = mn.handle(InterfaceDown("eth1"), T0 + 5)
    gone = the(acts, TunnelChanged)
    assert gone.bid == 2 and gone.tunnel is None
    moved = the(acts, FlowsMoved)
    assert (moved.from_bid, moved.to_bid) == (2, 1)
    dereg = bu_of(acts)
    assert acts.index(gone) < acts.index(moved) < acts.index(dereg)
    assert dereg.message.lifetime == 0 and dereg.path.coa == COA_A  # leaves by the remaining CoA
    assert dereg.message.option(AlternateCareofAddress).address == HOA  # RFC 6275 §6.1.7
    assert [(b.bid, b.coa) for b in dereg.message.options_of(BindingIdentifier)] == [(2, None)]
    acts = mn.handle(ba(dereg, bid_statuses={}), T0 + 5.1)
    assert the(acts, Deregistered).bid == 2 and not of(acts, TunnelChanged)
    assert [(v.bid, v.tunnel.coa) for v in mn.bindings()] == [(1, COA_A)]


def test_rfc5648_bulk_refresh_carries_each_coa_in_its_bid_option():
    mn, s1, s2, _ = two_interfaces(bulk_registration=True)
    due = mn.next_deadline()
    send = bu_of(mn.handle_timer(due))
    bids = send.message.options_of(BindingIdentifier)
    assert sorted((b.bid, b.coa) for b in bids) == [(1, COA_A), (2, COA_B)]
    assert len(of(mn.handle_timer(due + 0.02), SendMh)) == 0  # the other refresh rode along
    # per-BID status: BID 2 refused, BA status 4 (MCOA NOTCOMPLETE) for the whole
    acts = mn.handle(ba(send, status=BaStatus.MCOA_NOTCOMPLETE,
                        bid_statuses={2: BaStatus.MCOA_UNKNOWN_COA}), due + 0.1)
    assert the(acts, Registered).bid == 1
    failed = the(acts, RegistrationFailed)
    assert (failed.bid, failed.status, failed.coa) == (2, 167, COA_B)
    assert {v.bid: v.tunnel.coa for v in mn.bindings()} == {1: COA_A, 2: COA_B}  # BID 2's old binding stands


def test_rfc5648_status_168_falls_back_to_one_bu_per_bid():
    mn, s1, s2, _ = two_interfaces(bulk_registration=True)
    send = bu_of(mn.handle_timer(mn.next_deadline()))
    acts = mn.handle(ba(send, status=BaStatus.MCOA_BULK_REGISTRATION_PROHIBITED, lifetime=0), T0 + 3000)
    singles = of(acts, SendMh)
    assert [s.bids for s in singles] == [(1,), (2,)]
    for s in singles:
        wire(s)
        assert s.message.option(BindingIdentifier).coa is None


def test_rfc5648_ipv4_coa_is_never_bulked_with_ipv6_ones():
    mn = make_mn(multiple_coa=True, bulk_registration=True)
    s1 = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    s2 = bu_of(mn.handle(AddressAdded("wlan0", COA4), T0 + 0.01))
    assert s2.path.encapsulation is Encapsulation.UDP4
    assert s2.message.option(Ipv4CareofAddress).address == COA4
    assert s2.message.option(BindingIdentifier).bid == 2
    mn.handle(ba(s1, bid_statuses={}), T0 + 0.1)
    mn.handle(ba(s2, bid_statuses={}), T0 + 0.1)
    send = bu_of(mn.handle_timer(mn.next_deadline()))
    assert send.bids == (1,)


def test_rfc5648_ba_without_bid_options_is_flagged():
    mn = make_mn(multiple_coa=True)
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    acts = mn.handle(ba(send), T0 + 0.1)
    assert any("RFC 5648" in a.message for a in of(acts, LogEvent)) and of(acts, Registered)


def test_rfc5648_stop_deregisters_every_bid():
    mn, s1, s2, _ = two_interfaces()
    acts = mn.handle(StopRequested(), T0 + 10)
    sends = of(acts, SendMh)
    assert sorted(s.bids for s in sends) == [(1,), (2,)] and all(s.message.lifetime == 0 for s in sends)
    assert not of(acts, FlowsMoved)
    out = mn.handle(ba(sends[0], bid_statuses={}), T0 + 10.1) + mn.handle(ba(sends[1], bid_statuses={}), T0 + 10.2)
    assert sorted(d.bid for d in of(out, Deregistered)) == [1, 2] and of(out, Stopped)


def test_rfc5648_bulk_stop_is_one_bu():
    mn, s1, s2, _ = two_interfaces(bulk_registration=True)
    send = bu_of(mn.handle(StopRequested(), T0 + 10))
    assert send.message.lifetime == 0
    assert sorted(b.bid for b in send.message.options_of(BindingIdentifier)) == [1, 2]


def test_rfc6275_11_5_4_home_with_several_bids_is_one_deregistration_without_bids():
    mn, s1, s2, _ = two_interfaces()
    mn.handle(InterfaceDown("eth0"), T0 + 10)
    acts = mn.handle(AddressAdded("eth0", HOME_LINK), T0 + 10.5)
    home = [s for s in of(acts, SendMh) if s.path.encapsulation is Encapsulation.HOME]
    assert len(home) == 1
    send = home[0]
    wire(send)
    assert send.ipv6_src == HOA and send.message.option(BindingIdentifier) is None
    assert sorted(send.bids) == [1, 2]
    acts = mn.handle(ba(send), T0 + 10.6)
    assert sorted(d.bid for d in of(acts, Deregistered)) == [1, 2] and mn.bindings() == []
