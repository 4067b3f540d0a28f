"""Smoke run of bench/bench_crypto_port.py with a tiny count (root only; no timing asserted)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dataplane.netns import netns_available

REPO = Path(__file__).resolve().parents[2]


def test_bench_crypto_port_smoke(tmp_path):
    reason = netns_available()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "crypto_port.json"
    proc = subprocess.run([sys.executable, "bench/bench_crypto_port.py", "--count", "50", "--repeats", "1",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    rows = {(r["algorithm"], r["payload_bytes"]) for r in doc["results"]}
    assert rows == {(a, n) for a in ("aes-gcm-16", "aes-cbc+hmac-sha256-128") for n in (64, 1400)}
    assert all(r["plaintext_ok"] and r["lost"] == 0 and r["port_pps"] > 0 for r in doc["results"])
    assert "ratio" in proc.stdout
