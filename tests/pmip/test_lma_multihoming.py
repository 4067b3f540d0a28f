"""BCE lookup for multihoming and handoff (RFC 5213 §5.4.1)."""
from __future__ import annotations

from p4mobility.mh import BaStatus
from p4mobility.mh import HandoffIndicator as HI
from p4mobility.pmip import (
    BindingCreated,
    BindingMoved,
    BindingUpdated,
    LogEvent,
    SendMh,
)
from p4mobility.pmip.lma_state import BceState

from tests.pmip.pmip_helpers import (
    MAG1,
    MAG2,
    T0,
    make_lma,
    of,
    pbu,
    pool_prefix,
    rx,
    the,
)

LL1, LL2 = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"


def send(lma, msg, src=MAG1, now=T0):
    return lma.handle(rx(msg, src), now)


def test_rfc5213_5_4_1_1_prefix_of_another_mn_is_155(lma):
    send(lma, pbu(b"mn1"))
    net = lma.bindings()[0].home_prefixes
    out = send(lma, pbu(b"mn2", hnps=net, hi=3, ts=T0 + 1), MAG2, T0 + 1)
    assert the(out, SendMh).message.status == BaStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX


def test_rfc5213_5_4_1_1_prefix_set_mismatch_is_159(lma):
    send(lma, pbu(b"two"))
    first, second = lma.bindings()[0].home_prefixes
    for hnps in ((first,), (first, second, pool_prefix(9))):
        out = send(lma, pbu(b"two", seq=2, hnps=hnps, hi=5, ts=T0 + 1), MAG1, T0 + 1)
        assert the(out, SendMh).message.status == BaStatus.BCE_PBU_PREFIX_SET_DO_NOT_MATCH == 159
    out = send(lma, pbu(b"two", seq=3, hnps=(second, first), hi=5, ts=T0 + 2), MAG1, T0 + 2)
    assert the(out, SendMh).message.status == 0 and of(out, BindingUpdated)


def test_rfc5213_5_4_1_2_same_mn_ll_id_and_att_updates(lma):
    send(lma, pbu(ll=LL1))
    out = send(lma, pbu(seq=2, ll=LL1, hi=3, ts=T0 + 1), MAG2, T0 + 1)
    assert the(out, BindingMoved).home_prefixes == (pool_prefix(0),)


def test_rfc5213_5_4_1_2_second_interface_gets_its_own_session(lma):
    a = send(lma, pbu(ll=LL1, att=4))
    b = send(lma, pbu(seq=2, ll=LL2, att=8, hi=1, ts=T0 + 1), MAG2, T0 + 1)
    ca, cb = the(a, BindingCreated), the(b, BindingCreated)
    assert ca.home_prefixes == (pool_prefix(0),) and cb.home_prefixes == (pool_prefix(1),)
    assert ca.binding_id != cb.binding_id and len(lma.bindings_for_mn(b"mn1")) == 2


def test_rfc5213_5_4_1_2_hi2_with_one_bce_moves_it_to_the_new_interface(lma):
    send(lma, pbu(ll=LL1, att=4))
    out = send(lma, pbu(seq=2, ll=LL2, att=8, hi=HI.HANDOFF_BETWEEN_DIFFERENT_INTERFACES, ts=T0 + 1), MAG2, T0 + 1)
    moved = the(out, BindingMoved)
    assert moved.home_prefixes == (pool_prefix(0),) and (lma.binding(moved.binding_id).mn_ll_id, lma.binding(moved.binding_id).att) == (LL2, 8)
    assert lma.cache.for_ll(b"mn1", 8, LL2) is not None and lma.cache.for_ll(b"mn1", 4, LL1) is None


def test_rfc5213_5_4_1_3_hi3_without_ll_id_updates_the_single_bce(lma):
    send(lma, pbu())
    out = send(lma, pbu(seq=2, hi=HI.HANDOFF_BETWEEN_MAGS_SAME_INTERFACE, ts=T0 + 1), MAG2, T0 + 1)
    assert the(out, BindingMoved).paths[0].coa == MAG2 and len(lma.bindings()) == 1


