"""A small state disk for a node (issue 14, disk full): a tmpfs a test or the soak fills.

Rule: orchestration only. ``mount`` puts a tmpfs of ``mb`` MiB on a directory,
``fill`` writes a filler file until the next write gets ENOSPC, ``free``
deletes it (space returns), ``unmount`` takes the tmpfs away (lazily: a node
may still hold its SQLite file open).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from p4mobility.lab.supervisor import sh

FILLER = "filler"


def mount(directory: Path, mb: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", f"size={mb}m,mode=0700", "tmpfs", str(directory))


def fill(directory: Path) -> Path:
    """Fill the tmpfs to the last byte (ENOSPC for the next write)."""
    filler = directory / FILLER
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # big blocks, then the last partial ones
            chunk = b"\0" * size
            try:
                while os.write(fd, chunk):
                    pass
            except OSError:  # ENOSPC: this size no longer fits
                continue
    finally:
        os.close(fd)
    return filler


def free(directory: Path) -> None:
    (directory / FILLER).unlink(missing_ok=True)


def unmount(directory: Path) -> None:
    subprocess.run(["umount", "-l", str(directory)], capture_output=True)


__all__ = ["FILLER", "fill", "free", "mount", "unmount"]
