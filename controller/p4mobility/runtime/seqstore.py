"""Outbound ESP sequence numbers that survive a restart (manual keying).

Rule (RFC 4303 §3.3.3, §5; spec digest "manually keyed SAs SHOULD NOT use
anti-replay unless the sender counter survives reboots"): the file holds, per
outbound SA (SPI, destination), a sequence number the process has reserved
but not necessarily used. At start every SA continues after its reservation;
before a packet would use a number beyond it, the next reservation (+RESERVE)
is written (temp file, fsync, rename) and only then is the packet sealed. A
crash wastes at most RESERVE numbers per SA and never reuses one, so a peer's
anti-replay window keeps accepting what we send. Bad files are refused, never
guessed around.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

RESERVE = 1024
MAX_FILE = 1 << 20


class SeqStoreError(ValueError):
    """The state file cannot be read, parsed or written."""


def _key(sa: Any) -> str:
    return f"0x{sa.spi:08x}@{sa.dst}"


class SequenceStore:
    def __init__(self, path: str | os.PathLike[str], reserve: int = RESERVE) -> None:
        self.path = Path(path)
        self.reserve = reserve
        self.limits: dict[str, int] = {}  # SA key -> highest reserved sequence number
        self.by_index: dict[int, int] = {}  # sa.index -> the same limit, for the hot path

    def load(self) -> dict[str, int]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SeqStoreError(f"{self.path}: cannot read: {exc.strerror}") from None
        if len(raw) > MAX_FILE:
            raise SeqStoreError(f"{self.path}: larger than {MAX_FILE} bytes")
        try:
            data = json.loads(raw)
        except ValueError:
            raise SeqStoreError(f"{self.path}: not JSON") from None
        seqs = data.get("reserved") if isinstance(data, dict) else None
        if not isinstance(seqs, dict) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64
                for k, v in seqs.items()):
            raise SeqStoreError(f"{self.path}: expected {{\"reserved\": {{\"0xSPI@dst\": n}}}}")
        return seqs

    def attach(self, sas: Iterable[Any]) -> dict[int, int]:
        """Continue every outbound SA after its stored reservation; reserve the next block.
        Returns sa.index -> the sequence number it continues after."""
        stored = self.load()
        resumed = {}
        for sa in sas:
            if str(sa.dir) != "out":
                continue
            key = _key(sa)
            sa.oseq = max(sa.oseq, stored.get(key, 0))
            resumed[sa.index] = sa.oseq
            self.limits[key] = sa.oseq + self.reserve
            self.by_index[sa.index] = self.limits[key]
        self._write()
        return resumed

    def before_seal(self, sa: Any) -> None:
        """Call before sealing with ``sa``: writes the next reservation when this one is used up."""
        limit = self.by_index.get(sa.index)
        if limit is None or sa.oseq < limit:
            return
        key = _key(sa)
        self.limits[key] = self.by_index[sa.index] = sa.oseq + self.reserve
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"reserved": self.limits}, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise SeqStoreError(f"{self.path}: cannot write: {exc.strerror}") from None


__all__ = ["SequenceStore", "SeqStoreError", "RESERVE"]
