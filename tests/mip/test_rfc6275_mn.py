"""Mobile node, RFC 6275 §11 home registration: BU contents, retransmission
and rate limit (§11.8), sequence numbers (§9.5.1), BA handling (§11.7.3),
refresh, BRR (§11.7.4), Binding Error (§11.3.6), returning home (§11.5.4),
movement with the data tunnel kept until the BA (draft-laganier req. 3), stop.
``now`` is stepped by hand; every BU is encoded and decoded with the MH codec."""
from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from p4mobility.mh import (AlternateCareofAddress, BaStatus, BindingError, BindingIdentifier,
                           BindingRefreshAdvice, BindingRefreshRequest, Ipv4CareofAddress)
from p4mobility.mip import (AddressAdded, AddressRemoved, AtHome, BeReceived, BrrReceived, BulState,
                            Deregistered, Encapsulation, InterfaceDown, LogEvent, PrefixDiscoveryNeeded,
                            Registered, RegistrationFailed, SendMh, Stopped, StopRequested, TunnelChanged,
                            seq_newer, seq_next)
from tests.mip.mip_helpers import (COA_A, COA_A2, COA_B, HA, HOA, HOME_LINK, T0, ba, bu_of, make_mn, of,
                                   registered, the)


def test_rfc6275_11_7_1_bu_from_an_ipv6_coa():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    bu = send.message
    assert bu.ack and bu.home_registration  # §11.7.1: A and H MUST be set
    assert not bu.key_mgmt_compat and not bu.proxy and not bu.force_udp
    assert bu.sequence == 1 and bu.lifetime == 3600 // 4
    # the CoA is the IPv6 source, the HoA rides in a Home Address option,
    # and the Alternate CoA option repeats the CoA inside ESP
    assert send.ipv6_src == COA_A and send.home_address_option and send.home_address == HOA
    assert send.ipv6_dst == HA and send.checksum_src == HOA
    assert bu.option(AlternateCareofAddress).address == COA_A
    assert bu.option(BindingIdentifier) is None and bu.option(Ipv4CareofAddress) is None
    assert send.path.encapsulation is Encapsulation.IPV6 and send.path.coa == COA_A and send.path.ha == HA
    assert mn.bindings()[0].state is BulState.REGISTERING


def test_rfc6275_11_7_1_lifetime_capped_by_the_coa_valid_lifetime():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A, valid_lifetime=100.0), T0))
    assert send.message.lifetime == 100 // 4
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A, valid_lifetime=1.0), T0))
    assert send.message.lifetime == 1  # MUST be non-zero


def test_rfc6275_11_8_first_registration_backoff_and_new_sequence_numbers():
    mn = make_mn()
    first = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    now, waits, seqs = T0, [], [first.message.sequence]
    for _ in range(8):
        deadline = mn.next_deadline()
        waits.append(round(deadline - now, 6))
        now = deadline
        send = bu_of(mn.handle_timer(now))
        seqs.append(send.message.sequence)
    # InitialBindackTimeoutFirstReg 1.5 s, doubled, capped at MAX_BINDACK_TIMEOUT 32 s
    assert waits == [1.5, 3.0, 6.0, 12.0, 24.0, 32.0, 32.0, 32.0]
    assert all(seq_newer(b, a) for a, b in zip(seqs, seqs[1:]))  # §11.8: greater each time


def test_rfc6275_11_8_reregistration_starts_at_initial_bindack_timeout():
    mn = make_mn()
    registered(mn)
    due = mn.next_deadline()  # the refresh
    bu_of(mn.handle_timer(due))
    assert mn.next_deadline() - due == pytest.approx(1.0)


def test_rfc6275_11_8_registration_gives_up_when_a_limit_is_set():
    mn = make_mn(max_bu_retransmissions=2)
    bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    bu_of(mn.handle_timer(mn.next_deadline()))
    bu_of(mn.handle_timer(mn.next_deadline()))
    acts = mn.handle_timer(mn.next_deadline())
    assert not of(acts, SendMh) and the(acts, LogEvent).level == "error"
    assert mn.next_deadline() is None and mn.bindings()[0].state is BulState.IDLE
    mn.handle(AddressRemoved("eth0", COA_A), T0 + 100)
    again = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0 + 101))  # address back: try again
    assert again.path.coa == COA_A


