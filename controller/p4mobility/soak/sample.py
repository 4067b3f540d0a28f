"""What the soak records over time: RSS per process, bindings in the LMA's store.

Rule: reads only (/proc, the SQLite file read-only); no process is touched.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path


def rss_kib(pid: int) -> int | None:
    """VmRSS of ``pid`` in KiB (None: gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def store_bindings(db: Path) -> int | None:
    """BCE documents in the LMA's state file (None: unreadable right now)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
        try:
            return con.execute("SELECT count(*) FROM state WHERE kind = 'bce'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None


def store_docs(db: Path) -> dict[str, dict]:
    import json

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {k: json.loads(d) for k, d in con.execute("SELECT key, doc FROM state WHERE kind = 'bce'")}
    finally:
        con.close()


__all__ = ["rss_kib", "store_bindings", "store_docs"]
