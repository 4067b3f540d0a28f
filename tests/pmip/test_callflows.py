"""LMA and MAG cores wired in memory, every PBU/PBA really encoded and decoded
(sim.py): RFC 5213 Fig. 2 (attach), Fig. 3 (handoff, both message orders),
lifetime expiry, de-registration, multihoming, and the rejection flows."""
from __future__ import annotations

from dataclasses import replace

import pytest
from p4mobility.mh import (
    AccessTechnologyTypeOption,
    BaStatus,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    MnIdentifier,
)
from p4mobility.pmip import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    LogEvent,
    MagBindingInstalled,
    MagBindingRemoved,
    SendRouterAdvertisement,
)
from p4mobility.pmip.lma_state import BceState

from tests.pmip.pmip_helpers import MAG1, MAG2, T0, make_sim, peer_map, pool_prefix

LL = b"\x02\x00\x00\x00\x00\x01"


def ras(sim, mag):
    return sim.actions_of(mag, SendRouterAdvertisement)


def statuses(sim, sender="LMA"):
    return [m.status for m in sim.messages("PBA", sender)]


def test_rfc5213_fig2_attach(sim):
    sim.attach("MAG1", b"mn1", 1, mn_ll_id=LL)
    assert [r.kind for r in sim.timeline if r.kind in ("PBU", "PBA", "RA")] == ["PBU", "PBA", "RA"]
    created = sim.actions_of("LMA", BindingCreated)[0]
    installed = sim.actions_of("MAG1", MagBindingInstalled)[0]
    ra = ras(sim, "MAG1")[0]
    assert created.home_prefixes == installed.hnps == tuple(p.prefix for p in ra.prefixes) == (pool_prefix(0),)
    assert created.paths[0].coa == MAG1 and installed.lma_address == sim.lma.config.lma_address
    assert sim.lma.next_deadline() == T0 + 3600 and sim.mags["MAG1"].next_deadline() == T0 + 2880


def test_rfc5213_fig2_router_solicitation_any_time(sim):
    sim.hold = lambda item, msg: True  # the PBA is late
    sim.attach("MAG1", b"mn1", 1)
    sim.hold = None
    sim.solicit("MAG1", 1)
    assert ras(sim, "MAG1") == []  # no RA before the PBA
    sim.release_held()
    sim.solicit("MAG1", 1)
    assert len(ras(sim, "MAG1")) == 2


def _handoff(sim, reorder: bool):
    sim.attach("MAG1", b"mn1", 1, mn_ll_id=LL)
    hnp = ras(sim, "MAG1")[0].prefixes[0].prefix
    sim.advance(T0 + 30)
    if reorder:  # n-MAG's PBU reaches the LMA before the p-MAG's de-registration
        sim.hold = lambda item, msg: item.src_node == "MAG1"
        sim.detach("MAG1", b"mn1", 1)
        sim.hold = None
        sim.advance(T0 + 30.1)
        sim.attach("MAG2", b"mn1", 5, mn_ll_id=LL, handoff_hint=3)
        sim.advance(T0 + 30.2)
        sim.release_held()
    else:
        sim.detach("MAG1", b"mn1", 1)
        sim.advance(T0 + 30.1)
        sim.attach("MAG2", b"mn1", 5, mn_ll_id=LL, handoff_hint=3)
    return hnp


@pytest.mark.parametrize("reorder", [False, True], ids=["fig3_order", "reordered"])
def test_rfc5213_fig3_handoff_keeps_the_prefix(sim, reorder):
    hnp = _handoff(sim, reorder)
    assert [p.prefix for p in ras(sim, "MAG2")[0].prefixes] == [hnp]
    moved = sim.actions_of("LMA", BindingMoved)
    assert len(moved) == 1 and (moved[0].old_paths[0].coa, moved[0].paths[0].coa) == (MAG1, MAG2)
    views = sim.lma.bindings()
    assert len(views) == 1 and views[0].coa == MAG2 and views[0].state is BceState.ACTIVE
    assert peer_map(sim.lma) == {MAG2: (moved[0].paths[0].tunnel_peer_id, 1)}
    assert sim.mags["MAG1"].binding_update_list() == []
    sim.advance(T0 + 100)  # MinDelayBeforeBCEDelete passes: nothing is deleted
    assert sim.actions_of("LMA", BindingDeleted) == [] and len(sim.lma.bindings()) == 1


