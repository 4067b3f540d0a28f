"""Minimal pcap writer for per-port packet dumps (like simple_switch --pcap).

Rule: one classic libpcap file per port and direction, Ethernet link type,
flushed after each record so a crash loses nothing written.
"""

from __future__ import annotations

import os
import struct
import time
from typing import BinaryIO

_GLOBAL = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


class PcapWriter:
    def __init__(self, path: str) -> None:
        self.f: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.f.write(_GLOBAL)
        self.f.flush()

    def write(self, frame: bytes, ts: float | None = None) -> None:
        ts = time.time() if ts is None else ts
        sec = int(ts)
        self.f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(frame), len(frame)))
        self.f.write(frame)
        self.f.flush()

    def close(self) -> None:
        self.f.close()


class PcapDumper:
    """Writes <dir>/<ifname>_in.pcap and <dir>/<ifname>_out.pcap."""

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.dir = directory
        self.writers: dict[tuple[str, str], PcapWriter] = {}

    def dump(self, ifname: str, direction: str, frame: bytes) -> None:
        w = self.writers.get((ifname, direction))
        if w is None:
            w = self.writers[(ifname, direction)] = PcapWriter(
                os.path.join(self.dir, f"{ifname}_{direction}.pcap"))
        w.write(frame)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
