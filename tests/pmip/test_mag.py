"""MAG core (RFC 5213 §6): PBU contents, retransmission, rate limit, PBA
handling for every status, RA, refresh, detach."""
from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from p4mobility.mh import (
    AccessTechnologyTypeOption,
    BaStatus,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MnIdentifier,
    MnLinkLayerIdentifier,
    Timestamp,
)
from p4mobility.pmip import (
    BulState,
    LogEvent,
    MagBindingInstalled,
    MagBindingRemoved,
    MagConfig,
    MagMnProfile,
    MnAttached,
    MnDetached,
    MobileAccessGateway,
    PbaReceived,
    ReleaseUplink,
    RouterSolicitationReceived,
    SendMh,
    SendRouterAdvertisement,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from p4mobility.pmip.pba import make_pba

from tests.pmip.pmip_helpers import LMAA, MAG1, STATIC, T0, of, pool_prefix, the

LL = b"\x02\x00\x00\x00\x00\x01"
HNP = pool_prefix(0)


def make_mag(**cfg) -> MobileAccessGateway:
    profiles = cfg.pop("profiles", [MagMnProfile(b"mn1"), MagMnProfile(b"mn2"),
                                    MagMnProfile(b"static", hnps=(STATIC,))])
    return MobileAccessGateway(MagConfig(MAG1, LMAA, **cfg), profiles)


def attach(mag, mn=b"mn1", port=1, now=T0, **kw):
    return mag.handle(MnAttached(mn, port, 4, **kw), now)


def answer(mag, pbu, now, status=0, hnps=(HNP,), lla=None, src=LMAA, **kw):
    pba = make_pba(pbu, status, now=now, lifetime=kw.pop("lifetime", pbu.lifetime), hnps=hnps,
                   stored_link_local=lla, **kw)
    return mag.handle(PbaReceived(pba, src, MAG1), now)


def sent(actions):
    return the(actions, SendMh).message


def test_rfc5213_6_9_1_5_pbu_contents():
    mag = make_mag()
    out = attach(mag, mn_ll_id=LL)
    send = the(out, SendMh)
    bu = send.message
    assert (send.src, send.dst) == (MAG1, LMAA)
    assert bu.ack and bu.proxy and bu.lifetime == 3600 // 4
    assert bu.option(MnIdentifier).identifier == b"mn1"
    assert bu.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix(0, IPv6Address("::")),)  # ALL_ZERO
    assert bu.option(HandoffIndicatorOption).value == 1
    assert bu.option(AccessTechnologyTypeOption).value == 4
    assert bu.option(MnLinkLayerIdentifier).identifier == LL
    assert bu.option(LinkLocalAddress).address == mag.config.own_link_local
    assert bu.option(Timestamp) == Timestamp.from_seconds(T0)
    assert not of(out, SendRouterAdvertisement)  # never before the PBA


def test_rfc5213_6_2_profile_prefix_and_no_profile():
    mag = make_mag()
    bu = sent(attach(mag, b"static"))
    assert bu.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix(64, STATIC.network_address),)
    out = attach(mag, b"nobody", port=2)
    assert of(out, SendMh) == [] and of(out, LogEvent)


def test_rfc5213_6_8_handoff_asks_for_the_stored_link_local():
    mag = make_mag()
    bu = sent(attach(mag, handoff_hint=3))
    assert bu.option(HandoffIndicatorOption).value == 3
    assert bu.option(LinkLocalAddress).address == IPv6Address("::")
    out = answer(mag, bu, T0, lla=IPv6Address("fe80::77"))
    assert the(out, SendRouterAdvertisement).source == IPv6Address("fe80::77")


def test_rfc5213_9_3_fixed_link_local_means_no_option():
    fixed = IPv6Address("fe80::1:1")
    mag = make_mag(fixed_mag_link_local_address_on_all_access_links=fixed,
                   fixed_mag_link_layer_address_on_all_access_links=b"\x02\x11\x22\x33\x44\x55")
    bu = sent(attach(mag))
    assert bu.option(LinkLocalAddress) is None
    ra = the(answer(mag, bu, T0), SendRouterAdvertisement)
    assert ra.source == fixed and ra.source_link_layer_address == b"\x02\x11\x22\x33\x44\x55"