def test_rfc5213_fig3_order_dereg_then_reg(sim):
    _handoff(sim, reorder=False)
    assert len(sim.actions_of("LMA", BindingDeregistered)) == 1
    assert statuses(sim) == [0, 0, 0]


def test_rfc5213_5_3_5_late_deregistration_with_newer_timestamp_is_ignored(sim):
    sim.attach("MAG1", b"mn1", 1, mn_ll_id=LL)
    sim.advance(T0 + 30)
    sim.attach("MAG2", b"mn1", 5, mn_ll_id=LL, handoff_hint=3)  # n-MAG sees the MN first
    sim.advance(T0 + 30.1)
    sim.detach("MAG1", b"mn1", 1)  # p-MAG's de-registration is newer but from the old Proxy-CoA
    assert sim.actions_of("LMA", BindingDeregistered) == []
    assert len(sim.messages("PBA")) == 2  # nothing answered the stale PBU (§5.3.5: ignore)
    assert any("StaleDeregistration" in a.message for a in sim.actions_of("LMA", LogEvent))
    assert sim.lma.bindings()[0].coa == MAG2 and sim.lma.bindings()[0].state is BceState.ACTIVE
    sim.advance(T0 + 100)  # the p-MAG retries (1+2+4+8+16 s, then 32 s), gives up; binding untouched
    assert sim.mags["MAG1"].binding_update_list() == [] and sim.lma.bindings()[0].state is BceState.ACTIVE


def test_rfc5213_5_5_late_deregistration_with_older_timestamp_is_157(sim):
    sim.attach("MAG1", b"mn1", 1, mn_ll_id=LL)
    sim.advance(T0 + 30)
    sim.hold = lambda item, msg: item.src_node == "MAG1"
    sim.detach("MAG1", b"mn1", 1)  # timestamped at T0+30 but delayed in the network
    sim.hold = None
    sim.advance(T0 + 30.1)
    sim.attach("MAG2", b"mn1", 5, mn_ll_id=LL, handoff_hint=3)
    sim.release_held()
    assert statuses(sim) == [0, 0, BaStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED]
    assert sim.lma.bindings()[0].coa == MAG2 and sim.mags["MAG1"].binding_update_list() == []


def test_binding_lifetime_expiry_when_the_mag_goes_silent(sim):
    sim.attach("MAG1", b"mn1", 1)
    sim.drop = lambda item, msg: item.src_node == "MAG1"  # the MAG's refreshes never arrive
    sim.advance(T0 + 3600)
    assert sim.actions_of("LMA", BindingDeleted)[0].reason == "expired"
    assert sim.actions_of("MAG1", MagBindingRemoved)[0].reason == "expired"
    assert ras(sim, "MAG1")[-1].router_lifetime == 0
    assert sim.lma.bindings() == [] and sim.mags["MAG1"].binding_update_list() == []


def test_lifetime_refresh_keeps_the_binding(sim):
    sim.attach("MAG1", b"mn1", 1)
    sim.advance(T0 + 4 * 3600)
    refreshes = [m for m in sim.messages("PBU", "MAG1") if m.option(HandoffIndicatorOption).value == 5]
    assert len(refreshes) >= 4 and set(statuses(sim)) == {0}
    assert sim.actions_of("LMA", BindingDeleted) == [] and len(sim.lma.bindings()) == 1


def test_rfc5213_5_3_5_deregistration_and_delete_after_min_delay(sim):
    sim.attach("MAG1", b"mn1", 1)
    sim.advance(T0 + 10)
    sim.detach("MAG1", b"mn1", 1)
    assert sim.lma.bindings()[0].state is BceState.DEREGISTERING
    sim.advance(T0 + 19.99)
    assert sim.actions_of("LMA", BindingDeleted) == []
    sim.advance(T0 + 20)
    assert sim.actions_of("LMA", BindingDeleted)[0].reason == "deregistered"
    assert sim.lma.next_deadline() is None and sim.mags["MAG1"].next_deadline() is None


