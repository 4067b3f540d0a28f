"""`p4mob demo` (what `make lab` runs) and a tiny run of bench/bench_lma.py."""
from __future__ import annotations

import json
import pathlib
import runpy
import sys

from p4mobility.cli import main
from p4mobility.mh import BindingAck, BindingUpdate, HandoffIndicatorOption
from p4mobility.pmip.demo import MN, play

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_demo_cli_prints_the_call_flow(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any("MAG1 -> LMA  PBU seq=" in l and "MN-ID=mn1@example HI=1" in l for l in lines)
    assert any("MAG2 -> LMA  PBU" in l and "HI=3" in l for l in lines)
    assert any("BindingMoved" in l for l in lines) and any("BindingDeleted" in l for l in lines)
    assert lines[-1].startswith("summary:") and "ok=True" in lines[-1]


def test_demo_json_lines(capsys):
    assert main(["demo", "--json"]) == 0
    rows = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    summary = rows[-1]["summary"]
    assert summary["ok"] and summary["hnp_kept_across_handoff"]
    times = [r["t"] for r in rows[:-1]]
    assert times == sorted(times) and times[0] == 0.0
    kinds = {r["kind"] for r in rows[:-1]}
    assert {"PBU", "PBA", "RA", "action", "event"} <= kinds


def test_demo_messages_really_went_over_the_codec():
    sim, summary = play()
    pbus = sim.messages("PBU")
    pbas = sim.messages("PBA")
    assert all(isinstance(m, BindingUpdate) and m.proxy and m.ack for m in pbus)
    assert all(isinstance(m, BindingAck) and m.proxy and m.status == 0 for m in pbas)
    assert len(pbus) == summary["pbu"] == len(pbas)
    # RFC 5213 Fig. 3: the n-MAG's PBU says "handoff between MAGs" (HI=3)
    his = [(r.node, r.obj.option(HandoffIndicatorOption).value) for r in sim.timeline if r.kind == "PBU"]
    assert ("MAG2", 3) in his and his[0] == ("MAG1", 1)
    assert sim.lma.bindings_for_mn(MN) == []


def test_bench_lma_smoke(tmp_path, capsys, monkeypatch):
    out = tmp_path / "lma.json"
    monkeypatch.setattr(sys, "argv", ["bench_lma.py", "--count", "200", "--out", str(out)])
    try:
        runpy.run_path(str(ROOT / "bench" / "bench_lma.py"), run_name="__main__")
    except SystemExit as exc:
        assert exc.code == 0
    result = json.loads(out.read_text())
    assert result["count"] == 200 and result["refresh_decisions_per_s"] > 0
    assert result["bytes_per_binding"] > result["dict_bytes_per_key"] > 0
    assert "ratio" in capsys.readouterr().out
