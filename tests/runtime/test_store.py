"""The binding store keeps state across a process restart and writes atomically."""
import multiprocessing
import os
import signal

import pytest

from p4mobility.runtime.store import BindingStore, StoreError


def test_state_survives_reopen(tmp_path):
    path = str(tmp_path / "state.db")
    s = BindingStore(path)
    s.apply(puts=[("bce", "mn1", {"hnp": "2001:db8:1::/64"}), ("bce", "mn2", {"hnp": "2001:db8:2::/64"})])
    s.delete("bce", "mn2")
    s.put("bce", "mn1", {"hnp": "2001:db8:9::/64"})
    s.close()
    assert BindingStore(path).load("bce") == {"mn1": {"hnp": "2001:db8:9::/64"}}


def _write_then_die(path):
    s = BindingStore(path)
    s.put("bce", "mn1", {"seq": 7})
    os.kill(os.getpid(), signal.SIGKILL)


def test_committed_write_survives_kill_9(tmp_path):
    path = str(tmp_path / "state.db")
    p = multiprocessing.get_context("fork").Process(target=_write_then_die, args=(path,))
    p.start()
    p.join()
    assert p.exitcode == -signal.SIGKILL
    assert BindingStore(path).load("bce") == {"mn1": {"seq": 7}}


def test_failed_batch_leaves_nothing(tmp_path):
    s = BindingStore(str(tmp_path / "state.db"))
    s.put("bce", "keep", {"a": 1})
    with pytest.raises(TypeError):
        s.apply(puts=[("bce", "new", {"a": 2}), ("bce", "bad", {"x": object()})])
    assert s.load("bce") == {"keep": {"a": 1}}


def _fill_until_full(s: BindingStore) -> int:
    """Writes until SQLite says the file is full (max_page_count stands for a full disk)."""
    s._db.execute(f"PRAGMA max_page_count = {s._db.execute('PRAGMA page_count').fetchone()[0] + 2}")
    for i in range(10_000):
        try:
            s.put("bce", f"mn{i}", {"pad": "x" * 2000})
        except StoreError:
            return i
    raise AssertionError("never full")


def test_disk_full_raises_store_error_and_keeps_working(tmp_path):
    # soak (issue 14): a full disk gave sqlite3.OperationalError through the node's worker;
    # now a StoreError, the failed batch leaves nothing, and writes work once space returns
    s = BindingStore(str(tmp_path / "state.db"))
    s.put("bce", "keep", {"a": 1})
    written = _fill_until_full(s)
    with pytest.raises(StoreError, match="full"):
        s.apply(puts=[("bce", "new", {"pad": "y" * 8000})], deletes=[("bce", "keep")])
    assert not s._db.in_transaction
    assert s.load("bce")["keep"] == {"a": 1} and "new" not in s.load("bce")
    s._db.execute("PRAGMA max_page_count = 1073741823")  # space is back
    s.put("bce", "new", {"b": 2})
    assert len(s.load("bce")) == written + 2