def test_rfc6275_11_8_max_update_rate_defers_the_fourth_bu():
    mn = make_mn()
    sends = []
    for i in range(4):  # the CoA changes four times within one second
        acts = mn.handle(AddressAdded("eth0", IPv6Address(int(COA_A) + i)), T0 + 0.1 * i)
        if i < 3:
            mn.handle(AddressRemoved("eth0", IPv6Address(int(COA_A) + i)), T0 + 0.1 * i + 0.01)
        sends += of(acts, SendMh)
    assert len(sends) == 3  # MAX_UPDATE_RATE
    assert mn.next_deadline() == pytest.approx(T0 + 1.0)
    late = bu_of(mn.handle_timer(T0 + 1.0))
    assert late.path.coa == IPv6Address(int(COA_A) + 3)


def test_rfc6275_9_5_1_sequence_number_wraps_modulo_2_16():
    assert seq_next(0xFFFF) == 0 and seq_newer(0, 0xFFFF) and not seq_newer(0xFFFF, 0)
    assert seq_newer(0x7FFF, 0) and not seq_newer(0x8000, 0)
    mn = make_mn(sequence=0xFFFE)
    first = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    second = bu_of(mn.handle_timer(mn.next_deadline()))
    assert (first.message.sequence, second.message.sequence) == (0xFFFF, 0)
    acts = mn.handle(ba(second), T0 + 2)
    assert the(acts, Registered).coa == COA_A and mn.sequence == 0


def test_rfc6275_11_7_1_status_135_continues_after_the_has_number():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    acts = mn.handle(ba(send, status=BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=40000, lifetime=0), T0 + 0.1)
    again = bu_of(acts)
    assert again.message.sequence == 40001  # the next value after the HA's last accepted one
    acts = mn.handle(ba(again), T0 + 0.2)
    assert the(acts, Registered).coa == COA_A


def test_rfc6275_11_7_1_status_135_is_not_followed_for_ever():
    mn = make_mn(max_sequence_resyncs=2)
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    for i in range(2):
        send = bu_of(mn.handle(ba(send, status=135, sequence=7, lifetime=0), T0 + i))
    acts = mn.handle(ba(send, status=135, sequence=7, lifetime=0), T0 + 3)
    assert not of(acts, SendMh) and the(acts, RegistrationFailed).status == 135


def test_rfc6275_11_7_3_only_the_matching_ba_from_the_home_agent_counts():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    for wrong in (ba(send, sequence=send.message.sequence + 1), ba(send, src=COA_B), ba(send, dst=COA_A)):
        acts = mn.handle(wrong, T0 + 0.1)
        assert of(acts, LogEvent) and not of(acts, Registered) and not of(acts, TunnelChanged)
    retx = bu_of(mn.handle_timer(mn.next_deadline()))
    acts = mn.handle(ba(send), T0 + 2)  # the earlier transmission's number is no longer outstanding
    assert not of(acts, Registered)
    assert of(mn.handle(ba(retx), T0 + 2.1), Registered)


def test_rfc6275_11_7_3_accepted_ba_installs_the_tunnel_and_counts_from_the_bu():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    acts = mn.handle(ba(send, lifetime=100), T0 + 0.5)  # granted 400 s of the 3600 asked
    tunnel = the(acts, TunnelChanged)
    assert tunnel.tunnel.encapsulation is Encapsulation.IPV6 and tunnel.previous is None
    assert (tunnel.tunnel.coa, tunnel.tunnel.ha) == (COA_A, HA)
    reg = the(acts, Registered)
    assert reg.lifetime == 400 and reg.expires_at == T0 + 400  # remaining lifetime from the BU's sending
    assert acts.index(tunnel) < acts.index(reg)
    assert mn.next_deadline() == pytest.approx(T0 + 0.8 * 400)  # refresh before expiry


def test_rfc6275_11_7_3_refresh_keeps_the_tunnel():
    mn = make_mn()
    registered(mn)
    due = mn.next_deadline()
    refresh = bu_of(mn.handle_timer(due))
    assert refresh.path.coa == COA_A and refresh.message.lifetime == 900
    assert mn.bindings()[0].state is BulState.UPDATING
    acts = mn.handle(ba(refresh), due + 0.2)
    assert not of(acts, TunnelChanged) and the(acts, Registered).refreshed


