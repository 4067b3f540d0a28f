"""The soak's loss knob: lossy_link forwards frames between two veths and drops the share its
rate file says (real veths in a namespace of the test, the real process)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from p4mobility.lab.lab import lab_unavailable
from p4mobility.lab.supervisor import Supervisor, sh
from p4mobility.soak.lossy_link import read_rate

SEND = ("import socket,sys,time;s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind(('a0',0))\n"
        "for i in range(int(sys.argv[1])):\n"
        " s.send(bytes.fromhex('020000000b02020000000b0188b5')+i.to_bytes(4,'big')+bytes(46)); time.sleep(0.0005)")
COUNT = ("import socket,sys;s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(0x88b5));"
         "s.bind(('b0',0));s.settimeout(2.0);n=0\n"
         "try:\n while True: s.recv(100); n+=1\nexcept socket.timeout: print(n)")


def test_read_rate_clamps_and_defaults(tmp_path):
    f = tmp_path / "rate"
    assert read_rate(str(f)) == 0.0
    for text, want in (("0.25\n", 0.25), ("7", 1.0), ("-1", 0.0), ("", 0.0), ("x", 0.0)):
        f.write_text(text)
        assert read_rate(str(f)) == want


def _burst(ns: str, n: int) -> int:
    counter = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", COUNT], stdout=subprocess.PIPE,
                               text=True)
    time.sleep(0.5)  # the counter's socket is bound
    sh(sys.executable, "-c", SEND, str(n), ns=ns, timeout=60)
    return int(counter.communicate(timeout=60)[0])


def test_drops_the_share_of_the_rate_file_and_forwards_the_rest(tmp_path):
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    rate, stats = tmp_path / "rate", tmp_path / "stats.json"
    rate.write_text("0\n")
    with Supervisor("lossy") as sup:
        ns = sup.add_namespace("w")
        for a, b in (("a0", "a1"), ("b0", "b1")):
            sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, ns=ns)
        for ifname in ("a0", "a1", "b0", "b1"):
            sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1", ns=ns)
            sh("ip", "link", "set", ifname, "up", ns=ns)
        sup.spawn("link", [sys.executable, "-m", "p4mobility.soak.lossy_link", "a1", "b1", "--rate-file", str(rate),
                           "--stats", str(stats)], tmp_path / "link.log", ns=ns)
        deadline = time.monotonic() + 30
        while not stats.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _burst(ns, 400) == 400
        rate.write_text("0.5\n")
        time.sleep(0.5)  # read within 0.1 s of the change
        got = _burst(ns, 400)
        rate.write_text("1\n")
        time.sleep(0.5)
        assert _burst(ns, 100) == 0
        sup.stop("link")
    counts = json.loads(stats.read_text())["directions"]["a1>b1"]
    assert counts["forwarded"] == 400 + got and counts["dropped"] == 400 - got + 100
    assert 0 < got < 400  # about half (seeded draws), never all or nothing