def test_rfc5213_5_4_multihoming_two_interfaces(sim):
    sim.attach("MAG1", b"mn1", 1, att=4, mn_ll_id=b"\x02\x00\x00\x00\x00\x01")
    sim.attach("MAG2", b"mn1", 2, att=8, mn_ll_id=b"\x02\x00\x00\x00\x00\x02")
    p1 = ras(sim, "MAG1")[0].prefixes[0].prefix
    p2 = ras(sim, "MAG2")[0].prefixes[0].prefix
    assert {p1, p2} == {pool_prefix(0), pool_prefix(1)}
    assert len(sim.lma.bindings_for_mn(b"mn1")) == 2
    sim.advance(T0 + 5)
    sim.detach("MAG2", b"mn1", 2)
    sim.advance(T0 + 20)
    left = sim.lma.bindings_for_mn(b"mn1")
    assert [b.home_prefixes for b in left] == [(p1,)] and left[0].state is BceState.ACTIVE


def test_rfc5213_4_unauthorized_mag_is_153_154(sim):
    sim.attach("ROGUE", b"mn1", 1)
    assert statuses(sim) == [BaStatus.MAG_NOT_AUTHORIZED_FOR_PROXY_REG]
    sim.attach("MAG2", b"only-mag1", 3)
    sim.attach("MAG1", b"stranger", 4)
    assert statuses(sim)[1:] == [154, BaStatus.NOT_LMA_FOR_THIS_MOBILE_NODE]
    assert sim.lma.bindings() == [] and ras(sim, "ROGUE") == [] and ras(sim, "MAG2") == []


def test_rfc5213_5_3_2_prefix_not_authorized_is_155():
    from p4mobility.pmip import MagMnProfile

    from tests.pmip.pmip_helpers import STATIC
    sim = make_sim(profiles=[MagMnProfile(b"mn1", hnps=(STATIC,))])  # MAG profile names mn1 a prefix it may not have
    sim.attach("MAG1", b"mn1", 1)
    assert statuses(sim) == [BaStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX]
    assert sim.mags["MAG1"].binding_update_list() == [] and sim.lma.bindings() == []


def test_rfc5213_5_5_clock_skew_is_156_then_the_mag_resyncs(sim):
    sim.skew["MAG1"] = 5.0
    sim.attach("MAG1", b"mn1", 1)
    assert statuses(sim) == [BaStatus.TIMESTAMP_MISMATCH, 0]
    assert sim.mags["MAG1"].clock_offset == pytest.approx(-5.0)
    assert len(ras(sim, "MAG1")) == 1


def _strip(option_cls):
    def tamper(item, msg):
        if isinstance(msg, BindingUpdate):
            opts = tuple(o for o in msg.options if not isinstance(o, option_cls))
            return replace(msg, options=opts)
        return None
    return tamper


@pytest.mark.parametrize("option_cls,status", [
    (HomeNetworkPrefix, BaStatus.MISSING_HOME_NETWORK_PREFIX_OPTION),
    (MnIdentifier, BaStatus.MISSING_MN_IDENTIFIER_OPTION),
    (HandoffIndicatorOption, BaStatus.MISSING_HANDOFF_INDICATOR_OPTION),
    (AccessTechnologyTypeOption, BaStatus.MISSING_ACCESS_TECH_TYPE_OPTION),
], ids=["158", "160", "161", "162"])
def test_rfc5213_5_3_1_missing_options_end_to_end(sim, option_cls, status):
    sim.tamper = _strip(option_cls)  # a buggy MAG (or a middlebox) drops an option
    sim.attach("MAG1", b"mn1", 1)
    assert statuses(sim) == [status]
    assert sim.lma.bindings() == [] and sim.mags["MAG1"].binding_update_list() == []
    assert ras(sim, "MAG1") == []


def test_rfc5213_6_9_4_lost_pba_is_retransmitted_and_not_duplicated(sim):
    drops = iter([True])
    sim.drop = lambda item, msg: item.src_node == "LMA" and next(drops, False)
    sim.attach("MAG1", b"mn1", 1)
    sim.advance(T0 + 2)
    assert statuses(sim) == [0]  # the second PBA, the first one was lost
    assert len(sim.lma.bindings()) == 1 and len(ras(sim, "MAG1")) == 1