def test_rfc6275_6_2_4_binding_refresh_advice_brings_the_refresh_forward():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    mn.handle(ba(send, options=(BindingRefreshAdvice(15),)), T0 + 0.1)
    assert mn.next_deadline() == pytest.approx(T0 + 60)


def test_rfc6275_11_7_3_unanswered_refresh_ends_in_expiry():
    mn = make_mn()
    send, _ = registered(mn, lifetime=25)  # 100 s
    acts: list = []
    while (due := mn.next_deadline()) is not None and due <= T0 + 100:
        acts += mn.handle_timer(due)
    gone = [a for a in acts if isinstance(a, TunnelChanged)]
    assert gone and gone[-1].tunnel is None and gone[-1].previous.coa == COA_A
    assert of(acts, Deregistered)[-1].reason == "expired"
    assert mn.bindings()[0].state is BulState.REGISTERING  # the BU is still out: keeps trying


def test_rfc6275_11_7_3_rejection_stops_bus_for_that_coa():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    acts = mn.handle(ba(send, status=BaStatus.ADMINISTRATIVELY_PROHIBITED, lifetime=0), T0 + 0.1)
    failed = the(acts, RegistrationFailed)
    assert (failed.status, failed.coa) == (129, COA_A) and not of(acts, TunnelChanged)
    assert mn.next_deadline() is None
    # the same address reported again (a lifetime update) does not bring the BU back
    assert not of(mn.handle(AddressAdded("eth0", COA_A, valid_lifetime=600), T0 + 5), SendMh)
    # another CoA is a chance to correct the cause (§11.7.3)
    other = bu_of(mn.handle(AddressAdded("eth1", COA_B), T0 + 6))
    assert other.path.coa == COA_B
    # and the refused address, once gone and back, is tried again
    mn.handle(AddressRemoved("eth0", COA_A), T0 + 7)
    mn2 = make_mn()
    s2 = bu_of(mn2.handle(AddressAdded("eth0", COA_A), T0))
    mn2.handle(ba(s2, status=129, lifetime=0), T0 + 0.1)
    mn2.handle(AddressRemoved("eth0", COA_A), T0 + 1)
    assert bu_of(mn2.handle(AddressAdded("eth0", COA_A), T0 + 2)).path.coa == COA_A


def test_rfc6275_11_7_3_status_1_asks_for_prefix_discovery():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    acts = mn.handle(ba(send, status=BaStatus.ACCEPTED_PREFIX_DISCOVERY_NECESSARY), T0 + 0.1)
    assert of(acts, PrefixDiscoveryNeeded) and of(acts, Registered)


def test_rfc6275_11_7_4_brr_from_the_home_agent_triggers_a_bu():
    mn = make_mn()
    registered(mn)
    ignored = mn.handle(BrrReceived(BindingRefreshRequest(), COA_B, HOA), T0 + 10)
    assert not of(ignored, SendMh)
    send = bu_of(mn.handle(BrrReceived(BindingRefreshRequest(), HA, HOA), T0 + 10))
    assert send.path.coa == COA_A and send.message.lifetime > 0


def test_rfc6275_11_3_6_binding_error_status_1_registers_again():
    mn = make_mn()
    registered(mn)
    wrong = BindingError(1, COA_B)
    assert not of(mn.handle(BeReceived(wrong, HA, COA_A), T0 + 10), SendMh)
    assert not of(mn.handle(BeReceived(BindingError(2, HOA), HA, COA_A), T0 + 10), SendMh)
    send = bu_of(mn.handle(BeReceived(BindingError(1, HOA), HA, COA_A), T0 + 10))
    assert send.path.coa == COA_A
    assert mn.next_deadline() - (T0 + 10) == pytest.approx(1.5)  # the HA holds no binding: first registration


def test_rfc6275_11_5_4_returning_home_deregisters_from_the_home_address():
    mn = make_mn()
    registered(mn)
    mn.handle(AddressRemoved("eth0", COA_A), T0 + 10)
    acts = mn.handle(AddressAdded("eth0", HOME_LINK), T0 + 10)
    send = bu_of(acts)
    bu = send.message
    assert bu.lifetime == 0 and bu.ack and bu.home_registration
    assert send.path.encapsulation is Encapsulation.HOME
    assert send.ipv6_src == HOA and not send.home_address_option
    assert bu.option(AlternateCareofAddress).address == HOA and bu.option(BindingIdentifier) is None
    assert not of(acts, TunnelChanged)  # the tunnel goes with the BA
    acts = mn.handle(ba(send), T0 + 10.1)
    assert the(acts, TunnelChanged).tunnel is None
    assert the(acts, Deregistered).reason == "home" and the(acts, AtHome).interface == "eth0"
    assert mn.bindings() == [] and mn.next_deadline() is None


