"""Home agent state as JSON (ha_persist.py) and back into a core (HomeAgent.from_state): a
round trip keeps bindings, paths, tunnel peer ids, IPv4 pool use and deadlines; a corrupt
document is refused with a StateError naming the field, before any core exists."""
from __future__ import annotations

import copy
import json

import pytest
from p4mobility.binding import BindingCreated, TunnelPeerAdded
from p4mobility.binding.statejson import StateError
from p4mobility.ha import HomeAgent, HomeState
from p4mobility.ha.ha_persist import export_state, load_state
from p4mobility.mh import Ipv4AddressAcknowledgement

from tests.ha.ha_helpers import (
    COA,
    COA2,
    HOA,
    HOA2,
    HOA_STATIC4,
    ba_of,
    bid,
    bu,
    from_coa,
    make_ha,
    of,
    over_udp,
    v4req,
)


def busy_ha():
    """MCoA over IPv6 and NAT'd UDP with a pool IPv4 HoA, a static IPv4 HoA, a BRR pending."""
    ha = make_ha(refresh_request_lead=100.0)
    ha.handle(from_coa(bu(1, 100, bid(1), v4req()), COA), 0.0)
    ha.handle(over_udp(bu(2, 50, bid(2), v4req())), 10.0)
    ha.handle(from_coa(bu(7, 100, v4req()), COA2, HOA_STATIC4), 20.0)
    ha.handle(from_coa(bu(0xFFFF, 30), COA2, HOA2), 30.0)
    ha.handle_timer(110.0)  # BID 2's BRR (expiry 210 - 100)
    return ha


def round_trip(ha):
    doc = json.loads(json.dumps(export_state(ha.state())))
    return HomeAgent.from_state(ha.config, load_state(doc, ha.config), now=111.0), doc


def test_round_trip_keeps_everything_the_core_decides_with():
    ha = busy_ha()
    assert ha.binding_for(HOA).state is HomeState.REFRESH_REQUESTED
    back, _ = round_trip(ha)
    assert back.state() == ha.state() and back.tunnel_peers() == ha.tunnel_peers()
    assert back.next_deadline() == ha.next_deadline()
    assert back.handle_timer(1000.0) == ha.handle_timer(1000.0)  # same expiries, same actions


def test_restored_pool_addresses_are_not_handed_out_again_and_sequence_continues():
    ha = busy_ha()
    back, _ = round_trip(ha)
    held = back.binding_for(HOA).ipv4_home_address
    ba, _ = ba_of(back.handle(from_coa(bu(1, 100, v4req()), COA, HOA.__class__("2001:db8:1::555")), 112.0))
    assert ba.option(Ipv4AddressAcknowledgement).address != held
    assert ba_of(back.handle(from_coa(bu(0xFFFF), COA2, HOA2), 113.0))[0].status == 135
    assert ba_of(back.handle(from_coa(bu(0), COA2, HOA2), 113.0))[0].status == 0  # wraps


def test_snapshot_actions_rebuild_peers_before_bindings():
    back, _ = round_trip(busy_ha())
    acts = back.snapshot_actions()
    peers, created = of(acts, TunnelPeerAdded), of(acts, BindingCreated)
    assert acts == peers + created and len(created) == 3
    assert {p.tunnel_peer_id for b in created for p in b.paths} == {p.tunnel_peer_id for p in peers}


def _bad(doc, path, value):
    d = copy.deepcopy(doc)
    target = d
    for k in path[:-1]:
        target = target[k]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


@pytest.mark.parametrize("path, value, where", [
    (("version",), 2, "version"),
    (("bindings",), [], "bindings"),
    (("bindings", "1", "state"), "deleted", "bindings[1].state"),
    (("bindings", "1", "state"), "dancing", "bindings[1].state"),
    (("bindings", "1", "home_address"), "2001:db8:99::1", "bindings[1].home_address"),
    (("bindings", "1", "home_address"), 17, "bindings[1].home_address"),
    (("bindings", "1", "ipv4_home_address"), "2001:db8::1", "bindings[1].ipv4_home_address"),
    (("bindings", "1", "sequence"), 70000, "bindings[1].sequence"),
    (("bindings", "1", "expires_at"), "soon", "bindings[1].expires_at"),
    (("bindings", "1", "paths", 0, "local"), "2001:db8:66::1", "bindings[1].paths[0].local"),
    (("bindings", "1", "paths", 1, "remote_port"), 0, "bindings[1].paths[1]"),
    (("bindings", "1", "paths", 0, "transport"), "carrier-pigeon", "bindings[1].paths[0].transport"),
    (("bindings", "1", "careofs", 0, "bid"), 5, "bindings[1].careofs"),
    (("bindings", "1", "careofs", 1, "signal_port"), 0, "bindings[1].careofs[1].signal_port"),
    (("bindings", "1", "careofs", 1, "nat_detected"), "yes", "bindings[1].careofs[1].nat_detected"),
    (("bindings", "1", "careofs", 0, "coa"), "not an address", "bindings[1].careofs[0].coa"),
    (("bindings", "1", "careofs"), {}, "bindings[1].careofs"),
    (("bindings", "1", "binding_id"), 2, "bindings[1]"),
    (("bindings", "2", "home_address"), str(HOA), "bindings[2].home_address"),
])
def test_corrupt_documents_are_refused_naming_the_field(path, value, where):
    ha = busy_ha()
    doc = json.loads(json.dumps(export_state(ha.state())))
    with pytest.raises(StateError) as err:
        load_state(_bad(doc, path, value), ha.config)
    assert err.value.where.startswith(where), err.value.where


def test_two_bindings_with_one_ipv4_home_address_refused():
    ha = busy_ha()
    doc = json.loads(json.dumps(export_state(ha.state())))
    doc["bindings"]["2"]["ipv4_home_address"] = doc["bindings"]["1"]["ipv4_home_address"]
    with pytest.raises(StateError) as err:
        load_state(doc, ha.config)
    assert err.value.where == "bindings[2].ipv4_home_address"


def test_records_that_conflict_on_tunnel_peer_ids_are_refused_by_the_core():
    ha = busy_ha()
    doc = json.loads(json.dumps(export_state(ha.state())))
    doc["bindings"]["3"]["paths"][0]["tunnel_peer_id"] = 99  # COA2, like binding 2's path, under another id
    with pytest.raises(ValueError):
        HomeAgent.from_state(ha.config, load_state(doc, ha.config), now=0.0)
