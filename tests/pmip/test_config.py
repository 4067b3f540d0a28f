"""RFC 5213 §9 configuration: defaults, from_dict validation, policy profiles."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest
from p4mobility.pmip import ConfigError, LmaConfig, MagConfig, PolicyStore
from p4mobility.pmip.policy import HnpPool, MnPolicy, PoolAllocator


def test_rfc5213_9_defaults():
    lma = LmaConfig(IPv6Address("2001:db8::1"))
    assert lma.min_delay_before_bce_delete == 10.0  # 10000 ms
    assert lma.max_delay_before_new_bce_assign == 1.5  # 1500 ms
    assert lma.timestamp_validity_window == 0.3  # 300 ms
    assert lma.timestamp_based_approach_in_use is True
    assert lma.mobile_node_generated_timestamp_in_use is False
    mag = MagConfig(IPv6Address("2001:db8:1::1"), IPv6Address("2001:db8::1"))
    assert mag.initial_bindack_timeout_first_reg == 1.5 and mag.max_bindack_timeout == 32.0
    assert mag.initial_bindack_timeout == 1.0 and mag.max_update_rate == 3
    assert mag.fixed_mag_link_local_address_on_all_access_links == IPv6Address("::")
    assert mag.enable_mag_local_routing is False


def test_from_dict_round_trip():
    cfg = LmaConfig.from_dict({"lma_address": "2001:db8::1", "min_delay_before_bce_delete": 5,
                               "timestamp_based_approach_in_use": False})
    assert cfg.min_delay_before_bce_delete == 5.0 and isinstance(cfg.min_delay_before_bce_delete, float)
    assert LmaConfig.from_dict(cfg.to_dict()) == cfg
    mag = MagConfig.from_dict({"proxy_coa": "2001:db8:1::1", "lma_address": "2001:db8::1",
                               "fixed_mag_link_layer_address_on_all_access_links": "02:00:00:00:00:01"})
    assert mag.fixed_mag_link_layer_address_on_all_access_links == bytes.fromhex("020000000001")
    assert MagConfig.from_dict(mag.to_dict()) == mag


@pytest.mark.parametrize("cls,data,key", [
    (LmaConfig, {}, "lma_address"),
    (LmaConfig, {"lma_address": "nope"}, "lma_address"),
    (LmaConfig, {"lma_address": "::1", "min_delay_before_bce_delete": -1}, "min_delay_before_bce_delete"),
    (LmaConfig, {"lma_address": "::1", "timestamp_validity_window": "300ms"}, "timestamp_validity_window"),
    (LmaConfig, {"lma_address": "::1", "timestamp_based_approach_in_use": 1}, "timestamp_based_approach_in_use"),
    (LmaConfig, {"lma_address": "::1", "bogus": 1}, "bogus"),
    (LmaConfig, {"lma_address": "::1", "max_bindings": 1}, "max_bindings"),
    (LmaConfig, {"lma_address": "::1", "mobile_node_generated_timestamp_in_use": True},
     "mobile_node_generated_timestamp_in_use"),
    (MagConfig, {"proxy_coa": "::1", "lma_address": "::2", "max_bindack_timeout": 1.0}, "max_bindack_timeout"),
    (MagConfig, {"proxy_coa": "::1", "lma_address": "::2", "refresh_fraction": 1.5}, "refresh_fraction"),
    (MagConfig, {"proxy_coa": "::1", "lma_address": "::2", "requested_lifetime": 1e9}, "requested_lifetime"),
    (MagConfig, {"proxy_coa": "::1", "lma_address": "::2",
                 "fixed_mag_link_layer_address_on_all_access_links": "zz"},
     "fixed_mag_link_layer_address_on_all_access_links"),
])
def test_from_dict_names_the_bad_key(cls, data, key):
    with pytest.raises(ConfigError) as info:
        cls.from_dict(data)
    assert info.value.key == key


def test_policy_from_dict_and_errors():
    store = PolicyStore.from_dict({
        "trusted_mags": ["2001:db8:1::1"],
        "pools": {"home": {"network": "2001:db8:100::/48", "prefix_length": 64}},
        "profiles": {"mn1@example": {"pool": "home", "allowed_mags": ["2001:db8:1::1"]},
                     "fixed": {"static_hnps": ["2001:db8:200::/64"]}},
    })
    assert store.profile(b"mn1@example").allowed_mags == frozenset({IPv6Address("2001:db8:1::1")})
    assert store.profile(b"fixed").static_hnps == (IPv6Network("2001:db8:200::/64"),)
    for bad, key in [
        ({"profiles": {"x": {"pool": "missing"}}}, "profiles.x.pool"),
        ({"profiles": {"x": {}}}, "profiles.x"),
        ({"pools": {"p": {"network": "bad"}}}, "pools.p.network"),
        ({"pools": {"p": {"network": "2001:db8::/64", "prefix_length": 48}}}, "pools.p.prefix_length"),
        ({"trusted_mags": ["x"]}, "trusted_mags[0]"),
        ({"trusted_mags": "2001:db8:1::1"}, "trusted_mags"),
        ({"pools": 5}, "pools"),
        ({"extra": 1}, "extra"),
    ]:
        with pytest.raises(ConfigError) as info:
            PolicyStore.from_dict(bad)
        assert info.value.key == key


def test_pool_allocator_reuses_released_prefixes_and_reserves():
    alloc = PoolAllocator(HnpPool("p", IPv6Network("2001:db8::/62"), 64))
    got = [alloc.allocate() for _ in range(4)]
    assert got == [IPv6Network(f"2001:db8:0:{i}::/64") for i in range(4)]
    assert alloc.allocate() is None
    alloc.release(got[2])
    assert alloc.allocate() == got[2]
    fresh = PoolAllocator(HnpPool("p", IPv6Network("2001:db8::/62"), 64))
    assert fresh.reserve(got[0]) and not fresh.reserve(got[0])
    assert not fresh.reserve(IPv6Network("2001:db9::/64"))
    assert fresh.allocate() == got[1]


def test_policy_fresh_shares_profiles_and_allocates_on_its_own():
    template = PolicyStore.from_dict({
        "trusted_mags": ["2001:db8:1::1"], "pools": {"home": {"network": "2001:db8:100::/63", "prefix_length": 64}},
        "profiles": {"mn1": {"pool": "home"}}})
    a, b = template.fresh(), template.fresh()
    assert a.profiles is template.profiles is b.profiles  # parsed once
    assert a.trusted_mags == template.trusted_mags and a.mag_trusted(IPv6Address("2001:db8:1::1"))
    first = a.pools["home"].allocate()
    assert first == IPv6Network("2001:db8:100::/64")
    assert b.pools["home"].allocate() == first  # b's pool is its own
    assert template.pools["home"].in_use == 0


def test_mn_policy_mag_restriction():
    store = PolicyStore([IPv6Address("::a"), IPv6Address("::b")], [HnpPool("p", IPv6Network("2001:db8::/48"))],
                        [MnPolicy(b"m", pool="p", allowed_mags=frozenset({IPv6Address("::a")}))])
    prof = store.profile(b"m")
    assert store.mag_allowed(prof, IPv6Address("::a")) and not store.mag_allowed(prof, IPv6Address("::b"))
    assert not store.mag_allowed(prof, IPv6Address("::c"))


def test_rfc5213_6_2_mag_profiles_from_dict():
    from p4mobility.pmip.policy import MagMnProfile, mag_profiles_from_dict
    profs = mag_profiles_from_dict({"mn1@example": {"lma_address": "2001:db8::1", "hnps": ["2001:db8:1::/64"],
                                                    "att": 4, "lifetime": 120},
                                    "plain": {}})
    assert profs == [MagMnProfile(b"mn1@example", IPv6Address("2001:db8::1"), (IPv6Network("2001:db8:1::/64"),),
                                  4, 120.0), MagMnProfile(b"plain")]
    for bad, key in [({"m": {"att": 0}}, "profiles.m.att"), ({"m": {"lifetime": -1}}, "profiles.m.lifetime"),
                     ({"m": {"hnps": ["x"]}}, "profiles.m.hnps"), ({"m": {"what": 1}}, "profiles.m.what"),
                     ({"m": {"lma_address": "x"}}, "profiles.m.lma_address"), ({"m": 3}, "profiles.m")]:
        with pytest.raises(ConfigError) as info:
            mag_profiles_from_dict(bad)
        assert info.value.key == key
