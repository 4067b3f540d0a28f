"""LMA state export/restore (the runtime persists bindings in SQLite)."""
from __future__ import annotations

import json

import pytest
from p4mobility.pmip import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    LmaConfig,
    LocalMobilityAnchor,
    SendMh,
    TunnelPeerAdded,
    lma_persist,
)
from p4mobility.runtime.store import BindingStore

from tests.pmip.pmip_helpers import (
    LMAA,
    MAG1,
    MAG2,
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


def populated():
    lma = make_lma()
    lma.handle(rx(pbu(b"mn1", ll=b"\x01")), T0)
    lma.handle(rx(pbu(b"mn2"), MAG2), T0)
    lma.handle(rx(pbu(b"two")), T0)
    net = lma.bindings_for_mn(b"mn2")[0].home_prefixes
    lma.handle(rx(pbu(b"mn2", seq=2, lifetime=0, hnps=net, hi=5, ts=T0 + 1), MAG2), T0 + 1)
    return lma


def test_export_is_plain_json_and_restores_the_same_cache(tmp_path):
    lma = populated()
    state = lma_persist.export_state(lma.state())
    store = BindingStore(str(tmp_path / "lma.db"))  # through the real runtime store
    store.put("lma", "state", state)
    loaded = store.load("lma")["state"]
    store.close()
    assert loaded == json.loads(json.dumps(state))
    policy = make_policy()
    back = LocalMobilityAnchor.from_state(LmaConfig(LMAA), policy, lma_persist.load_state(loaded, LMAA))
    assert back.bindings() == lma.bindings()
    assert peer_map(back) == peer_map(lma)
    assert back.next_deadline() == lma.next_deadline()
    assert lma_persist.export_state(back.state()) == state
    # every prefix of every entry (de-registering ones too) is held again in the pool
    assert policy.pools["home"].in_use == sum(len(b.home_prefixes) for b in lma.bindings()) == 4

def test_restored_core_keeps_working():
    lma = populated()
    policy = make_policy()
    doc = json.loads(json.dumps(lma_persist.export_state(lma.state())))
    back = LocalMobilityAnchor.from_state(LmaConfig(LMAA), policy, lma_persist.load_state(doc, LMAA))
    # a new MN does not get a prefix or id that is already in use
    out = back.handle(rx(pbu(b"static", ts=T0 + 2)), T0 + 2)
    created = the(out, BindingCreated)
    assert created.binding_id == 4 and created.paths[0].tunnel_peer_id == peer_map(lma)[MAG1][0]
    out = back.handle(rx(pbu(b"mn1", seq=3, ll=b"\x01", hi=3, ts=T0 + 3), MAG2), T0 + 3)
    assert the(out, BindingMoved).home_prefixes == (pool_prefix(0),)
    out = back.handle_timer(T0 + 11)  # mn2's MinDelayBeforeBCEDelete, armed before the restart
    assert the(out, BindingDeleted).mn_id == b"mn2"
    fresh = back.handle(rx(pbu(b"mn2", seq=9, ts=T0 + 12)), T0 + 12)
    assert the(fresh, BindingCreated).home_prefixes[0] not in {b.home_prefixes[0] for b in back.bindings() if b.mn_id != b"mn2"}


def test_snapshot_actions_rebuild_the_data_plane():
    lma = populated()
    acts = lma.snapshot_actions()
    assert {a.tunnel_peer_id for a in of(acts, TunnelPeerAdded)} == {p for p, _ in peer_map(lma).values()}
    assert {a.binding_id for a in of(acts, BindingCreated)} == {b.binding_id for b in lma.bindings()}
    assert [a.mn_id for a in of(acts, BindingDeregistered)] == [b"mn2"]
    assert of(acts, SendMh) == []


def test_documents_without_paths_load_as_one_proxy_coa_path():
    """A binding saved before paths existed (proxy_coa + tunnel_peer_id) still restores."""
    lma = populated()
    doc = json.loads(json.dumps(lma_persist.export_state(lma.state())))
    for d in doc["bindings"].values():
        path = d.pop("paths")[0]
        d["proxy_coa"], d["tunnel_peer_id"] = path["remote"], path["tunnel_peer_id"]
    back = LocalMobilityAnchor.from_state(LmaConfig(LMAA), make_policy(), lma_persist.load_state(doc, LMAA))
    assert back.bindings() == lma.bindings()


@pytest.mark.parametrize("breaks, where", [
    (lambda d: d["bindings"]["1"].update(state="deleted"), "bindings[1].state"),
    (lambda d: d["bindings"]["1"].update(hnps=["not a prefix"]), "bindings[1].hnps"),
    (lambda d: d["bindings"]["1"]["paths"][0].update(local="2001:db8::99"), "bindings[1].paths"),
    (lambda d: d["bindings"]["1"].update(sequence=70000), "bindings[1].sequence"),
    (lambda d: d["bindings"]["2"].update(hnps=d["bindings"]["1"]["hnps"]), "bindings[2].hnps"),
    (lambda d: d["bindings"].update({"9": d["bindings"]["1"]}), "bindings[9]"),
])
def test_corrupt_lma_state_is_refused_naming_the_field(breaks, where):
    doc = json.loads(json.dumps(lma_persist.export_state(populated().state())))
    breaks(doc)
    with pytest.raises(lma_persist.StateError) as err:
        lma_persist.load_state(doc, LMAA)
    assert err.value.where.startswith(where)