def test_rfc5213_6_9_1_2_accepted_pba_installs_then_advertises():
    mag = make_mag()
    bu = sent(attach(mag, mn_ll_id=LL))
    out = answer(mag, bu, T0 + 0.01)
    assert [type(a) for a in out] == [TunnelPeerAdded, MagBindingInstalled, ReleaseUplink, SendRouterAdvertisement]
    peer, inst, release, ra = out
    assert (peer.local, peer.remote) == (MAG1, LMAA)
    assert (release.access_port, release.hnps, release.lma_address, release.proxy_coa) == (1, (HNP,), LMAA, MAG1)
    assert inst.hnps == (HNP,) and inst.access_port == 1 and inst.tunnel_peer_id == peer.tunnel_peer_id
    assert inst.lma_address == LMAA and inst.mn_ll_id == LL and inst.lifetime == 3600
    assert ra.access_port == 1 and [p.prefix for p in ra.prefixes] == [HNP]
    assert ra.prefixes[0].valid_lifetime == 3600 and ra.prefixes[0].on_link and ra.prefixes[0].autonomous
    assert ra.router_lifetime == min(1800, 3600)


def test_rfc5213_6_9_2_router_solicitation_answered_only_when_bound():
    mag = make_mag()
    bu = sent(attach(mag))
    assert mag.handle(RouterSolicitationReceived(1), T0 + 0.1) == []
    answer(mag, bu, T0 + 0.2)
    ra = the(mag.handle(RouterSolicitationReceived(1), T0 + 100.2), SendRouterAdvertisement)
    assert ra.prefixes[0].valid_lifetime == 3500  # remaining binding lifetime, not more


@pytest.mark.parametrize("why", ["sequence", "source", "mn_id", "timestamp"])
def test_rfc5213_6_9_1_2_non_matching_pba_is_ignored(why):
    mag = make_mag()
    bu = sent(attach(mag))
    from dataclasses import replace
    kw = {}
    if why == "sequence":
        bu = replace(bu, sequence=bu.sequence + 1)
    elif why == "source":
        kw["src"] = IPv6Address("2001:db8:99::1")
    elif why == "mn_id":
        bu = replace(bu, options=(MnIdentifier(b"mn2"),) + bu.options[1:])
    else:
        bu = replace(bu, options=bu.options[:-1] + (Timestamp.from_seconds(T0 - 1),))
    out = answer(mag, bu, T0, **kw)
    assert not of(out, MagBindingInstalled) and of(out, LogEvent)
    assert mag.binding_update_list()[0].state is BulState.REGISTERING


def test_rfc5213_6_9_4_retransmission_doubles_up_to_max_then_gives_up():
    mag = make_mag(max_pbu_retransmissions=7)
    bu0 = sent(attach(mag))
    expected = [1.5, 3.0, 6.0, 12.0, 24.0, 32.0, 32.0]  # InitialBindackTimeoutFirstReg doubling, capped
    t, seqs, stamps = T0, [bu0.sequence], [bu0.option(Timestamp).value]
    for gap in expected:
        assert mag.next_deadline() == pytest.approx(t + gap)
        t += gap
        assert mag.handle_timer(t - 0.001) == []
        bu = sent(mag.handle_timer(t))
        seqs.append(bu.sequence)
        stamps.append(bu.option(Timestamp).value)
    assert len(set(seqs)) == len(seqs) and stamps == sorted(stamps)  # fresh SN and Timestamp each time
    out = mag.handle_timer(t + 32.0)
    assert of(out, SendMh) == [] and of(out, LogEvent)[0].level == "error"
    assert mag.binding_update_list() == [] and mag.next_deadline() is None


def test_rfc5213_6_9_4_reregistration_uses_initial_bindack_timeout():
    mag = make_mag()
    bu = sent(attach(mag))
    answer(mag, bu, T0)
    refresh_at = T0 + 3600 * 0.8
    assert mag.next_deadline() == refresh_at
    assert sent(mag.handle_timer(refresh_at)).option(HandoffIndicatorOption).value == 5
    assert mag.next_deadline() == refresh_at + 1.0


