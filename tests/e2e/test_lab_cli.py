"""`p4mob lab` always cleans up: interrupted with SIGINT (Ctrl-C) or SIGTERM
in the middle of the scenario, it leaves no namespace and no process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.tooling import require_lab

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]


def namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_lab_interrupted_leaves_nothing_behind(tmp_path, sig):
    require_lab("ping")  # the scenario pings the CN
    log = open(tmp_path / "lab.out", "w")
    proc = subprocess.Popen([sys.executable, "-m", "p4mobility.cli", "lab", "--out", str(tmp_path / "out")],
                            stdout=log, stderr=subprocess.STDOUT)
    prefix = f"p4mlab{proc.pid}-"
    try:
        deadline = time.monotonic() + 120
        while "SLAAC" not in (tmp_path / "lab.out").read_text():  # mid-scenario: attached, pinging next
            assert proc.poll() is None, (tmp_path / "lab.out").read_text()
            assert time.monotonic() < deadline, "lab did not come up"
            time.sleep(0.1)
        assert len(namespaces(prefix)) == 6
        pids = {p for ns in namespaces(prefix) for p in subprocess.run(
            ["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()}
        assert len(pids) >= 6  # 3 switches, 3 controllers (+ tcpdump, ping)
        os.kill(proc.pid, sig)
        assert proc.wait(60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert namespaces(prefix) == []
    assert "interrupted; cleaned up" in (tmp_path / "lab.out").read_text()
    left = [p for p in pids if os.path.exists(f"/proc/{p}")]
    assert left == [], f"processes left: {left}"
