"""`p4mob show bindings|peers` tables come from the cores' typed records, one
table per record kind, and render with the CLI's renderer."""
from __future__ import annotations

from p4mobility.cli.show import render_table
from p4mobility.runtime.show_tables import BINDING_COLUMNS, binding_table, bul_table, peer_table
from tests.pmip.pmip_helpers import MAG1, MAG2, T0, make_lma, pbu, rx
from tests.pmip.test_mag import answer, attach, make_mag, sent


def test_binding_rows_show_every_column_and_time_left():
    lma = make_lma()
    lma.handle(rx(pbu(b"mn1", ll=b"\x01")), T0)
    lma.handle(rx(pbu(b"mn2"), MAG2), T0)
    net = lma.bindings_for_mn(b"mn2")[0].home_prefixes
    lma.handle(rx(pbu(b"mn2", seq=2, lifetime=0, hnps=net, hi=5, ts=T0 + 1), MAG2), T0 + 1)
    table = binding_table(lma.bindings(), T0 + 2)
    assert table["columns"] == BINDING_COLUMNS
    rows = {r[1]: dict(zip(table["columns"], r)) for r in table["rows"]}
    first = lma.bindings_for_mn(b"mn1")[0]
    assert rows["mn1"]["coa"] == str(MAG1) and rows["mn1"]["peer"] == str(first.tunnel_peer_id)
    assert rows["mn1"]["home_prefixes"] == str(first.home_prefixes[0])
    assert rows["mn1"]["expires_in"] == round(first.expires_at - (T0 + 2), 1)
    gone = lma.bindings_for_mn(b"mn2")[0]  # de-registering: MinDelayBeforeBCEDelete left
    assert rows["mn2"]["state"] == "deregistering" and rows["mn2"]["expires_in"] == round(gone.delete_at - (T0 + 2), 1)
    text = render_table(**peer_table(lma.tunnel_peers()))
    assert str(MAG1) in text and str(MAG2) in text


def test_bul_rows():
    mag = make_mag()
    answer(mag, sent(attach(mag)), T0)
    sent(attach(mag, b"mn2", 2, T0 + 0.1))
    table = bul_table(mag.binding_update_list(), T0 + 1)
    rows = {r[0]: dict(zip(table["columns"], r)) for r in table["rows"]}
    assert rows[1]["state"] == "bound" and rows[1]["peer"] is not None and rows[1]["expires_in"] > 0
    assert rows[2]["state"] == "registering" and rows[2]["peer"] is None
    assert "bound" in render_table(**table)
