"""The committed p4c outputs of the target's test programs match their source."""

from __future__ import annotations

import subprocess

import pytest

from tests.tooling import require_tool

from .tlib import BUILD, P4_DIR


@pytest.mark.parametrize("name", sorted(p.stem for p in P4_DIR.glob("*.p4")))
def test_committed_build_matches_source(name: str, tmp_path) -> None:
    p4c = require_tool("p4c-bm2-ss")
    out_json, out_info = tmp_path / f"{name}.json", tmp_path / f"{name}.p4info.txtpb"
    r = subprocess.run([p4c, "--arch", "v1model", "-o", str(out_json), "--p4runtime-files", str(out_info),
                        f"{name}.p4"], capture_output=True, text=True, cwd=P4_DIR, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out_json.read_bytes() == (BUILD / f"{name}.json").read_bytes(), "rebuild with tests/target/p4/build.sh"
    assert out_info.read_bytes() == (BUILD / f"{name}.p4info.txtpb").read_bytes()
