"""Durable binding state: SQLite in WAL mode, one JSON document per key.

The cores export their state as plain dicts; the runtime writes every change
here before it acknowledges it, so a restarted controller reconciles the switch
against what it had promised (issue: state survives kill -9).
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping


class StoreError(Exception):
    """A write did not reach the file (disk full, I/O error); nothing of it is kept."""


class BindingStore:
    """A small key -> JSON document table. Each ``apply`` is one transaction."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS state (kind TEXT NOT NULL, key TEXT NOT NULL,"
            " doc TEXT NOT NULL, PRIMARY KEY (kind, key))"
        )

    def apply(self, puts: Iterable[tuple[str, str, Mapping]] = (), deletes: Iterable[tuple[str, str]] = ()) -> None:
        """Write ``(kind, key, doc)`` rows and delete ``(kind, key)`` rows atomically.
        StoreError when SQLite could not write (disk full, I/O): the transaction is rolled
        back, also when COMMIT itself failed, so the next apply starts clean."""
        rows = [(kind, key, json.dumps(doc, sort_keys=True)) for kind, key, doc in puts]
        db = self._db
        try:
            db.execute("BEGIN")
            try:
                db.executemany(
                    "INSERT INTO state (kind, key, doc) VALUES (?, ?, ?)"
                    " ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc", rows)
                db.executemany("DELETE FROM state WHERE kind = ? AND key = ?", list(deletes))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from None

    def put(self, kind: str, key: str, doc: Mapping) -> None:
        self.apply(puts=[(kind, key, doc)])

    def delete(self, kind: str, key: str) -> None:
        self.apply(deletes=[(kind, key)])

    def clear(self, *kinds: str) -> None:
        """Delete every document of ``kinds`` (one transaction)."""
        self._db.execute("BEGIN")
        self._db.executemany("DELETE FROM state WHERE kind = ?", [(k,) for k in kinds])
        self._db.execute("COMMIT")

    def load(self, kind: str) -> dict[str, dict]:
        rows = self._db.execute("SELECT key, doc FROM state WHERE kind = ?", (kind,))
        return {key: json.loads(doc) for key, doc in rows}

    def close(self) -> None:
        self._db.close()


__all__ = ["BindingStore", "StoreError"]
