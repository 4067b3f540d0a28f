"""Random address events, answers (right, wrong, stale, 135, rejections, NAT),
BRR/BE, stops and timer runs never crash the mobile node or break its
rules: every BU encodes and decodes, Sequence Numbers go up by one (except
after a 135), at most MAX_UPDATE_RATE BUs per second, a data tunnel only
ever points at a CoA after a BA accepted it, and the BUL stays coherent."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p4mobility.mh import BindingError, BindingRefreshRequest, NatDetection
from p4mobility.mip import (AddressAdded, AddressRemoved, BeReceived, BrrReceived, BulState,
                            InterfaceDown, SendMh, StopRequested, TunnelChanged, seq_next)
from tests.mip.mip_helpers import COA4, COA_A, COA_A2, COA_B, HA, HOA, HOME_LINK, T0, ba, make_mn, wire

IFACES = ["eth0", "eth1", "wlan0"]
ADDRS = [COA_A, COA_A2, COA_B, COA4, IPv4Address("10.9.9.9"), HOME_LINK, IPv6Address("fe80::1")]
STATUSES = [0, 0, 0, 1, 4, 128, 129, 133, 135, 139, 164, 167, 168, 174]

event = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(IFACES), st.sampled_from(ADDRS)),
    st.tuples(st.just("rm"), st.sampled_from(IFACES), st.sampled_from(ADDRS)),
    st.tuples(st.just("down"), st.sampled_from(IFACES)),
    st.tuples(st.just("ba"), st.integers(0, 3), st.sampled_from(STATUSES), st.booleans(), st.booleans()),
    st.tuples(st.just("brr")),
    st.tuples(st.just("be"), st.sampled_from([1, 2])),
    st.tuples(st.just("stop")),
    st.tuples(st.just("wait"), st.sampled_from([0.01, 0.3, 1.6, 40.0, 3000.0])),
)
configs = st.sampled_from([{}, {"multiple_coa": True}, {"multiple_coa": True, "bulk_registration": True},
                           {"ipv4_home_address": IPv4Address(0), "force_udp_encapsulation": True}])


def check(mn, accepted: set) -> None:
    for view in mn.bindings():
        if view.tunnel is not None:
            assert (view.tunnel.interface, view.tunnel.coa) in accepted
        if view.state in (BulState.IDLE, BulState.REGISTERING):
            assert view.tunnel is None
    for seq, ident in mn._by_seq.items():
        assert mn._txs[ident].sequence == seq


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, st.lists(event, min_size=1, max_size=40))
def test_random_events_keep_the_mobile_node_consistent(cfg, events):
    mn = make_mn(**cfg)
    now = T0
    sent: list[SendMh] = []
    times: list[float] = []
    last_seq = mn.sequence
    accepted: set = set()  # (interface, CoA) a BA accepted
    for ev in events:
        kind = ev[0]
        resync = None
        stamps: list[float] = []  # send time of each SendMh in ``out``
        if kind == "add":
            out = mn.handle(AddressAdded(ev[1], ev[2]), now)
        elif kind == "rm":
            out = mn.handle(AddressRemoved(ev[1], ev[2]), now)
        elif kind == "down":
            out = mn.handle(InterfaceDown(ev[1]), now)
        elif kind == "ba" and sent:
            send = sent[-1 - min(ev[1], len(sent) - 1)]
            opts = (NatDetection(False, 30),) if ev[3] else ()
            answer = ba(send, status=ev[2], lifetime=None if ev[2] < 128 else 0, options=opts,
                        sequence=(send.message.sequence + 500) & 0xFFFF if ev[2] == 135 else None,
                        bid_statuses={} if ev[4] else None)
            if ev[2] == 135:
                resync = answer.message.sequence
            if ev[2] < 128 and answer.message.lifetime > 0:
                accepted |= {(c.interface, c.address) for c in _coas(mn, send)}
            out = mn.handle(answer, now)
        elif kind == "brr":
            out = mn.handle(BrrReceived(BindingRefreshRequest(), HA, HOA), now)
        elif kind == "be":
            out = mn.handle(BeReceived(BindingError(ev[1], HOA), HA, COA_A), now)
        elif kind == "stop":
            out = mn.handle(StopRequested(), now)
        elif kind == "wait":
            end, out = now + ev[1], []
            while (due := mn.next_deadline()) is not None and due <= end:
                step = mn.handle_timer(due)
                stamps += [due] * sum(isinstance(a, SendMh) for a in step)
                out += step
            now = end
        else:
            out = []
        stamps += [now] * (sum(isinstance(a, SendMh) for a in out) - len(stamps))
        base = (mn.sequence - sum(isinstance(a, SendMh) for a in out)) & 0xFFFF
        assert base == last_seq or base == resync  # a 135 moves the counter to the HA's value
        last_seq = base
        for a in out:
            if isinstance(a, SendMh):
                wire(a)
                assert a.message.sequence == seq_next(last_seq)
                last_seq = a.message.sequence
                sent.append(a)
                times.append(stamps.pop(0))
            if isinstance(a, TunnelChanged) and a.tunnel is not None:
                assert kind == "ba"  # data moves only when a BA accepted the CoA
        check(mn, accepted)
    for i, t in enumerate(times):  # RFC 6275 §11.8: MAX_UPDATE_RATE (3) per second
        assert sum(1 for u in times[i:] if u - t < 1.0) <= 3


def _coas(mn, send: SendMh):
    """The CoAs a BU registers (those of its BIDs), read back from the core's
    transaction only to know what the BA accepts."""
    ident = mn._by_seq.get(send.message.sequence)
    tx = mn._txs.get(ident) if ident is not None else None
    return list(tx.coas.values()) if tx is not None else []
