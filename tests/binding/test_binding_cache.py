"""The generic binding cache, tunnel peers, sequence numbers and lifetimes
(binding/): what the LMA uses today and the home agent uses with several
care-of addresses per binding (RFC 5648) and lookups by home address."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_network

import pytest
from p4mobility.binding import (
    Binding,
    BindingCache,
    Transport,
    TunnelEndpoints,
    TunnelPeerTable,
    seq_newer,
    seq_next,
)
from p4mobility.binding.lifetime import request_units
from p4mobility.binding.statejson import StateError, path_from_json, path_to_json

HA = IPv6Address("2001:db8::1")
HA4 = IPv4Address("192.0.2.1")
COA1, COA2 = IPv6Address("2001:db8:a::1"), IPv6Address("2001:db8:b::1")


def v6(remote, local=HA):
    return TunnelEndpoints(local, remote)


def binding(cache, mn=b"mn1", home=("2001:db8:100::/64",)):
    bid = cache.binding_ids.allocate()
    b = Binding(bid, mn, tuple(ip_network(h) for h in home), {}, 1, 400.0, 0.0, 0.0, 400.0)
    cache.add(b)
    return b


@pytest.mark.parametrize("new, last, newer", [
    (1, 0, True), (0, 1, False), (5, 5, False), (0, 0xFFFF, True), (0x7FFF, 0, True), (0x8000, 0, False),
    (10, 0xFFF0, True), (0xFFF0, 10, False)])
def test_rfc6275_9_5_1_sequence_numbers_compare_modulo_2_16(new, last, newer):
    assert seq_newer(new, last) is newer


def test_rfc6275_11_7_1_sequence_number_wraps():
    assert seq_next(0xFFFF) == 0 and seq_newer(seq_next(0xFFFF), 0xFFFF)


@pytest.mark.parametrize("seconds, units", [(0, 0), (0.5, 1), (3, 1), (4, 1), (4.5, 2), (3600, 900), (1e9, 0xFFFF)])
def test_rfc6275_6_1_7_a_requested_lifetime_rounds_up_and_never_becomes_a_deregistration(seconds, units):
    assert request_units(seconds) == units


def test_tunnel_endpoints_refuse_mixed_families_and_bad_ports():
    with pytest.raises(ValueError):
        TunnelEndpoints(HA, HA4)  # IPv6 transport, IPv4 remote
    with pytest.raises(ValueError):
        TunnelEndpoints(HA4, IPv4Address("198.51.100.7"), Transport.UDP_IPV4)  # no ports
    with pytest.raises(ValueError):
        TunnelEndpoints(HA, COA1, Transport.IPV6, local_port=4191)
    udp = TunnelEndpoints(HA4, IPv4Address("198.51.100.7"), Transport.UDP_IPV4, 4191, 50000)
    assert udp.remote_port == 50000


def test_rfc5213_5_6_1_one_shared_refcounted_peer_per_endpoints():
    peers = TunnelPeerTable(3)  # ids 1..2
    (p1, new1), (p1b, new2) = peers.acquire(v6(COA1)), peers.acquire(v6(COA1))
    assert p1 is p1b and (new1, new2) == (True, False) and p1.refcount == 2
    p2, _ = peers.acquire(v6(COA2))
    assert not peers.can_acquire(v6(IPv6Address("2001:db8:c::1"))) and peers.can_acquire(v6(COA1))
    assert peers.acquire(v6(IPv6Address("2001:db8:c::1"))) is None
    assert peers.release(v6(COA1)) is None  # still used once
    gone = peers.release(v6(COA1))
    assert gone is p1 and peers.get(v6(COA1)) is None
    again, created = peers.acquire(v6(IPv6Address("2001:db8:c::1")))
    assert created and again.tunnel_peer_id == p1.tunnel_peer_id != p2.tunnel_peer_id  # id reused


def test_rfc5648_several_paths_per_binding_keyed_by_bid():
    cache = BindingCache(16, 16)
    b = binding(cache)
    _, added1, _ = cache.set_path(b, 1, v6(COA1))
    udp = TunnelEndpoints(HA4, IPv4Address("198.51.100.7"), Transport.UDP_IPV4, 4191, 50000)
    _, added2, _ = cache.set_path(b, 2, udp)
    assert added1 and added2 and [p.bid for p in b.path_tuple()] == [1, 2]
    # BID 1 moves to COA2: its old peer goes, BID 2 is untouched
    path, added, gone = cache.set_path(b, 1, v6(COA2))
    assert path.coa == COA2 and added is not None and gone is not None and gone.endpoints.remote == COA1
    assert b.paths[2].endpoints == udp
    # the same endpoints again: no change at all
    assert cache.set_path(b, 1, v6(COA2))[1:] == (None, None)
    assert cache.drop_path(b, 2).endpoints == udp and list(b.paths) == [1]


def test_a_shared_peer_keeps_its_id_when_a_binding_moves_onto_it():
    cache = BindingCache(16, 16)
    a, b = binding(cache, b"a", ("2001:db8:1::/64",)), binding(cache, b"b", ("2001:db8:2::/64",))
    cache.set_path(a, 0, v6(COA1))
    cache.set_path(b, 0, v6(COA2))
    path, added, gone = cache.set_path(b, 0, v6(COA1))
    assert added is None and gone.endpoints.remote == COA2 and path.tunnel_peer_id == a.paths[0].tunnel_peer_id
    assert [p.refcount for p in cache.peers] == [2]


def test_rfc6275_9_1_lookup_by_any_address_in_a_home_prefix_longest_first():
    cache = BindingCache(16, 16)
    wide = binding(cache, b"net", ("2001:db8:100::/56",))
    host = binding(cache, b"host", ("2001:db8:100:1::5/128", "10.0.0.5/32"))
    assert cache.for_address(IPv6Address("2001:db8:100:1::5")) is host
    assert cache.for_address(IPv6Address("2001:db8:100:1::6")) is wide
    assert cache.for_address(IPv4Address("10.0.0.5")) is host
    assert cache.for_address(IPv6Address("2001:db8:200::1")) is None
    assert cache.for_prefix(IPv6Network("2001:db8:100::/56")) is wide
    gone = cache.remove(host)
    assert gone == [] and cache.for_address(IPv6Address("2001:db8:100:1::5")) is wide
    assert cache.for_address(IPv4Address("10.0.0.5")) is None and cache.for_mn(b"host") == []


def test_removing_a_binding_releases_its_id_and_peers():
    cache = BindingCache(3, 16)
    a = binding(cache)
    cache.set_path(a, 0, v6(COA1))
    binding(cache, b"b", ("2001:db8:2::/64",))
    assert not cache.can_add_binding()
    gone = cache.remove(a)
    assert [p.endpoints.remote for p in gone] == [COA1] and len(cache.peers) == 0
    assert cache.can_add_binding() and cache.binding_ids.allocate() == a.binding_id


def test_restore_reserves_ids_and_refuses_conflicting_peer_ids():
    cache = BindingCache(16, 16)
    a = binding(cache)
    cache.set_path(a, 0, v6(COA1))
    copy = BindingCache(16, 16)
    copy.restore(Binding(a.binding_id, a.mn_id, a.home_prefixes, dict(a.paths), 1, 400.0, 0.0, 0.0, 400.0))
    assert copy.binding_ids.allocate() != a.binding_id and copy.peers.get(v6(COA1)).refcount == 1
    with pytest.raises(ValueError):  # the same endpoints cannot have two ids
        copy.peers.restore(v6(COA1), a.paths[0].tunnel_peer_id + 1)
    with pytest.raises(ValueError):  # one binding id twice
        copy.restore(Binding(a.binding_id, b"x", (), {}, 1, 1.0, 0.0, 0.0, 1.0))


def test_paths_round_trip_through_json_and_bad_ones_name_the_field():
    cache = BindingCache(16, 16)
    b = binding(cache)
    udp = TunnelEndpoints(HA4, IPv4Address("198.51.100.7"), Transport.UDP_IPV4, 4191, 50000)
    path, _, _ = cache.set_path(b, 7, udp)
    assert path_from_json(path_to_json(path), "p") == path
    bad = dict(path_to_json(path), remote_port=0)
    with pytest.raises(StateError) as err:
        path_from_json(bad, "p")
    assert err.value.where == "p.remote_port"
    with pytest.raises(StateError):
        path_from_json(dict(path_to_json(path), remote="2001:db8::9"), "p")  # family mismatch


def test_rfc6275_11_8_max_update_rate_per_key_and_bounded_memory():
    from p4mobility.binding.ratelimit import UpdateRateLimiter
    rl = UpdateRateLimiter(3)
    for t in (0.0, 0.1, 0.2):
        assert rl.defer_until("mn", t) is None
        rl.sent("mn", t)
    assert rl.defer_until("mn", 0.5) == 1.0  # the fourth waits for the first to age out
    assert rl.defer_until("other", 0.5) is None  # per key
    assert rl.defer_until("mn", 1.0) is None
    for i in range(500):  # many keys that go quiet are forgotten
        rl.sent(i, 2.0)
    rl.defer_until("new", 10.0, live=1)
    assert len(rl._times) <= 2 * 1 + 64 + 1


def test_set_home_prefixes_reindexes_lookups_by_address():
    """An IPv4 home address added to a live binding (RFC 5555) is found by address,
    and a prefix taken away is not."""
    cache = BindingCache(8, 8)
    b = binding(cache, home=("2001:db8:100::1/128",))
    v4 = ip_network("10.9.0.7/32")
    cache.set_home_prefixes(b, (b.home_prefixes[0], v4))
    assert cache.for_address(IPv4Address("10.9.0.7")) is b
    assert cache.for_address(IPv6Address("2001:db8:100::1")) is b
    cache.set_home_prefixes(b, (v4,))
    assert cache.for_address(IPv6Address("2001:db8:100::1")) is None
    assert cache.for_prefix(v4) is b
    cache.remove(b)
    assert cache.for_address(IPv4Address("10.9.0.7")) is None and cache.for_prefix(v4) is None


def test_can_set_paths_counts_only_new_distinct_peers():
    """A bulk registration (RFC 5648 §4.3) is checked whole before any path changes:
    endpoints already in use and repeats need no new id."""
    cache = BindingCache(8, 3)  # peer ids 1..2
    b = binding(cache)
    cache.set_path(b, 1, v6(COA1))
    assert cache.can_set_paths([v6(COA1), v6(COA2), v6(COA2)])
    assert not cache.can_set_paths([v6(COA2), v6(IPv6Address("2001:db8:c::1"))])
    cache.set_path(b, 2, v6(COA2))
    assert cache.can_set_paths([v6(COA1), v6(COA2)]) and not cache.can_set_paths([v6(IPv6Address("2001:db8:c::1"))])


def test_update_paths_keeps_a_peer_that_changes_bid_and_swaps_without_churn():
    """RFC 5648: a BU without BID replacing BID 1 by BID 0 at the same CoA, and two BIDs
    swapping CoAs in one bulk BU, neither free nor re-create a peer (its id stays)."""
    cache = BindingCache(8, 8)
    b = binding(cache)
    cache.set_path(b, 1, v6(COA1))
    id1 = cache.peers.get(v6(COA1)).tunnel_peer_id
    created, gone = cache.update_paths(b, {0: v6(COA1)}, drop=[1])
    assert (created, gone) == ([], []) and set(b.paths) == {0}
    assert cache.peers.get(v6(COA1)).tunnel_peer_id == id1 and cache.peers.get(v6(COA1)).refcount == 1
    cache.set_path(b, 2, v6(COA2))
    ids = {e: cache.peers.get(e).tunnel_peer_id for e in (v6(COA1), v6(COA2))}
    created, gone = cache.update_paths(b, {0: v6(COA2), 2: v6(COA1)})
    assert (created, gone) == ([], []) and b.paths[0].coa == COA2 and b.paths[2].coa == COA1
    assert {e: cache.peers.get(e).tunnel_peer_id for e in ids} == ids
    assert [p.refcount for p in cache.peers] == [1, 1]
    created, gone = cache.update_paths(b, {0: v6(IPv6Address("2001:db8:c::1"))}, drop=[2])
    assert [p.endpoints.remote for p in created] == [IPv6Address("2001:db8:c::1")]
    assert sorted(p.endpoints.remote for p in gone) == [COA1, COA2] and len(cache.peers) == 1
