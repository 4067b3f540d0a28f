"""LMA state export/restore (the runtime persists bindings in SQLite)."""
from __future__ import annotations

import json

from p4mobility.pmip import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    LmaConfig,
    LocalMobilityAnchor,
    SendMh,
    TunnelPeerAdded,
)
from p4mobility.runtime.store import BindingStore
from tests.pmip.pmip_helpers import LMAA, MAG1, MAG2, T0, make_lma, make_policy, of, pbu, pool_prefix, rx, the


def populated():
    lma = make_lma()
    lma.handle(rx(pbu(b"mn1", ll=b"\x01")), T0)
    lma.handle(rx(pbu(b"mn2"), MAG2), T0)
    lma.handle(rx(pbu(b"two")), T0)
    net = lma.bindings_for_mn(b"mn2")[0].hnps
    lma.handle(rx(pbu(b"mn2", seq=2, lifetime=0, hnps=net, hi=5, ts=T0 + 1), MAG2), T0 + 1)
    return lma


def test_export_is_plain_json_and_restores_the_same_cache(tmp_path):
    lma = populated()
    state = lma.export_state()
    store = BindingStore(str(tmp_path / "lma.db"))  # through the real runtime store
    store.put("lma", "state", state)
    loaded = store.load("lma")["state"]
    store.close()
    assert loaded == json.loads(json.dumps(state))
    policy = make_policy()
    back = LocalMobilityAnchor.from_state(LmaConfig(LMAA), policy, loaded)
    assert back.bindings() == lma.bindings()
    assert back.tunnel_peers() == lma.tunnel_peers()
    assert back.next_deadline() == lma.next_deadline()
    assert back.export_state() == state
    # every prefix of every entry (de-registering ones too) is held again in the pool
    assert policy.pools["home"].in_use == sum(len(b.hnps) for b in lma.bindings()) == 4

def test_restored_core_keeps_working():
    lma = populated()
    policy = make_policy()
    back = LocalMobilityAnchor.from_state(LmaConfig(LMAA), policy, json.loads(json.dumps(lma.export_state())))
    # a new MN does not get a prefix or id that is already in use
    out = back.handle(rx(pbu(b"static", ts=T0 + 2)), T0 + 2)
    created = the(out, BindingCreated)
    assert created.binding_id == 4 and created.tunnel_peer_id == lma.tunnel_peers()[MAG1][0]
    out = back.handle(rx(pbu(b"mn1", seq=3, ll=b"\x01", hi=3, ts=T0 + 3), MAG2), T0 + 3)
    assert the(out, BindingMoved).hnps == (pool_prefix(0),)
    out = back.handle_timer(T0 + 11)  # mn2's MinDelayBeforeBCEDelete, armed before the restart
    assert the(out, BindingDeleted).mn_id == b"mn2"
    fresh = back.handle(rx(pbu(b"mn2", seq=9, ts=T0 + 12)), T0 + 12)
    assert the(fresh, BindingCreated).hnps[0] not in {b.hnps[0] for b in back.bindings() if b.mn_id != b"mn2"}


def test_snapshot_actions_rebuild_the_data_plane():
    lma = populated()
    acts = lma.snapshot_actions()
    assert {a.tunnel_peer_id for a in of(acts, TunnelPeerAdded)} == {p for p, _ in lma.tunnel_peers().values()}
    assert {a.binding_id for a in of(acts, BindingCreated)} == {b.binding_id for b in lma.bindings()}
    assert [a.mn_id for a in of(acts, BindingDeregistered)] == [b"mn2"]
    assert of(acts, SendMh) == []


def test_show_tables_render_with_the_runtime_renderer():
    from p4mobility.cli.show import render_table
    lma = populated()
    table = lma.show_bindings(T0 + 2)
    assert len(table["rows"]) == len(lma.bindings())
    row = dict(zip(table["columns"], table["rows"][0]))
    assert row["id"] == 1 and row["mn_id"] == "mn1" and row["proxy_coa"] == str(MAG1)
    assert row["expires_in"] == 398.0
    dereg = [dict(zip(table["columns"], r)) for r in table["rows"] if r[1] == "mn2"][0]
    assert dereg["state"] == "deregistering" and dereg["expires_in"] == 9.0  # MinDelayBeforeBCEDelete left
    text = render_table(**lma.show_peers())
    assert str(MAG1) in text and str(MAG2) in text
