"""Helpers for the disk-full tests: a node's SQLite store filled to its last page."""
from __future__ import annotations

from p4mobility.runtime.store import BindingStore, StoreError

UNLIMITED = 1073741823


def fill_store(store: BindingStore) -> None:
    """max_page_count stands for a full disk: pages filled to the last one."""
    db = store._db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0] + 4}")
    for i in range(1000):
        try:
            store.put("pad", str(i), {"pad": "x" * 500})
        except StoreError:
            return
    raise AssertionError("never full")


def free_store(store: BindingStore) -> None:
    store._db.execute(f"PRAGMA max_page_count = {UNLIMITED}")
