"""Everything the lab starts, and its guaranteed cleanup.

Rule: every namespace and process is registered here the moment it exists;
`close()` (called from `finally`, and on SIGINT/SIGTERM through
KeyboardInterrupt) stops processes by their own process group, then deletes
the namespaces, which removes their veths and bridges. Namespace names carry
a per-run prefix `p4mlab<pid>-`; `clean_leftovers()` removes namespaces of
earlier runs whose owning process is gone.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

PREFIX = "p4mlab"
_NS_RE = re.compile(rf"^{PREFIX}(\d+)-")


class LabError(Exception):
    """The lab could not be set up or a step failed (message says which)."""


def sh(*args: str, check: bool = True, ns: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    argv = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {res.stderr.strip() or res.stdout.strip()}")
    return res


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None


class Supervisor:
    def __init__(self, tag: str | None = None) -> None:
        self.prefix = f"{PREFIX}{os.getpid()}-{tag}-" if tag else f"{PREFIX}{os.getpid()}-"
        self.namespaces: list[str] = []
        self.procs: dict[str, Proc] = {}
        self._old_handlers: dict[int, object] = {}

    def __enter__(self) -> "Supervisor":
        for sig in (signal.SIGTERM, signal.SIGINT):  # SIGINT too: it may arrive ignored (background job)
            self._old_handlers[sig] = signal.signal(sig, _raise_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)  # type: ignore[arg-type]

    def ns(self, short: str) -> str:
        return self.prefix + short

    def add_namespace(self, short: str) -> str:
        name = self.ns(short)
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "link", "set", "lo", "up", ns=name)
        return name

    def spawn(self, name: str, argv: Sequence[str], log: Path, ns: str | None = None,
              env: dict[str, str] | None = None) -> Proc:
        if name in self.procs and self.procs[name].alive():
            raise LabError(f"{name} already running")
        full = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
        f = open(log, "ab")
        try:
            p = subprocess.Popen(full, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, env=env)
        finally:
            f.close()
        proc = Proc(name, p, log)
        self.procs[name] = proc
        return proc

    def send_signal(self, name: str, sig: int) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.alive():
            try:
                os.killpg(proc.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, name: str, timeout: float = 5.0, sig: int = signal.SIGTERM) -> int | None:
        proc = self.procs.get(name)
        if proc is None:
            return None
        self.send_signal(name, sig)
        try:
            return proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.send_signal(name, signal.SIGKILL)
            return proc.popen.wait(timeout)

    def close(self) -> None:
        for name in reversed(list(self.procs)):
            try:
                self.stop(name, timeout=3)
            except Exception:  # noqa: BLE001 - cleanup goes on
                pass
        for ns in reversed(self.namespaces):
            _kill_ns_pids(ns)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.namespaces.clear()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _kill_ns_pids(ns: str) -> None:
    res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    for pid in res.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def clean_leftovers() -> list[str]:
    """Delete lab namespaces whose creating process no longer exists."""
    res = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    removed = []
    for line in res.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = _NS_RE.match(name)
        if not m:
            continue
        if Path(f"/proc/{int(m.group(1))}").exists():
            continue
        _kill_ns_pids(name)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        removed.append(name)
    if removed:
        time.sleep(0.1)
    return removed


__all__ = ["Supervisor", "Proc", "LabError", "sh", "clean_leftovers", "PREFIX"]
