"""Hostile clients on the control socket of real node processes (an LMA node whose
switch is absent, and the crypto path `p4mob ipsec run` in a namespace): every bad
request gets an error answer, the socket is the owner's only, slow and idle clients
do not block others, connections are bounded, and the node logs no traceback."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from p4mobility.runtime import control
from p4mobility.runtime.control import MAX_CLIENTS, MAX_LINE, request
from tests.dataplane.netns import netns_available
from tests.dataplane.targets import free_tcp_port

P4MOB = str(Path(sys.executable).with_name("p4mob"))


class LmaProcess:
    """`p4mob lma run` with a switch address nobody serves: it still serves its control socket."""

    def __init__(self, tmp: Path) -> None:
        self.control = str(tmp / "run" / "lma.sock")
        self.log = tmp / "lma.log"
        cfg = tmp / "lma.toml"
        cfg.write_text(f"""
[node]
name = "lma"
switch_address = "127.0.0.1:{free_tcp_port()}"
control_socket = "{self.control}"
[lma]
lma_address = "2001:db8:ffff::1"
[policy]
trusted_mags = ["2001:db8:a::1"]
""")
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen([P4MOB, "lma", "run", "-c", str(cfg)], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.control):
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the LMA did not open its control socket"
            time.sleep(0.05)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.logf.close()


class CryptoProcess:
    def __init__(self, tmp: Path) -> None:
        from tests.ipsec.crypto_port_lab import CryptoLab
        from tests.ipsec.test_crypto_port import write_config
        reason = netns_available()
        if reason:
            pytest.skip(reason)
        self.lab = CryptoLab(tmp)
        try:
            self.lab.start(write_config(tmp))
        except BaseException:
            self.lab.close()
            raise
        self.control = self.lab.control

    def log_text(self) -> str:
        """The event log and what the process wrote to stderr so far (read without blocking)."""
        fd = self.lab.proc.stderr.fileno()
        os.set_blocking(fd, False)
        err = b""
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            err += chunk
        return Path(self.lab.log).read_text(errors="replace") + err.decode(errors="replace")

    def close(self) -> None:
        self.lab.close()


@pytest.fixture(scope="module", params=["lma", "crypto"])
def node(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    n = (LmaProcess if request.param == "lma" else CryptoProcess)(tmp)
    yield n
    n.close()


def connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    return s


def ask_raw(path: str, data: bytes, shut: bool = False) -> dict:
    with connect(path) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        line = s.makefile("rb").readline()
    assert line.endswith(b"\n"), f"no answer to {data[:40]!r}..."
    return json.loads(line)


def alive(path: str) -> bool:
    return request(path, {"cmd": "status"}).get("ok") is True


def test_socket_is_owner_only(node) -> None:
    st = os.stat(node.control)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()


BAD = {
    "garbage": (b"\x00\xffgarbage\n", "request is not JSON"),
    "not utf-8": (b'{"cmd": "\xff\xfe"}\n', "request is not JSON"),
    "json list": (b'["cmd", "status"]\n', 'request must be an object with a string "cmd"'),
    "json number": (b"5\n", 'request must be an object with a string "cmd"'),
    "cmd not a string": (b'{"cmd": ["status"]}\n', 'request must be an object with a string "cmd"'),
    "deeply nested list": (b"[" * 30000 + b"]" * 30000 + b"\n", "request is nested too deeply"),
    "deeply nested object": (b'{"cmd": "show", "what": ' + b'{"a":' * 10000 + b"1" + b"}" * 10001 + b"\n",
                             "request is nested too deeply"),
    "oversized with newline": (b"x" * (MAX_LINE + 10) + b"\n", f"request longer than {MAX_LINE} bytes"),
    "oversized without newline": (b"{" * (MAX_LINE + 10), f"request longer than {MAX_LINE} bytes"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_request_gets_an_error_and_the_node_keeps_serving(node, name: str) -> None:
    data, error = BAD[name]
    assert ask_raw(node.control, data) == {"ok": False, "error": error}
    assert alive(node.control)


def test_wrong_argument_types_get_an_error(node) -> None:
    for req in ({"cmd": "show", "what": {"x": [1]}}, {"cmd": "show", "what": None}, {"cmd": "nope", "x": 1e308}):
        answer = request(node.control, req)
        assert answer["ok"] is False and answer["error"], (req, answer)
    assert alive(node.control)


def test_half_open_and_slow_clients_do_not_block_others(node) -> None:
    silent = connect(node.control)  # connected, never sends
    partial = connect(node.control)
    partial.sendall(b'{"cmd": "sta')  # half a request, then nothing
    half_closed = connect(node.control)
    half_closed.sendall(b'{"cmd": "status"')  # no newline, then EOF: dropped without answer
    half_closed.shutdown(socket.SHUT_WR)
    try:
        assert alive(node.control)
        partial.sendall(b'tus"}\n')  # the slow client finishes: answered
        assert json.loads(partial.makefile("rb").readline())["ok"] is True
        assert half_closed.recv(100) == b""
    finally:
        for s in (silent, partial, half_closed):
            s.close()


def test_connections_are_bounded_and_freed(node) -> None:
    held = []
    try:
        for _ in range(MAX_CLIENTS):
            held.append(connect(node.control))
        # every held connection is accepted; the next is told and closed
        assert alive_with_first(held)
        with connect(node.control) as extra:  # told at once, without asking
            assert json.loads(extra.makefile("rb").readline()) == \
                {"ok": False, "error": f"too many clients (at most {MAX_CLIENTS})"}
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 20
    while not alive_or_busy(node.control):  # the node notices the closes
        assert time.monotonic() < deadline
        time.sleep(0.05)


def alive_with_first(held: list) -> bool:
    held[0].sendall(b'{"cmd": "status"}\n')
    return json.loads(held[0].makefile("rb").readline())["ok"] is True


def alive_or_busy(path: str) -> bool:
    return ask_raw(path, b'{"cmd": "status"}\n').get("ok") is True


def test_no_traceback_in_the_log(node) -> None:
    for data, _err in BAD.values():
        ask_raw(node.control, data)
    assert alive(node.control)
    text = node.log_text()
    assert "Traceback" not in text and "RecursionError" not in text, text[-3000:]


def test_module_limits_are_the_documented_ones() -> None:
    assert (control.MAX_LINE, control.MAX_CLIENTS) == (64 * 1024, 32)
