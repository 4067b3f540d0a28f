"""LMA binding life cycle (RFC 5213 §5.3.2-§5.3.6): create, refresh, handoff,
de-register, expire; PBA contents; ids, tunnel peers, pools."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

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
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    HnpPool,
    LogEvent,
    MnPolicy,
    PolicyStore,
    ReleaseDownlink,
    SendMh,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from p4mobility.pmip.lma_state import BceState

from tests.pmip.pmip_helpers import (
    LMAA,
    MAG1,
    MAG2,
    STATIC,
    T0,
    make_lma,
    make_policy,
    of,
    pbu,
    peer_map,
    pool_prefix,
    rx,
    the,
)


def register(lma, mn=b"mn1", src=MAG1, now=T0, **kw):
    out = lma.handle(rx(pbu(mn, ts=now, **kw), src), now)
    assert the(out, SendMh).message.status == 0, out
    return out


def test_rfc5213_5_3_2_initial_registration_allocates_a_pool_prefix(lma):
    out = register(lma, ll=b"\x02\x00\x00\x00\x00\x01", lla=IPv6Address("fe80::a"))
    assert [type(a) for a in out] == [TunnelPeerAdded, BindingCreated, SendMh]  # data plane before PBA
    peer, created, send = out
    assert created.home_prefixes == (pool_prefix(0),)
    assert (created.paths[0].coa, created.paths[0].local, created.mn_id) == (MAG1, LMAA, b"mn1")
    assert created.paths[0].tunnel_peer_id == peer.tunnel_peer_id and (peer.local, peer.remote) == (LMAA, MAG1)
    assert created.binding_id == 1 and created.lifetime == 400 and created.expires_at == T0 + 400
    assert (lma.binding(created.binding_id).mn_ll_id, lma.binding(created.binding_id).att) == (b"\x02\x00\x00\x00\x00\x01", 4)
    assert lma.next_deadline() == T0 + 400
    bce = lma.cache.by_id[1]  # every §5.1 field is kept
    assert (bce.proxy_registration, bce.handoff_indicator, bce.mag_link_local) == (True, 1, IPv6Address("fe80::a"))
    assert bce.timestamp == Timestamp.from_seconds(T0).value and bce.sequence == 1


def test_rfc5213_5_3_6_pba_contents(lma):
    ll = b"\x02\x00\x00\x00\x00\x01"
    out = register(lma, seq=4242, ll=ll, lla=IPv6Address("fe80::a"), hi=1, att=8)
    pba = the(out, SendMh).message
    assert pba.proxy and pba.sequence == 4242 and pba.lifetime == 100
    assert pba.option(MnIdentifier).identifier == b"mn1"
    assert pba.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix(64, pool_prefix(0).network_address),)
    assert pba.option(HandoffIndicatorOption).value == 1
    assert pba.option(AccessTechnologyTypeOption).value == 8
    assert pba.option(MnLinkLayerIdentifier).identifier == ll
    assert pba.option(LinkLocalAddress).address == IPv6Address("fe80::a")
    assert pba.option(Timestamp) == Timestamp.from_seconds(T0)


def test_rfc5213_5_3_6_all_zero_link_local_is_answered_with_the_stored_one(lma):
    register(lma, lla=IPv6Address("fe80::a"))
    net = lma.bindings()[0].home_prefixes
    out = lma.handle(rx(pbu(seq=2, hnps=net, hi=3, lla=IPv6Address("::"), ts=T0 + 1), MAG2), T0 + 1)
    assert the(out, SendMh).message.option(LinkLocalAddress).address == IPv6Address("fe80::a")


def test_rfc5213_5_3_6_no_link_local_option_in_pba_unless_asked(lma):
    out = register(lma)
    assert the(out, SendMh).message.option(LinkLocalAddress) is None


def test_rfc6275_10_3_1_granted_lifetime_is_capped():
    lma = make_lma(max_binding_lifetime=60.0)
    out = register(lma, lifetime=1000)
    assert the(out, SendMh).message.lifetime == 15  # 60 s in 4 s units
    assert the(out, BindingCreated).lifetime == 60


def test_rfc5213_5_2_static_prefix_and_explicit_request():
    lma = make_lma()
    out = register(lma, b"static")
    assert the(out, BindingCreated).home_prefixes == (STATIC,)
    lma2 = make_lma()
    out = register(lma2, b"static", hnps=(STATIC,))
    assert the(out, BindingCreated).home_prefixes == (STATIC,)


def test_rfc5213_5_3_2_unauthorized_explicit_prefix_is_155(lma):
    out = lma.handle(rx(pbu(b"mn1", hnps=(STATIC,))), T0)
    assert the(out, SendMh).message.status == BaStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX
    assert lma.bindings() == []


def test_rfc5213_5_2_several_prefixes_per_session(lma):
    out = register(lma, b"two")
    assert the(out, BindingCreated).home_prefixes == (pool_prefix(0), pool_prefix(1))
    assert len(the(out, SendMh).message.options_of(HomeNetworkPrefix)) == 2


def test_rfc5213_5_3_2_pool_exhausted_is_130_and_rolls_back():
    small = IPv6Network("2001:db8:300::/63")  # exactly two /64s
    policy = PolicyStore([MAG1], [HnpPool("small", small, 64)],
                         [MnPolicy(b"a", pool="small"), MnPolicy(b"b", pool="small", prefixes_per_session=2)])
    lma = make_lma(policy=policy)
    register(lma, b"a")
    out = lma.handle(rx(pbu(b"b")), T0)
    assert the(out, SendMh).message.status == BaStatus.INSUFFICIENT_RESOURCES == 130
    assert policy.pools["small"].in_use == 1 and len(lma.bindings()) == 1


def test_binding_ids_are_smallest_free_and_reused(lma):
    for i, mn in enumerate((b"mn1", b"mn2", b"two")):
        assert the(register(lma, mn, seq=i + 1), BindingCreated).binding_id == i + 1
    net = lma.binding(2).home_prefixes
    lma.handle(rx(pbu(b"mn2", seq=9, lifetime=0, hnps=net, hi=5, ts=T0 + 1)), T0 + 1)
    lma.handle_timer(T0 + 100)
    assert lma.binding(2) is None
    assert the(register(lma, b"mn2", seq=10, now=T0 + 101), BindingCreated).binding_id == 2


def test_max_bindings_exhausted_is_130():
    lma = make_lma(max_bindings=2)  # ids 1..1
    register(lma, b"mn1")
    out = lma.handle(rx(pbu(b"mn2")), T0)
    assert the(out, SendMh).message.status == 130
    assert lma.policy.pools["home"].in_use == 1


def test_rfc5213_5_3_3_lifetime_extension_same_mag(lma):
    register(lma)
    net = lma.bindings()[0].home_prefixes
    out = lma.handle(rx(pbu(seq=2, hnps=net, hi=5, lifetime=200, ts=T0 + 100)), T0 + 100)
    upd = the(out, BindingUpdated)
    assert upd.binding_id == 1 and upd.expires_at == T0 + 900 and not upd.reactivated
    assert not of(out, BindingCreated) and not of(out, TunnelPeerAdded)
    assert lma.next_deadline() == T0 + 900
    assert lma.handle_timer(T0 + 400) == []  # the first deadline no longer fires
    assert the(lma.handle_timer(T0 + 900), BindingDeleted).reason == "expired"


def test_rfc5213_5_3_4_handoff_moves_the_tunnel_peer(lma):
    first = register(lma)
    old_peer = the(first, TunnelPeerAdded).tunnel_peer_id
    net = lma.bindings()[0].home_prefixes
    out = lma.handle(rx(pbu(seq=1, hnps=net, hi=3, ts=T0 + 1), MAG2), T0 + 1)
    assert [type(a) for a in out] == [TunnelPeerAdded, BindingMoved, TunnelPeerRemoved, ReleaseDownlink, SendMh]
    added, moved, removed, _, send = out
    assert (moved.old_paths[0].coa, moved.paths[0].coa) == (MAG1, MAG2)
    assert moved.old_paths[0].tunnel_peer_id == old_peer == removed.tunnel_peer_id
    assert moved.paths[0].tunnel_peer_id == added.tunnel_peer_id and added.remote == MAG2
    assert moved.home_prefixes == net and send.dst == MAG2
    assert peer_map(lma) == {MAG2: (added.tunnel_peer_id, 1)}


def test_rfc5213_5_6_1_tunnel_peer_is_shared_and_refcounted(lma):
    a = register(lma, b"mn1")
    b = register(lma, b"mn2")
    assert len(of(a, TunnelPeerAdded)) == 1 and of(b, TunnelPeerAdded) == []
    assert peer_map(lma)[MAG1][1] == 2
    net = lma.bindings_for_mn(b"mn1")[0].home_prefixes
    out = lma.handle(rx(pbu(b"mn1", seq=2, hnps=net, hi=3, ts=T0 + 1), MAG2), T0 + 1)
    assert of(out, TunnelPeerRemoved) == []  # mn2 still uses MAG1's tunnel
    assert peer_map(lma)[MAG1][1] == 1


def test_rfc5213_5_3_5_deregistration_waits_min_delay_before_delete(lma):
    register(lma)
    net = lma.bindings()[0].home_prefixes
    out = lma.handle(rx(pbu(seq=2, lifetime=0, hnps=net, hi=5, ts=T0 + 10)), T0 + 10)
    dereg = the(out, BindingDeregistered)
    pba = the(out, SendMh).message
    assert pba.status == 0 and pba.lifetime == 0
    assert dereg.delete_at == T0 + 10 + lma.config.min_delay_before_bce_delete
    assert lma.next_deadline() == dereg.delete_at
    assert lma.handle_timer(dereg.delete_at - 0.001) == []
    assert lma.bindings()[0].state is BceState.DEREGISTERING
    out = lma.handle_timer(dereg.delete_at)
    assert [type(a) for a in out] == [BindingDeleted, TunnelPeerRemoved]
    assert out[0].reason == "deregistered" and lma.bindings() == []
    assert lma.policy.pools["home"].in_use == 0 and lma.next_deadline() is None


def test_rfc5213_5_3_5_reregistration_during_min_delay_revives(lma):
    register(lma)
    net = lma.bindings()[0].home_prefixes
    lma.handle(rx(pbu(seq=2, lifetime=0, hnps=net, hi=5, ts=T0 + 10)), T0 + 10)
    out = lma.handle(rx(pbu(seq=3, hnps=net, hi=5, ts=T0 + 11)), T0 + 11)
    assert the(out, BindingUpdated).reactivated
    assert lma.bindings()[0].state is BceState.ACTIVE
    assert lma.handle_timer(T0 + 10 + lma.config.min_delay_before_bce_delete) == []


def test_rfc5213_5_3_5_deregistration_from_other_mag_is_ignored(lma):
    register(lma)
    net = lma.bindings()[0].home_prefixes
    before = lma.bindings()
    out = lma.handle(rx(pbu(seq=9, lifetime=0, hnps=net, hi=5, ts=T0 + 1), MAG2), T0 + 1)
    assert of(out, SendMh) == [] and of(out, LogEvent)
    assert lma.bindings() == before


def test_rfc6275_10_3_2_deregistration_without_binding_is_133(lma):
    out = lma.handle(rx(pbu(lifetime=0, hnps=(pool_prefix(5),), hi=5)), T0)
    assert the(out, SendMh).message.status == BaStatus.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE == 133


def test_binding_lifetime_expiry_deletes(lma):
    register(lma)
    assert lma.handle_timer(T0 + 399.9) == []
    out = lma.handle_timer(T0 + 400)
    assert the(out, BindingDeleted).reason == "expired"
    assert lma.bindings() == [] and lma.policy.pools["home"].in_use == 0


@pytest.mark.parametrize("mn", [b"mn1", b"static"])
def test_rfc5213_4_rejection_leaves_no_state_for_a_known_prefix(mn):
    lma = make_lma(policy=make_policy())
    register(lma, b"mn1")
    taken = lma.bindings()[0].home_prefixes
    snapshot = lma.state()
    out = lma.handle(rx(pbu(b"mn2", hnps=taken, ts=T0 + 1)), T0 + 1)
    assert the(out, SendMh).message.status == 155
    assert lma.state() == snapshot


def test_rfc5213_6_9_1_5_alternate_care_of_address_is_the_proxy_coa(lma):
    from dataclasses import replace

    from p4mobility.mh import AlternateCareofAddress
    alt = IPv6Address("2001:db8:1:ffff::1")
    msg = pbu()
    msg = replace(msg, options=msg.options + (AlternateCareofAddress(alt),))
    out = lma.handle(rx(msg, MAG1), T0)
    assert the(out, BindingCreated).paths[0].coa == alt and the(out, TunnelPeerAdded).remote == alt
    assert the(out, SendMh).dst == MAG1  # the PBA goes back to the sender