def test_rfc6275_11_5_4_status_133_at_home_also_ends_the_binding():
    mn = make_mn()
    registered(mn)
    send = bu_of(mn.handle(AddressAdded("eth1", HOME_LINK), T0 + 10))
    acts = mn.handle(ba(send, status=BaStatus.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE, lifetime=0), T0 + 10.1)
    assert of(acts, AtHome) and mn.bindings() == []


def test_draft_laganier_req3_bu_leaves_the_new_coa_while_data_stays():
    mn = make_mn()
    registered(mn)
    mn.handle(AddressAdded("eth0", COA_A2), T0 + 20)
    acts = mn.handle(AddressRemoved("eth0", COA_A), T0 + 20)
    send = bu_of(acts)
    assert send.path.coa == COA_A2 and send.ipv6_src == COA_A2
    assert send.message.option(AlternateCareofAddress).address == COA_A2
    assert not of(acts, TunnelChanged)
    view = mn.bindings()[0]
    assert view.tunnel.coa == COA_A and view.pending_coa == COA_A2  # data on the old tunnel
    acts = mn.handle(ba(send), T0 + 20.3)
    moved = the(acts, TunnelChanged)
    assert moved.tunnel.coa == COA_A2 and moved.previous.coa == COA_A
    assert not the(acts, Registered).refreshed


def test_draft_laganier_req3_rejected_move_keeps_the_old_tunnel():
    mn = make_mn()
    registered(mn)
    send = bu_of(mn.handle(AddressAdded("eth1", COA_B), T0 + 20) +
                 mn.handle(InterfaceDown("eth0"), T0 + 20))
    acts = mn.handle(ba(send, status=129, lifetime=0), T0 + 20.1)
    assert not of(acts, TunnelChanged)
    view = mn.bindings()[0]
    assert view.state is BulState.BOUND and view.tunnel.coa == COA_A


def test_rfc6275_11_7_1_single_binding_stays_on_the_interface_in_use():
    mn = make_mn()
    registered(mn)
    assert not of(mn.handle(AddressAdded("eth1", COA_B), T0 + 1), SendMh)


def test_stop_deregisters_then_reports_stopped():
    mn = make_mn()
    registered(mn)
    send = bu_of(mn.handle(StopRequested(), T0 + 30))
    assert send.message.lifetime == 0 and send.path.coa == COA_A and send.home_address_option
    assert send.ipv6_src == COA_A and send.message.option(AlternateCareofAddress).address == HOA  # §6.1.7
    acts = mn.handle(ba(send), T0 + 30.1)
    assert the(acts, Deregistered).reason == "stopped" and the(acts, TunnelChanged).tunnel is None
    assert of(acts, Stopped) and mn.stopped and mn.next_deadline() is None


def test_rfc6275_11_8_deregistration_gives_up():
    mn = make_mn(max_dereg_retransmissions=1)
    registered(mn)
    bu_of(mn.handle(StopRequested(), T0 + 30))
    bu_of(mn.handle_timer(mn.next_deadline()))
    acts = mn.handle_timer(mn.next_deadline())
    assert the(acts, Deregistered).reason == "no answer" and of(acts, Stopped)


def test_stop_without_any_binding_is_immediate():
    mn = make_mn()
    assert of(mn.handle(StopRequested(), T0), Stopped)


def test_events_an_adapter_got_wrong_are_logged_not_raised():
    mn = make_mn()
    send = bu_of(mn.handle(AddressAdded("eth0", COA_A), T0))
    for bad in (AddressAdded("eth0", "2001:db8::1"), BrrReceived(send.message, HA, HOA), object()):
        acts = mn.handle(bad, T0 + 0.1)
        assert [type(a) for a in acts] == [LogEvent]
    assert mn.bindings()[0].state is BulState.REGISTERING
