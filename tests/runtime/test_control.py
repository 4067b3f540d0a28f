"""The control socket answers good and bad requests, and `p4mob show` renders answers."""
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from p4mobility.runtime.control import MAX_LINE, ControlError, ControlSocketError, request, serve_control


@pytest.fixture
def node(tmp_path):
    """A real control server on a Unix socket, run by an asyncio loop in a thread."""
    path = str(tmp_path / "node.sock")
    loop = asyncio.new_event_loop()
    calls = []

    def handler(req):
        calls.append(req)
        if req["cmd"] == "show" and req.get("what") == "bindings":
            return {"ok": True, "columns": ["mn_id", "hnp", "proxy_coa"],
                    "rows": [["mn1@example", "2001:db8:1::/64", "2001:db8:ff::1"]]}
        if req["cmd"] == "show":
            return {"ok": True, "columns": ["name"], "rows": []}
        return {"ok": False, "error": f"unknown command {req['cmd']!r}"}

    started = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve_control(path, handler))
        started.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        pending = asyncio.all_tasks(loop)  # client handlers still reading: end them before the loop
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    started.wait(10)
    yield path, calls
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)


def _raw(path, data: bytes) -> dict:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(data)
        return json.loads(s.makefile("rb").readline())


def test_request_roundtrip(node):
    path, calls = node
    answer = request(path, {"cmd": "show", "what": "bindings"})
    assert answer["rows"][0][0] == "mn1@example"
    assert calls == [{"cmd": "show", "what": "bindings"}]


def test_garbage_gets_an_error_and_server_lives(node):
    path, calls = node
    assert _raw(path, b"not json\n") == {"ok": False, "error": "request is not JSON"}
    assert _raw(path, b'["cmd"]\n')["ok"] is False
    assert _raw(path, b"x" * (MAX_LINE + 10) + b"\n")["ok"] is False
    assert request(path, {"cmd": "nope"}) == {"ok": False, "error": "unknown command 'nope'"}
    assert calls == [{"cmd": "nope"}]


def test_no_node_is_a_clear_error(tmp_path):
    with pytest.raises(ControlError, match="no node is listening"):
        request(str(tmp_path / "absent.sock"), {"cmd": "show"})


def _p4mob(*args):
    return subprocess.run([sys.executable, "-m", "p4mobility.cli", *args], capture_output=True, text=True, timeout=60)


def test_cli_show_table_and_json(node):
    path, _ = node
    out = _p4mob("show", "bindings", "--socket", path)
    assert out.returncode == 0, out.stderr
    header, rule, row = out.stdout.splitlines()
    assert header.split() == ["mn_id", "hnp", "proxy_coa"]
    assert row.split() == ["mn1@example", "2001:db8:1::/64", "2001:db8:ff::1"]
    out = _p4mob("show", "peers", "--socket", path, "--json")
    assert json.loads(out.stdout)["rows"] == []
    assert "(none)" in _p4mob("show", "peers", "--socket", path).stdout


def test_cli_show_without_node_exits_2(tmp_path):
    out = _p4mob("show", "bindings", "--socket", str(tmp_path / "x.sock"))
    assert out.returncode == 2
    assert "no node is listening" in out.stderr and "Traceback" not in out.stderr


def _serve_once(path: str):
    """serve_control on ``path`` in a fresh loop; returns None or the error it raised."""
    async def go():
        server = await serve_control(path, lambda req: {"ok": True})
        server.close()
        await server.wait_closed()
    try:
        asyncio.run(go())
    except OSError as exc:
        return exc
    return None


def test_socket_directory_is_made_owner_only(tmp_path):
    path = tmp_path / "new" / "dir" / "node.sock"
    assert _serve_once(str(path)) is None
    assert os.stat(path.parent).st_mode & 0o777 == 0o700
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_stale_socket_is_replaced_a_live_one_is_not(tmp_path, node):
    live, _ = node
    err = _serve_once(live)
    assert isinstance(err, ControlSocketError) and "another process is serving" in str(err)
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))  # bound, never listening: nobody answers
    assert _serve_once(str(stale)) is None


def test_a_file_that_is_not_a_socket_is_never_replaced(tmp_path):
    precious = tmp_path / "precious.db"
    precious.write_text("data")
    err = _serve_once(str(precious))
    assert isinstance(err, ControlSocketError) and "is not a socket" in str(err)
    assert precious.read_text() == "data"


def test_a_directory_others_may_write_to_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    err = _serve_once(str(shared / "node.sock"))
    assert isinstance(err, ControlSocketError) and "writable by other users" in str(err)
    shared.chmod(0o1777)  # sticky, like /tmp: others cannot replace our file
    assert _serve_once(str(shared / "node.sock")) is None


def test_handler_failure_is_an_error_answer(tmp_path):
    path = str(tmp_path / "n.sock")

    def handler(req):
        return {"ok": True} if req["cmd"] == "ok" else {}["missing"]

    async def go():
        server = await serve_control(path, handler)
        loop = asyncio.get_running_loop()
        bad = await loop.run_in_executor(None, request, path, {"cmd": "boom"})
        good = await loop.run_in_executor(None, request, path, {"cmd": "ok"})
        server.close()
        await server.wait_closed()
        return bad, good
    bad, good = asyncio.run(go())
    assert bad["ok"] is False and "boom" in bad["error"] and good == {"ok": True}