def test_rfc5213_6_9_4_no_more_than_max_update_rate_per_second():
    mag = make_mag(max_pbu_retransmissions=10)
    bu = sent(attach(mag))
    times = [T0]
    for i in range(2):  # each 156 answer makes the MAG resend at once
        bu = sent(answer(mag, bu, T0 + 0.1 * (i + 1), status=BaStatus.TIMESTAMP_MISMATCH))
        times.append(T0 + 0.1 * (i + 1))
    out = answer(mag, bu, T0 + 0.3, status=BaStatus.TIMESTAMP_MISMATCH)
    assert of(out, SendMh) == []  # 4th PBU within one second: deferred
    assert mag.next_deadline() == pytest.approx(T0 + 1.0)
    assert sent(mag.handle_timer(T0 + 1.0)).sequence > bu.sequence


def test_rfc5213_5_5_timestamp_mismatch_resynchronises_clock():
    mag = make_mag()
    bu = sent(attach(mag))
    lma_time = T0 + 42.0  # the LMA's clock runs 42 s ahead; 156 carries it (§5.3.6)
    pba = make_pba(bu, BaStatus.TIMESTAMP_MISMATCH, now=lma_time)
    assert pba.option(Timestamp) == Timestamp.from_seconds(lma_time)
    retry = sent(mag.handle(PbaReceived(pba, LMAA, MAG1), T0 + 0.01))
    assert retry.option(Timestamp).seconds == pytest.approx(lma_time, abs=1e-4)
    assert mag.clock_offset == pytest.approx(42.0 - 0.01)
    assert retry.sequence != bu.sequence


def test_rfc6275_11_7_3_sequence_out_of_window_resynchronises():
    mag = make_mag(timestamp_based_approach_in_use=False)
    bu = sent(attach(mag))
    assert bu.option(Timestamp) is None
    retry = sent(answer(mag, bu, T0, status=BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=5000))
    assert retry.sequence == 5001


REJECTIONS = [128, 129, 130, 133, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162]


@pytest.mark.parametrize("status", REJECTIONS)
def test_rfc5213_6_9_1_2_rejected_initial_registration_is_not_served(status):
    mag = make_mag()
    bu = sent(attach(mag))
    out = answer(mag, bu, T0, status=status, hnps=None)
    assert not of(out, MagBindingInstalled) and not of(out, SendRouterAdvertisement)
    assert of(out, LogEvent)[0].level == "error"
    assert mag.binding_update_list() == [] and mag.next_deadline() is None
    assert mag.handle(RouterSolicitationReceived(1), T0 + 1) == []


@pytest.mark.parametrize("status", [129, 153, 154, 155, 159])
def test_rfc5213_6_9_1_2_rejected_refresh_withdraws_the_prefixes(status):
    mag = make_mag()
    answer(mag, sent(attach(mag)), T0)
    rbu = sent(mag.handle_timer(T0 + 2880))
    assert rbu.option(HandoffIndicatorOption).value == 5
    assert rbu.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix(64, HNP.network_address),)
    out = answer(mag, rbu, T0 + 2880, status=status, hnps=None)
    ra = the(out, SendRouterAdvertisement)
    assert ra.router_lifetime == 0 and all(p.valid_lifetime == 0 for p in ra.prefixes)
    assert the(out, MagBindingRemoved).reason == "rejected" and of(out, TunnelPeerRemoved)


def test_accepted_pba_without_prefix_is_treated_as_failure():
    mag = make_mag()
    out = answer(mag, sent(attach(mag)), T0, hnps=())
    assert not of(out, MagBindingInstalled) and mag.binding_update_list() == []


def test_rfc5213_6_9_1_3_refresh_extends_without_reinstalling():
    mag = make_mag()
    answer(mag, sent(attach(mag)), T0)
    rbu = sent(mag.handle_timer(T0 + 2880))
    out = answer(mag, rbu, T0 + 2880.1)
    assert [type(a) for a in out] == [SendRouterAdvertisement]
    assert out[0].prefixes[0].valid_lifetime == 3600
    assert mag.next_deadline() == pytest.approx(T0 + 2880.1 + 2880)


