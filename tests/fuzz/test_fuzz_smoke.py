"""CI smoke of the fuzzing campaign (fuzz/, docs/fuzzing.md): every target a few
seconds under atheris, each in its own process, through the runner `make fuzz` uses.
Asserts the runner's contract (one line per target, the JSON result) and zero
crashes; the figures themselves are not asserted (they depend on the machine).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris not installed (pip install -e '.[fuzz]'; x86_64 Linux wheels)")

REPO = Path(__file__).resolve().parents[2]
SECONDS = 3


def test_every_target_runs_and_finds_no_crash(tmp_path):
    from fuzz.runner import TARGETS
    proc = subprocess.run([sys.executable, "-m", "fuzz.runner", "--seconds", str(SECONDS), "--out", str(tmp_path),
                           "--pcaps", str(tmp_path / "no-pcaps")],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    lines = proc.stdout.splitlines()
    assert [re.fullmatch(r"(\w+): (\d+) inputs, (\d+) crashes", ln).group(1) for ln in lines] == list(TARGETS), \
        proc.stdout + proc.stderr
    result = json.loads((tmp_path / "fuzz.json").read_text())
    by_target = {t["target"]: t for t in result["targets"]}
    crashed = {name: t["signatures"] for name, t in by_target.items() if t["crashes"]}
    assert not crashed, json.dumps(crashed, indent=1)[:6000]
    for name, t in by_target.items():
        assert t["inputs"] > 0 and t["exit"] == 0, (name, t)
        assert t["rss_start_kb"] and t["rss_end_kb"], (name, t)
    assert proc.returncode == 0
