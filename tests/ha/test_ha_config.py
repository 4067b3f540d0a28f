"""HaConfig.from_dict: RFC names, RFC defaults, and ConfigError naming the key."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest
from p4mobility.ha import ConfigError, HaConfig, MnProfile

BASE = {"ha_address": "2001:db8:1::1", "home_prefixes": ["2001:db8:1::/64"]}


def test_defaults_are_the_rfc_ones_and_round_trip():
    c = HaConfig.from_dict(BASE)
    assert c.nat_keepalive_refresh == 110  # RFC 5555 NATKATIMEOUT
    assert c.home_prefixes == (IPv6Network("2001:db8:1::/64"),) and c.ha_address_v4 is None
    assert c.mcoa_enabled and not c.force_udp_encapsulation and not c.dual_stack
    full = dict(BASE, ha_address_v4="203.0.113.1", ipv4_pool="10.9.0.0/24", nat_keepalive_refresh=30,
                mobile_nodes=[{"home_address": "2001:db8:1::100", "ipv4_home_address": "10.9.1.1",
                               "multiple_coa": False}])
    c = HaConfig.from_dict(full)
    assert HaConfig.from_dict(c.to_dict()) == c and c.dual_stack
    assert c.profile(IPv6Address("2001:db8:1::100")) == MnProfile(IPv6Address("2001:db8:1::100"),
                                                                  IPv4Address("10.9.1.1"), multiple_coa=False)
    assert c.profile(IPv6Address("2001:db8:1::5")).dynamic_ipv4  # no profile: the defaults


@pytest.mark.parametrize("over, key", [
    ({"ha_address": "10.0.0.1"}, "ha_address"),
    ({"home_prefixes": []}, "home_prefixes"),
    ({"home_prefixes": ["2001:db8:1::1/64"]}, "home_prefixes[0]"),
    ({"ipv4_pool": "10.9.0.1/24"}, "ipv4_pool"),
    ({"ha_address_v4": "2001::1"}, "ha_address_v4"),
    ({"nat_keepalive_refresh": 0}, "nat_keepalive_refresh"),
    ({"nat_keepalive_refresh": 0xFFFFFFFF}, "nat_keepalive_refresh"),
    ({"max_binding_lifetime": 0xFFFF * 4 + 1}, "max_binding_lifetime"),
    ({"mcoa_enabled": 1}, "mcoa_enabled"),
    ({"binding_refresh_advice": 4000.0}, "binding_refresh_advice"),
    ({"surprise": 1}, "surprise"),
    ({"mobile_nodes": [{"home_address": "2001:db8:2::1"}]}, "mobile_nodes[0].home_address"),
    ({"mobile_nodes": [{"home_address": "2001:db8:1::1"}]}, "mobile_nodes[0].home_address"),
    ({"mobile_nodes": [{"home_address": "2001:db8:1::7", "ipv4_home_address": "224.0.0.1"}]},
     "mobile_nodes[0].ipv4_home_address"),
    ({"mobile_nodes": [{"home_address": "2001:db8:1::7", "multiple_coa": "yes"}]}, "mobile_nodes[0].multiple_coa"),
    ({"mobile_nodes": [{"home_address": "2001:db8:1::7"}, {"home_address": "2001:db8:1::7"}]},
     "mobile_nodes[1].home_address"),
    ({"mobile_nodes": [{"home_address": "2001:db8:1::7", "ipv4_home_address": "10.1.1.1"},
                       {"home_address": "2001:db8:1::8", "ipv4_home_address": "10.1.1.1"}]},
     "mobile_nodes[1].ipv4_home_address"),
    ({"mobile_nodes": [{"ipv4_home_address": "10.1.1.1"}]}, "mobile_nodes[0].home_address"),
    ({"mobile_nodes": [{"home_address": "2001:db8:1::7", "colour": "red"}]}, "mobile_nodes[0].colour"),
    ({"ha_address_v4": "10.9.0.1", "ipv4_pool": "10.9.0.0/24"}, "ipv4_pool"),
])
def test_bad_values_name_their_key(over, key):
    with pytest.raises(ConfigError) as err:
        HaConfig.from_dict({**BASE, **over})
    assert err.value.key == key


def test_missing_required_keys_and_non_table():
    with pytest.raises(ConfigError) as err:
        HaConfig.from_dict({"ha_address": "2001:db8:1::1"})
    assert err.value.key == "home_prefixes"
    with pytest.raises(ConfigError) as err:
        HaConfig.from_dict(["not", "a", "table"])  # type: ignore[arg-type]
    assert err.value.key == "<root>"
