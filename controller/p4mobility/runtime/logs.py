"""Structured logs: one JSON object per line per event, with the MN identifier.

Rule: `EventLog.event(name, **fields)` writes {"ts", "node", "event", ...}
to the stream (stdout by default) and flushes, so a supervisor reading the
file sees each event as it happens. bytes fields (MN-ID) are shown as text
when printable, else hex.
"""
from __future__ import annotations

import json
import sys
import time
from functools import lru_cache
from ipaddress import IPv6Address, IPv6Network
from typing import Any, TextIO


@lru_cache(maxsize=4096)
def _text(v: IPv6Address | IPv6Network) -> str:
    return str(v)  # ipaddress formatting is slow and the same few addresses repeat


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        try:
            s = v.decode("ascii")
            return s if s.isprintable() else v.hex()
        except UnicodeDecodeError:
            return v.hex()
    if isinstance(v, (IPv6Address, IPv6Network)):
        return _text(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


class EventLog:
    def __init__(self, node: str, stream: TextIO | None = None, clock=time.time) -> None:
        self.node = node
        self.stream = stream or sys.stdout
        self.clock = clock

    def event(self, name: str, **fields: Any) -> None:
        rec = {"ts": round(self.clock(), 6), "node": self.node, "event": name}
        rec.update({k: _plain(v) for k, v in fields.items()})
        try:
            self.stream.write(json.dumps(rec, default=str) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


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


__all__ = ["EventLog", "read_events"]
