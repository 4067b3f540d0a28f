"""The switch targets the data-plane tests run on, started with one argv shape.

Rule: bmv2 (`simple_switch_grpc` from PATH or P4MOB_TOOL_DIRS) and the embedded
target (`p4mob-switch` in the venv) take the same command line:
  <binary> -i 1@<if> ... --device-id 1 --no-p4 --thrift-port <port> -- --grpc-server-addr 127.0.0.1:<port>
    --cpu-port 255
A target that is not installed yields a skip reason, never a failure.
`P4MOB_TARGETS=bmv2,embedded` restricts the set.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from p4mobility.lab.launch import find_switch
from p4mobility.lab.supervisor import LabError

ALL_TARGETS = ("bmv2", "embedded")
CPU_PORT = 255


def selected_targets() -> list[str]:
    wanted = os.environ.get("P4MOB_TARGETS", "")
    if not wanted.strip():
        return list(ALL_TARGETS)
    return [t.strip() for t in wanted.split(",") if t.strip() in ALL_TARGETS]


def find_binary(target: str) -> tuple[str | None, str]:
    """(path, reason): path is None when the target cannot run here (the lab's lookup,
    p4mobility.lab.launch.find_switch: PATH, then P4MOB_TOOL_DIRS for bmv2)."""
    try:
        path = find_switch(target)
    except LabError as exc:
        return None, str(exc)
    if target == "embedded":
        try:
            cli = importlib.import_module("p4mob_switch.cli")
        except Exception as exc:  # the other helper's package may be mid-way
            return None, f"embedded target: p4mob_switch.cli not importable ({exc!r})"
        if not callable(getattr(cli, "main", None)):
            return None, "embedded target: p4mob_switch.cli has no main()"
    return path, ""


def lab_binary_or_skip(target: str) -> str:
    """The switch binary of ``target`` for a test that builds namespaces; pytest.skip with
    the reason when this machine cannot (not root, no ip, no such switch)."""
    import pytest

    from p4mobility.lab.lab import lab_unavailable

    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    binary, reason = find_binary(target)
    if binary is None:
        pytest.skip(reason)
    return binary


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SwitchProcess:
    target: str
    proc: subprocess.Popen
    grpc_addr: str
    log_path: Path

    @classmethod
    def start(cls, target: str, binary: str, ports: dict[int, str],
              timeout: float = 180.0, cpu_port: bool = True) -> "SwitchProcess":  # bmv2 starts slowly
        grpc_port = free_tcp_port()
        argv = [binary]
        for number, ifname in sorted(ports.items()):
            argv += ["-i", f"{number}@{ifname}"]
        argv += ["--device-id", "1", "--no-p4"]
        if target == "bmv2":  # its Thrift server: a port of its own, so parallel runs never collide on 9090
            argv += ["--thrift-port", str(free_tcp_port())]
        argv += os.environ.get("P4MOB_SWITCH_EXTRA_ARGS", "").split()
        argv += ["--", "--grpc-server-addr", f"127.0.0.1:{grpc_port}"]
        argv += ["--cpu-port", str(CPU_PORT)] if cpu_port else []  # without: port CPU_PORT is a veth
        log = tempfile.NamedTemporaryFile(prefix=f"p4mob-{target}-", suffix=".log",
                                          delete=False)
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        log.close()
        sw = cls(target, proc, f"127.0.0.1:{grpc_port}", Path(log.name))
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{target} exited with {proc.returncode}: {sw.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", grpc_port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sw.stop()
                    raise RuntimeError(f"{target} did not open gRPC: {sw.log_tail()}")
                time.sleep(0.1)
        return sw

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        try:
            self.log_path.unlink()
        except OSError:
            pass
