"""Smoke test: bench/bench_esp.py runs end to end with a tiny count (no timing asserted)."""
from __future__ import annotations

import importlib.util
import json
import pathlib

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "bench_esp.py"


def test_bench_esp_runs_and_writes_json(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_esp", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "esp.json"
    assert mod.main(["--count", "20", "--repeats", "1", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    rows = {(r["algorithm"], r["payload_bytes"]) for r in doc["results"]}
    assert rows == {(a, n) for a in ("aes-gcm-16", "aes-cbc+hmac-sha256-128") for n in (64, 1400)}
    assert all(r["raw_pps"] > 0 and r["sa_pps"] > 0 for r in doc["results"])
    assert "ratio" in capsys.readouterr().out
