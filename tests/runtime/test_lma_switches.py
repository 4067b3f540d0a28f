"""`[[switches]]` of an LMA file and which switch gets which entries (docs/cluster.md)."""
from __future__ import annotations

import copy
from ipaddress import IPv6Address, IPv6Network

import pytest

from p4mobility.binding import TunnelEndpoints
from p4mobility.pmip.actions import BindingCreated, TunnelPeerAdded
from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.lma_switches_config import switch_plan
from p4mobility.runtime.nodeconfig import lma_from_dict

LMA = "2001:db8:ffff::1"


def doc() -> dict:
    hop = {"port": 3, "src_mac": "02:00:00:00:5e:01", "dst_mac": "02:00:00:00:5e:02"}
    return {
        "node": {"name": "lma"},
        "lma": {"lma_address": LMA},
        "policy": {"trusted_mags": ["2001:db8:a::1"],
                   "pools": {"a": {"network": "2001:db8:100::/48", "prefix_length": 64},
                             "b": {"network": "2001:db8:200::/48", "prefix_length": 64}},
                   "profiles": {"mn-a": {"pool": "a"}, "mn-b": {"pool": "b"}}},
        "routes": [{"prefix": "2001:db8:a::/64", "port": 1, "src_mac": "02:00:00:00:00:01",
                    "dst_mac": "02:00:00:00:00:02"}],
        "switches": [{"name": "sw1", "switch_address": "127.0.0.1:9559", "device_id": 1, "pools": ["a"],
                      "steer": [{"switch": "sw2", **hop}]},
                     {"name": "sw2", "switch_address": "127.0.0.1:9560", "device_id": 2, "pools": ["b"],
                      "steer": [{"switch": "sw1", **hop}]}],
    }


def test_first_switch_is_the_nodes_own():
    cfg = lma_from_dict(doc())
    assert cfg.node.switch_address == "127.0.0.1:9559" and cfg.node.device_id == 1
    assert [s.name for s in cfg.switches] == ["sw1", "sw2"]
    assert cfg.switches[1].pools == ("b",) and cfg.switches[1].steer[0].switch == "sw1"


@pytest.mark.parametrize("edit,key", [
    (lambda d: d["node"].update(switch_address="127.0.0.1:1"), "node.switch_address"),
    (lambda d: d["switches"][1].update(pools=["nope"]), "switches[1].pools[0]"),
    (lambda d: d["switches"][1].update(pools=["a"]), "switches[1].pools"),
    (lambda d: d["switches"][1].update(name="sw1"), "switches[1].name"),
    (lambda d: d["switches"][0].update(steer=[]), "switches[0].steer"),
    (lambda d: d["switches"][0]["steer"][0].update(switch="sw1"), "switches[0].steer[0].switch"),
    (lambda d: d["switches"][0]["steer"][0].update(dst_mac="zz"), "switches[0].steer[0].dst_mac"),
    (lambda d: d["switches"][0]["steer"][0].update(port=999), "switches[0].steer[0].port"),
    (lambda d: d["switches"][0].update(colour="red"), "switches[0].colour"),
    (lambda d: d["switches"][0].update(routes=[{"prefix": "x"}]), "switches[0].routes[0].prefix"),
    (lambda d: d.update(switches=[]), "switches"),
])
def test_mistakes_name_the_key(edit, key):
    d = copy.deepcopy(doc())
    edit(d)
    with pytest.raises(ConfigError) as err:
        lma_from_dict(d)
    assert err.value.key == key, str(err.value)


def test_binding_entries_only_on_the_serving_switch_peers_on_every_one():
    cfg = lma_from_dict(doc())
    plan = switch_plan(cfg.switches, cfg.policy)
    ends = TunnelEndpoints(IPv6Address(LMA), IPv6Address("2001:db8:a::1"))
    peer = TunnelPeerAdded(1, ends)
    assert plan.changes_for(0, peer) == plan.changes_for(1, peer) != []
    for net, serving in (("2001:db8:200:5::/64", 1), ("2001:db8:100:5::/64", 0), ("2001:db8:999::/64", 0)):
        created = BindingCreated(7, b"mn", (IPv6Network(net),), paths=(), lifetime=400.0, expires_at=400.0)
        tables = {k[0] for k, _ in plan.changes_for(serving, created)}
        assert {"bindings", "uplink_sources", "binding_profile"} <= tables
        assert plan.changes_for(1 - serving, created) == []


def test_each_switch_steers_the_others_pools_only():
    cfg = lma_from_dict(doc())
    plan = switch_plan(cfg.switches, cfg.policy)
    for i, other in ((0, "2001:db8:200::/48"), (1, "2001:db8:100::/48")):
        steering = plan.steering(i, cfg.switches[i].steer)
        assert [dict(k[1])["home_addr"] for k, _ in steering] == [other]
        assert steering[0][1].action.name == "steer_to_switch"
