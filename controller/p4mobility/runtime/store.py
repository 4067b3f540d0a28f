"""Durable binding state: SQLite in WAL mode, one JSON document per key (etcd: store_etcd.py).

The cores export their state as plain dicts; the runtime writes every change
here before it acknowledges it, so a restarted controller reconciles the switch
against what it had promised (issue: state survives kill -9).
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping


class StoreError(Exception):
    """A write did not reach the store (disk full, I/O error, etcd unreachable); nothing of it is kept."""


class StoreConflict(StoreError):
    """An ``apply(expect=...)`` found a key at another revision: another writer was first."""


class BindingStore:
    """A small key -> JSON document table. Each ``apply`` is one transaction; each row
    carries the revision of the transaction that wrote it (as etcd's mod_revision). One
    writer per file is the design (the node); with several, a deleted row's revision may
    be given again."""

    kind = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS state (kind TEXT NOT NULL, key TEXT NOT NULL,"
            " doc TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, key))"
        )
        if "rev" not in [row[1] for row in self._db.execute("PRAGMA table_info(state)")]:  # a file of before
            self._db.execute("ALTER TABLE state ADD COLUMN rev INTEGER NOT NULL DEFAULT 0")
        # the revision counter lives in memory (a row of its own would add a page to every
        # commit's WAL); read again from the rows when another connection wrote meanwhile
        self._revision = self._max_revision()
        self._seen = self._data_version()

    def apply(self, puts: Iterable[tuple[str, str, Mapping]] = (), deletes: Iterable[tuple[str, str]] = (),
              expect: Mapping[tuple[str, str], int] | None = None) -> int:
        """Write ``(kind, key, doc)`` rows and delete ``(kind, key)`` rows atomically; the
        revision it made. ``expect`` {(kind, key): revision} must all hold (0: row absent),
        else StoreConflict and nothing is written. StoreError when SQLite could not write
        (disk full, I/O): the transaction is rolled back, also when COMMIT itself failed,
        so the next apply starts clean."""
        rows = [(kind, key, json.dumps(doc, sort_keys=True)) for kind, key, doc in puts]
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                changed = [f"{kind}/{key}: expected {rev}, is {now}" for (kind, key), rev in (expect or {}).items()
                           if (now := self._rev(kind, key)) != rev]
                if changed:
                    raise StoreConflict("revision changed: " + "; ".join(changed)[:250])
                if self._data_version() != self._seen:  # another connection committed
                    self._revision = max(self._revision, self._max_revision())
                revision = self._revision + 1
                db.executemany(
                    "INSERT INTO state (kind, key, doc, rev) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc, rev = excluded.rev",
                    [(*r, revision) for r in rows])
                db.executemany("DELETE FROM state WHERE kind = ? AND key = ?", list(deletes))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from None
        self._revision, self._seen = revision, self._data_version()
        return revision

    def _max_revision(self) -> int:
        return self._db.execute("SELECT COALESCE(MAX(rev), 0) FROM state").fetchone()[0]

    def _data_version(self) -> int:
        return self._db.execute("PRAGMA data_version").fetchone()[0]

    def _rev(self, kind: str, key: str) -> int:
        row = self._db.execute("SELECT rev FROM state WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return row[0] if row else 0

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

    def revisions(self, kind: str) -> dict[str, int]:
        """{key: revision} of ``kind``: what ``apply(expect=...)`` compares."""
        return dict(self._db.execute("SELECT key, rev FROM state WHERE kind = ?", (kind,)))

    def committed(self, kind: str) -> dict[str, dict]:
        """What the store holds (the node's rollback after a failed write)."""
        return self.load(kind)

    def describe(self) -> str:
        return f"sqlite {self.path}"

    def close(self) -> None:
        self._db.close()


__all__ = ["BindingStore", "StoreConflict", "StoreError"]
