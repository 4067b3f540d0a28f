"""Random access-link events, PBAs (right, wrong or stale) and timer runs never
crash the MAG or break its bookkeeping; no RA ever advertises a prefix the MAG
has not had accepted."""
from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from p4mobility.mh import BindingUpdate
from p4mobility.pmip import (
    AccessLinkUp,
    MagBindingInstalled,
    MnAttached,
    MnDetached,
    PbaReceived,
    RouterSolicitationReceived,
    SendMh,
    SendRouterAdvertisement,
)
from p4mobility.pmip.bul import BulState
from p4mobility.pmip.pba import make_pba

from tests.pmip.pmip_helpers import LMAA, MAG1, T0, pool_prefix
from tests.pmip.test_mag import make_mag

STATUSES = [0, 1, 128, 135, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 200]

event = st.one_of(
    st.tuples(st.just("attach"), st.sampled_from([b"mn1", b"mn2", b"nobody"]), st.sampled_from([1, 2]),
              st.sampled_from([1, 2, 3, 4])),
    st.tuples(st.just("detach"), st.sampled_from([b"mn1", b"mn2"]), st.sampled_from([1, 2])),
    st.tuples(st.just("rs"), st.sampled_from([1, 2])),
    st.tuples(st.just("link_up"), st.sampled_from([b"mn1", b"mn2", b"nobody", None]), st.sampled_from([1, 2])),
    st.tuples(st.just("pba"), st.integers(0, 3), st.sampled_from(STATUSES), st.booleans()),
    st.tuples(st.just("wait"), st.sampled_from([0.01, 0.5, 1.6, 40.0, 3000.0])),
)


def check(mag):
    bul = mag.binding_update_list()
    installed = [e for e in bul if e.installed]
    assert all(e.state in (BulState.BOUND, BulState.REFRESHING) for e in installed)
    uses = Counter(e.lma_address for e in installed)
    assert {v.remote: v.bindings for v in mag.tunnel_peers()} == dict(uses)
    awaiting = [e.last_sequence for e in bul if e.awaiting_pba]
    assert len(awaiting) == len(set(awaiting))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, min_size=1, max_size=30))
def test_random_events_keep_the_bul_consistent(events):
    mag = make_mag(max_pbu_retransmissions=3)
    now = T0
    sent: list[BindingUpdate] = []
    installed: dict[int, tuple] = {}  # access port -> HNPs of its last accepted binding
    for ev in events:
        kind = ev[0]
        if kind == "attach":
            out = mag.handle(MnAttached(ev[1], ev[2], 4, handoff_hint=ev[3]), now)
        elif kind == "detach":
            out = mag.handle(MnDetached(ev[1], ev[2]), now)
        elif kind == "rs":
            out = mag.handle(RouterSolicitationReceived(ev[1]), now)
        elif kind == "link_up":
            out = mag.handle(AccessLinkUp(ev[2], 4, mn_id=ev[1]), now)
        elif kind == "pba":
            if not sent:
                continue
            bu = sent[-1 - ev[1] % len(sent)]  # the latest or an older (stale) PBU
            hnp = pool_prefix(0 if ev[3] else 1)
            pba = make_pba(bu, ev[2], now=now, lifetime=bu.lifetime, hnps=(hnp,) if ev[2] < 128 else None)
            out = mag.handle(PbaReceived(pba, LMAA, MAG1), now)
        else:
            now += ev[1]
            out = mag.handle_timer(now)
        for a in out:
            if isinstance(a, SendMh):
                sent.append(a.message)
            if isinstance(a, MagBindingInstalled):
                installed[a.access_port] = a.hnps
            if isinstance(a, SendRouterAdvertisement):  # only what the LMA accepted for this port
                assert tuple(p.prefix for p in a.prefixes) == installed[a.access_port]
                if a.router_lifetime:
                    assert mag.entry(a.access_port).installed
        check(mag)
