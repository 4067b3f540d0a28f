"""p4runtime-shell (its own venv: it pins an old protobuf) drives the target:
pushes the pipeline, lists tables, inserts an entry and reads it back."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .tlib import FEATURES_JSON, FEATURES_P4INFO, require_features

REPO = Path(__file__).resolve().parents[2]
SHELL_VENV = REPO / ".venv-p4rt-shell"  # git-ignored cache
MARKER = SHELL_VENV / ".p4mob-installed"

SCRIPT = r"""
import json, sys
import p4runtime_sh.shell as sh
from p4runtime_sh.context import P4Type
addr, p4info, blob = sys.argv[1:4]
sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 1),
         config=sh.FwdPipeConfig(p4info, blob), verbose=False)
tables = sorted(t.name for t in sh.P4Objects(P4Type.table))
te = sh.TableEntry("FeatIngress.l2")(action="FeatIngress.set_port_counted")
te.match["dst"] = "02:00:00:00:00:01"
te.action["port"] = "2"
te.insert()
read = []
for e in sh.TableEntry("FeatIngress.l2").read():
    m = e.msg()
    read.append({"dst": m.match[0].exact.value.hex(), "port": m.action.action.params[0].value.hex()})
err = None
try:
    te.insert()
except Exception as exc:
    err = str(exc)
sh.teardown()
print(json.dumps({"tables": tables, "read": read, "dup_error": err}))
"""


def ensure_shell_venv() -> Path:
    py = SHELL_VENV / "bin" / "python"
    if MARKER.exists() and py.exists():
        return py
    r = subprocess.run([sys.executable, "-m", "venv", "--clear", str(SHELL_VENV)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot create venv for p4runtime-shell: {r.stderr[-300:]}")
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "p4runtime-shell"],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        pytest.skip(f"pip cannot install p4runtime-shell: {r.stderr[-400:]}")
    MARKER.write_text("ok\n")
    return py


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(1200)
def test_p4runtime_shell_lists_tables_inserts_and_reads_back() -> None:
    require_features()
    py = ensure_shell_venv()
    port = _free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("p4mob-switch")), "--device-id", "1", "--no-p4",
                             "--", "--grpc-server-addr", f"127.0.0.1:{port}", "--cpu-port", "255"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "switch did not start"
                time.sleep(0.05)
        r = subprocess.run([str(py), "-c", SCRIPT, f"127.0.0.1:{port}", str(FEATURES_P4INFO), str(FEATURES_JSON)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        out = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        proc.terminate()
        proc.wait(10)
    assert {"FeatIngress.l2", "FeatIngress.ipv4_lpm", "FeatIngress.acl"} <= set(out["tables"])
    assert len(out["read"]) == 1
    assert int(out["read"][0]["dst"], 16) == 0x020000000001 and int(out["read"][0]["port"], 16) == 2
    assert out["dup_error"] and "ALREADY_EXISTS" in out["dup_error"]