def test_refresh_without_answer_keeps_forwarding_until_expiry():
    mag = make_mag(max_pbu_retransmissions=1)
    answer(mag, sent(attach(mag)), T0)
    mag.handle_timer(T0 + 2880)          # refresh PBU
    mag.handle_timer(T0 + 2881)          # one retransmission
    out = mag.handle_timer(T0 + 2883)    # gives up, binding stays
    assert of(out, MagBindingRemoved) == [] and mag.binding_update_list()[0].state is BulState.BOUND
    assert mag.handle_timer(T0 + 3599.9) == []
    out = mag.handle_timer(T0 + 3600)
    assert the(out, MagBindingRemoved).reason == "expired"
    assert the(out, SendRouterAdvertisement).router_lifetime == 0
    assert mag.binding_update_list() == []


def test_rfc5213_6_9_1_4_detach_removes_forwarding_then_deregisters():
    mag = make_mag()
    answer(mag, sent(attach(mag)), T0)
    out = mag.handle(MnDetached(b"mn1", 1), T0 + 10)
    assert [type(a) for a in out] == [MagBindingRemoved, TunnelPeerRemoved, SendMh]
    dbu = out[-1].message
    assert dbu.lifetime == 0 and dbu.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix(64, HNP.network_address),)
    assert mag.next_deadline() == T0 + 10 + 1.0  # INITIAL_BINDACK_TIMEOUT
    out = answer(mag, dbu, T0 + 10.1, lifetime=0)
    assert not of(out, SendMh) and mag.binding_update_list() == [] and mag.next_deadline() is None


def test_detach_before_any_pba_just_forgets():
    mag = make_mag()
    attach(mag)
    out = mag.handle(MnDetached(b"mn1", 1), T0 + 0.5)
    assert of(out, SendMh) == [] and mag.binding_update_list() == [] and mag.next_deadline() is None


def test_rfc5213_6_10_4_tunnel_shared_by_mns_of_one_lma():
    mag = make_mag()
    a = answer(mag, sent(attach(mag, b"mn1", 1)), T0)
    b = answer(mag, sent(attach(mag, b"mn2", 2)), T0, hnps=(pool_prefix(1),))
    assert len(of(a, TunnelPeerAdded)) == 1 and of(b, TunnelPeerAdded) == []
    assert the(a, MagBindingInstalled).tunnel_peer_id == the(b, MagBindingInstalled).tunnel_peer_id
    assert of(mag.handle(MnDetached(b"mn1", 1), T0 + 1), TunnelPeerRemoved) == []
    assert of(mag.handle(MnDetached(b"mn2", 2), T0 + 1), TunnelPeerRemoved)


def test_rfc5213_6_9_4_rate_limit_holds_across_attach_detach_flapping():
    mag = make_mag()
    answer(mag, sent(attach(mag, now=T0)), T0)                   # PBU 1
    assert sent(mag.handle(MnDetached(b"mn1", 1), T0 + 0.1)).lifetime == 0  # PBU 2
    answer(mag, sent(attach(mag, now=T0 + 0.2)), T0 + 0.2)       # PBU 3 (a new BUL entry)
    out = mag.handle(MnDetached(b"mn1", 1), T0 + 0.3)            # would be PBU 4 within 1 s
    assert of(out, SendMh) == [] and of(out, MagBindingRemoved)
    assert mag.next_deadline() == pytest.approx(T0 + 1.0)
    assert sent(mag.handle_timer(T0 + 1.0)).lifetime == 0


def test_mag_ignores_what_is_not_a_pba():
    from p4mobility.pmip import PbuReceived
    mag = make_mag()
    bu = sent(attach(mag))
    assert of(mag.handle(PbaReceived(bu, LMAA, MAG1), T0), LogEvent)
    assert of(mag.handle(PbuReceived(bu, LMAA, MAG1), T0), LogEvent)
    assert mag.binding_update_list()[0].state is BulState.REGISTERING
