"""Hostile or random PBU sequences never crash the LMA and never corrupt the
binding cache (indexes, tunnel-peer refcounts, pool usage stay consistent)."""
from __future__ import annotations

from collections import Counter
from ipaddress import IPv6Address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from p4mobility.mh import HomeNetworkPrefix
from p4mobility.pmip import SendMh
from p4mobility.pmip.lma_state import BceState

from tests.pmip.pmip_helpers import (
    ALL,
    MAG1,
    MAG2,
    POOL,
    ROGUE,
    STATIC,
    T0,
    make_lma,
    pbu,
    pool_prefix,
    rx,
)

MNS = [b"mn1", b"mn2", b"static", b"two", b"only-mag1", b"disabled", b"stranger", b""]
HNPS = [ALL, pool_prefix(0), pool_prefix(1), pool_prefix(2), STATIC]

step = st.fixed_dictionaries({
    "mn": st.sampled_from(MNS + [None]),
    "src": st.sampled_from([MAG1, MAG2, ROGUE]),
    "seq": st.integers(0, 0xFFFF),
    "lifetime": st.sampled_from([0, 1, 100, 0xFFFF]),
    "hnps": st.lists(st.sampled_from(HNPS), max_size=3),
    "hi": st.sampled_from([None, 0, 1, 2, 3, 4, 5, 6, 255]),
    "att": st.sampled_from([None, 0, 4, 8]),
    "ll": st.sampled_from([None, b"", b"\x01", b"\x02"]),
    "lla": st.sampled_from([None, IPv6Address("::"), IPv6Address("fe80::9")]),
    "skew": st.sampled_from([None, 0.0, 0.2, -0.2, 1.0]),
    "bad_prefix": st.booleans(),
    "advance": st.sampled_from([0.0, 0.5, 2.0, 11.0, 500.0]),
})


def check_invariants(lma):
    cache = lma.cache
    assert all(cache.for_prefix(n) is b for b in cache for n in b.home_prefixes)
    assert all(cache.for_address(n.network_address) is b for b in cache for n in b.home_prefixes)
    assert sorted(b.binding_id for m in {b.mn_id for b in cache} for b in cache.for_mn(m)) == sorted(cache.by_id)
    uses = Counter(b.coa for b in cache)
    assert {p.endpoints.remote: p.refcount for p in cache.peers} == dict(uses)
    assert all(cache.peers.get(b.paths[0].endpoints).tunnel_peer_id == b.tunnel_peer_id for b in cache)
    assert len({p.tunnel_peer_id for p in cache.peers}) == len(cache.peers)
    assert lma.policy.pools["home"].in_use == sum(1 for b in cache for n in b.home_prefixes if n.subnet_of(POOL))
    assert all(b.state is not BceState.DELETED for b in cache)
    assert len(lma._parked) == sum(1 for b in cache if b.state is BceState.HANDOFF_PENDING)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=25))
def test_random_pbus_keep_the_cache_consistent(steps):
    lma = make_lma()
    now = T0
    for s in steps:
        now += s["advance"]
        lma.handle_timer(now)
        opts = [HomeNetworkPrefix(n.prefixlen, n.network_address) for n in s["hnps"]]
        if s["bad_prefix"]:
            opts.append(HomeNetworkPrefix(130, IPv6Address("2001:db8::1")))
        msg = pbu(s["mn"], seq=s["seq"], lifetime=s["lifetime"], hnp_opts=opts, hi=s["hi"], att=s["att"],
                  ll=s["ll"], lla=s["lla"], ts=None if s["skew"] is None else now + s["skew"])
        out = lma.handle(rx(msg, s["src"]), now)
        sends = [a for a in out if isinstance(a, SendMh)]
        assert len(sends) <= 2  # at most: de-registration PBA + the parked PBU's PBA
        for a in sends:
            assert a.message.proxy and a.src == lma.config.lma_address
        if sends and sends[0].dst == s["src"] and sends[0].message.status != 135:
            assert sends[0].message.sequence == s["seq"]
        check_invariants(lma)
    for _ in range(100):  # let every timer run out (parked PBUs may create sessions first)
        deadline = lma.next_deadline()
        if deadline is None:
            break
        lma.handle_timer(deadline)
        check_invariants(lma)
    assert lma.bindings() == [] and lma.next_deadline() is None
