"""The BUL life cycle as one table (bul.py), checked directly, and the
mobile-node configuration (config.py): RFC defaults and validation."""
from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from p4mobility.mip import BUL_TRANSITIONS, BulEvent, BulState, ConfigError, MnConfig
from p4mobility.mip.bul import BulTransitionError, bul_next

S, E = BulState, BulEvent


def test_bul_table_moves():
    assert bul_next(S.IDLE, E.REGISTER) is S.REGISTERING
    assert bul_next(S.REGISTERING, E.ACCEPTED) is S.BOUND
    assert bul_next(S.BOUND, E.REGISTER) is S.UPDATING
    # a rejected or unanswered update keeps the binding the HA already holds (RFC 6275 §9.5.1)
    for ev in (E.REJECTED, E.GAVE_UP, E.ABANDON):
        assert bul_next(S.UPDATING, ev) is S.BOUND
        assert bul_next(S.REGISTERING, ev) is S.IDLE
    assert bul_next(S.BOUND, E.EXPIRED) is S.IDLE
    assert bul_next(S.UPDATING, E.EXPIRED) is S.REGISTERING
    for state in (S.REGISTERING, S.BOUND, S.UPDATING):
        assert bul_next(state, E.DEREGISTER) is S.DEREGISTERING
    for ev in (E.ACCEPTED, E.REJECTED, E.GAVE_UP):
        assert bul_next(S.DEREGISTERING, ev) is None  # the entry is deleted
    assert bul_next(S.DEREGISTERING, E.REGISTER) is S.REGISTERING


@pytest.mark.parametrize("state, event", [(S.IDLE, E.ACCEPTED), (S.IDLE, E.EXPIRED), (S.BOUND, E.ACCEPTED),
                                          (S.DEREGISTERING, E.EXPIRED), (S.REGISTERING, E.EXPIRED)])
def test_bul_illegal_pairs_raise(state, event):
    assert (state, event) not in BUL_TRANSITIONS
    with pytest.raises(BulTransitionError):
        bul_next(state, event)


def test_bul_every_state_is_reachable_and_every_live_state_can_end():
    reached = {S.IDLE}
    for _ in range(len(S)):
        reached |= {nxt for (st, _ev), nxt in BUL_TRANSITIONS.items() if st in reached and nxt is not None}
    assert reached == set(S)
    assert all((st, E.DEREGISTER) in BUL_TRANSITIONS for st in S)


BASE = {"home_address": "2001:db8:1::100", "home_agent": "2001:db8:1::1"}


def test_config_defaults_are_the_rfc_values():
    cfg = MnConfig.from_dict(BASE)
    assert (cfg.initial_bindack_timeout_first_reg, cfg.initial_bindack_timeout, cfg.max_bindack_timeout,
            cfg.max_update_rate) == (1.5, 1.0, 32.0, 3)  # RFC 6275 §12, §13
    assert cfg.nat_keepalive_interval == 110.0  # RFC 5555 NATKATIMEOUT
    assert str(cfg.home_prefix) == "2001:db8:1::/64"
    assert MnConfig.from_dict(cfg.to_dict()) == cfg


def test_config_full_round_trip():
    data = dict(BASE, home_agent_ipv4="203.0.113.1", ipv4_home_address="0.0.0.0", multiple_coa=True,
                bulk_registration=True, interfaces=["eth0", "wlan0"], max_bu_retransmissions=5,
                requested_lifetime=600)
    cfg = MnConfig.from_dict(data)
    assert cfg.ipv4_home_address == IPv4Address(0) and cfg.interfaces == ("eth0", "wlan0")
    assert cfg.requested_lifetime == 600.0 and cfg.bid_of("wlan0", []) == 2 and cfg.bid_of("usb0", []) is None
    assert MnConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("change, key", [
    ({"home_agent": "not-an-address"}, "home_agent"),
    ({"home_agent_ipv4": "2001:db8::1"}, "home_agent_ipv4"),
    ({"colour": "blue"}, "colour"),
    ({"max_update_rate": 0}, "max_update_rate"),
    ({"max_update_rate": True}, "max_update_rate"),
    ({"requested_lifetime": 0}, "requested_lifetime"),
    ({"requested_lifetime": 300000}, "requested_lifetime"),
    ({"refresh_fraction": 1.0}, "refresh_fraction"),
    ({"max_bindack_timeout": 1.0}, "max_bindack_timeout"),
    ({"ipv4_home_prefix_length": 0}, "ipv4_home_prefix_length"),
    ({"bulk_registration": True}, "bulk_registration"),
    ({"interfaces": ["eth0", "eth0"]}, "interfaces"),
    ({"interfaces": "eth0"}, "interfaces"),
    ({"mn_udp_port": 70000}, "mn_udp_port"),
    ({"max_bu_retransmissions": -1}, "max_bu_retransmissions"),
])
def test_config_errors_name_the_key(change, key):
    with pytest.raises(ConfigError) as info:
        MnConfig.from_dict(dict(BASE, **change))
    assert info.value.key == key


def test_config_requires_the_home_address_and_agent():
    with pytest.raises(ConfigError) as info:
        MnConfig.from_dict({"home_agent": "2001:db8:1::1"})
    assert info.value.key == "home_address"
    with pytest.raises(ConfigError):
        MnConfig.from_dict(["not", "a", "table"])
