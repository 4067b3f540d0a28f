"""The mobile node's Sequence Number across restarts.

Rule (RFC 6275 §9.5.1, §11.7.1): the home agent accepts only a BU whose
Sequence Number is greater (modulo 2^16) than the last one it accepted, so a
restarted mobile node continues after the last number it sent. The number is
written before the BU that uses it leaves (temp file, fsync, rename): a
crash may skip numbers, never reuse one. A missing file means a first start
(0); a file that cannot be read or parsed is refused, never guessed around.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

MAX_FILE = 4096


class StateFileError(ValueError):
    """The state file cannot be read, parsed or written."""


class SequenceFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._saved: int | None = None

    def load(self) -> int:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot read: {exc.strerror}") from None
        try:
            if len(raw) > MAX_FILE:
                raise ValueError
            seq = json.loads(raw)["sequence"]
        except (ValueError, KeyError, TypeError):
            raise StateFileError(f'{self.path}: expected {{"sequence": n}}') from None
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= 0xFFFF:
            raise StateFileError(f"{self.path}: sequence must be 0..65535")
        self._saved = seq
        return seq

    def save(self, seq: int) -> None:
        if seq == self._saved:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"sequence": seq}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot write: {exc.strerror}") from None
        self._saved = seq


__all__ = ["SequenceFile", "StateFileError"]
