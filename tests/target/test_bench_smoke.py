"""The embedded-target benchmark runs (in-process part, tiny count)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench" / "bench_embedded.py"


def test_bench_embedded_inproc_smoke(tmp_path) -> None:
    if not (REPO / "p4src" / "build" / "mobility.json").exists():
        pytest.skip("p4src/build/mobility.json not built")
    spec = importlib.util.spec_from_file_location("bench_embedded", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "embedded.json"
    res = mod.main(["--count", "10", "--inproc-only", "--out", str(out)])
    assert json.loads(out.read_text()) == res
    assert all(r["inproc_pps"] > 0 for r in res["scenarios"].values())