def test_rfc5213_5_4_1_3_hi1_from_another_mag_is_a_new_session(lma):
    send(lma, pbu())
    out = send(lma, pbu(seq=2, hi=1, ts=T0 + 1), MAG2, T0 + 1)
    assert the(out, BindingCreated).home_prefixes == (pool_prefix(1),)


def test_rfc5213_5_4_1_3_retransmitted_initial_pbu_is_not_a_second_session(lma):
    send(lma, pbu())
    out = send(lma, pbu(seq=2, hi=1, ts=T0 + 1.5), MAG1, T0 + 1.5)
    assert of(out, BindingCreated) == [] and the(out, SendMh).message.status == 0
    assert len(lma.bindings()) == 1 and lma.policy.pools["home"].in_use == 1


def test_rfc5213_5_4_1_hi4_waits_max_delay_then_creates_a_new_session(lma):
    send(lma, pbu())
    out = send(lma, pbu(seq=2, hi=HI.HANDOFF_STATE_UNKNOWN, ts=T0 + 1), MAG2, T0 + 1)
    assert of(out, SendMh) == [] and of(out, LogEvent)  # parked: no PBA yet
    deadline = T0 + 1 + lma.config.max_delay_before_new_bce_assign
    assert lma.next_deadline() == deadline
    assert lma.bindings()[0].state is BceState.HANDOFF_PENDING
    # a retransmission replaces the parked PBU but keeps the deadline
    send(lma, pbu(seq=3, hi=HI.HANDOFF_STATE_UNKNOWN, ts=T0 + 1.2), MAG2, T0 + 1.2)
    assert lma.next_deadline() == deadline
    assert lma.handle_timer(deadline - 0.01) == []
    out = lma.handle_timer(deadline)
    created = the(out, BindingCreated)
    pba = the(out, SendMh).message
    assert created.home_prefixes == (pool_prefix(1),) and pba.sequence == 3 and pba.status == 0
    assert [b.state for b in lma.bindings()] == [BceState.ACTIVE] * 2


def test_rfc5213_5_4_1_hi4_then_old_mag_deregisters_means_handoff(lma):
    send(lma, pbu())
    net = lma.bindings()[0].home_prefixes
    send(lma, pbu(seq=2, hi=HI.HANDOFF_STATE_UNKNOWN, ts=T0 + 1), MAG2, T0 + 1)
    out = send(lma, pbu(seq=5, lifetime=0, hnps=net, hi=5, ts=T0 + 1.1), MAG1, T0 + 1.1)
    pbas = of(out, SendMh)
    assert [(p.dst, p.message.status, p.message.lifetime) for p in pbas] == [(MAG1, 0, 0), (MAG2, 0, 100)]
    assert the(out, BindingMoved).home_prefixes == net
    assert lma.bindings()[0].state is BceState.ACTIVE and len(lma.bindings()) == 1
    assert lma.next_deadline() == T0 + 1.1 + 400  # neither delete nor new-BCE timers remain


def test_rfc5213_5_4_1_hi4_after_deregistration_updates_at_once(lma):
    send(lma, pbu())
    net = lma.bindings()[0].home_prefixes
    send(lma, pbu(seq=2, lifetime=0, hnps=net, hi=5, ts=T0 + 1), MAG1, T0 + 1)
    out = send(lma, pbu(seq=1, hi=HI.HANDOFF_STATE_UNKNOWN, ts=T0 + 2), MAG2, T0 + 2)
    assert the(out, BindingMoved).home_prefixes == net


def test_rfc5213_5_4_1_config_may_create_new_session_at_once():
    lma = make_lma(create_new_bce_on_unknown_handoff=True)
    send(lma, pbu())
    out = send(lma, pbu(seq=2, hi=HI.HANDOFF_STATE_UNKNOWN, ts=T0 + 1), MAG2, T0 + 1)
    assert the(out, BindingCreated).home_prefixes == (pool_prefix(1),)
