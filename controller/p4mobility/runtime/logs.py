"""Structured logs: one JSON object per line per event, with the MN identifier.

Rule: `EventLog.event(name, **fields)` writes {"ts", "node", "event", ...}
to the stream (stdout by default) and flushes, so a supervisor reading the
file sees each event as it happens (``debug(...)`` lines only at level "debug": the
per-registration success lines, off by default); inside `with log.held():` (a worker batch,
no await in it) the batch's lines are flushed once at its end instead of one
write per line. bytes fields (MN-ID) are shown as text when printable, else hex.
"""
from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from ipaddress import IPv6Address, IPv6Network
from typing import Any, TextIO

from p4mobility.addrtext import addr_text


_SCALARS = (str, int, float, bool, type(None))


def _plain(v: Any) -> Any:
    if type(v) in _SCALARS:
        return v
    if isinstance(v, bytes):
        try:
            s = v.decode("ascii")
            return s if s.isprintable() else v.hex()
        except UnicodeDecodeError:
            return v.hex()
    if isinstance(v, (IPv6Address, IPv6Network)):
        return addr_text(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


LEVELS = ("info", "debug")


class EventLog:
    def __init__(self, node: str, stream: TextIO | None = None, clock=time.time, level: str = "info") -> None:
        if level not in LEVELS:
            raise ValueError(f"log level {level!r}: expected one of {', '.join(LEVELS)}")
        self.node = node
        self.debug_on = level == "debug"
        self.stream = stream or sys.stdout
        self.clock = clock
        self._held = 0
        self._muted = 0

    def event(self, name: str, **fields: Any) -> None:
        if self._muted:
            return
        rec = {"ts": round(self.clock(), 6), "node": self.node, "event": name}
        rec.update({k: _plain(v) for k, v in fields.items()})
        try:
            self.stream.write(json.dumps(rec, default=str) + "\n")
            if not self._held:
                self.stream.flush()
        except (OSError, ValueError):
            pass

    def debug(self, name: str, **fields: Any) -> None:
        """A line written only at level "debug" (one per accepted registration, say)."""
        if self.debug_on:
            self.event(name, **fields)

    @contextlib.contextmanager
    def muted(self) -> Iterator[None]:
        """No line is written inside (an input handled again after a refused batch)."""
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Lines written inside reach the stream with one flush at the end."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held:
                with contextlib.suppress(OSError, ValueError):
                    self.stream.flush()


def read_events(path: str) -> list[dict]:
    """Parse a log file written by EventLog (skips lines that are not JSON)."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        continue
    except FileNotFoundError:
        pass
    return out


__all__ = ["EventLog", "LEVELS", "read_events"]
