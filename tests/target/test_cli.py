"""The p4mob-switch command line accepts simple_switch_grpc's argv shape."""

from __future__ import annotations

import subprocess
import sys

import pytest

from p4mob_switch.cli import parse_args


def test_bmv2_argv_shape_with_separator() -> None:
    a = parse_args(["-i", "1@veth0", "-i", "2@veth1", "--device-id", "1", "--no-p4", "--",
                    "--grpc-server-addr", "127.0.0.1:9999", "--cpu-port", "255"])
    assert a.ports == {1: "veth0", 2: "veth1"}
    assert (a.device_id, a.grpc_server_addr, a.cpu_port, a.no_p4) == (1, "127.0.0.1:9999", 255, True)


def test_without_separator_and_ignored_bmv2_options() -> None:
    a = parse_args(["--interface", "3@eth3", "--thrift-port", "9090", "--log-console", "-L", "debug",
                    "--grpc-server-addr", "[::1]:1", "prog.json"])
    assert a.ports == {3: "eth3"} and a.json == "prog.json" and a.log_level == "debug"


@pytest.mark.parametrize("bad", ["1veth0", "x@veth0", "1@"])
def test_bad_interface_spec_is_refused(bad: str) -> None:
    with pytest.raises(SystemExit):
        parse_args(["-i", bad])


def test_bad_json_file_exits_with_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"__meta__": {"version": [9, 9]}}')
    r = subprocess.run([sys.executable, "-m", "p4mob_switch.cli", "--grpc-server-addr", "127.0.0.1:0",
                        str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "major version 9" in r.stderr
