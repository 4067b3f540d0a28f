"""Event lines of a node's log, without parsing all of it.

Rule: the soak's logs grow by megabytes a minute (a few lines per PBU); the lab's
read_events() parses every line each time it is called. Here a `LogFollower`
reads only what was appended since its last call, and only lines holding
`"event": "<name>"` are parsed.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


class LogFollower:
    def __init__(self, path: Path, from_end: bool = True) -> None:
        self.path = Path(path)
        try:
            self.offset = os.path.getsize(self.path) if from_end else 0
        except OSError:
            self.offset = 0
        self._partial = b""

    def new_events(self, *names: str) -> list[dict]:
        """Events named ``names`` appended since the last call (or since the follower was made)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next call
        needles = [f'"event": "{n}"'.encode() for n in names]
        out = []
        for line in lines:
            if any(n in line for n in needles):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


__all__ = ["LogFollower"]
