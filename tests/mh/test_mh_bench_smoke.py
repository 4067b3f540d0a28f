"""The codec benchmark still runs (tiny count) and writes its JSON result."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_codec.py"


def test_bench_codec_smoke(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_codec_smoke", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "codec.json"
    assert mod.main(["--count", "3", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["messages"]) == {"pbu", "pba"}
    assert all(m["ours_per_s"] > 0 and m["scapy_per_s"] > 0 for m in result["messages"].values())
    assert "ratio" in capsys.readouterr().out
