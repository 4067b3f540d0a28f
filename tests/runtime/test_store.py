"""The binding store keeps state across a process restart and writes atomically: the same
contract for SQLite and for etcd (a real etcd started in a temp dir, tests/etcd_server.py)."""
import signal
import subprocess
import sys

import pytest

from p4mobility.runtime.store import BindingStore, StoreConflict, StoreError
from tests.etcd_server import EtcdServer


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    server = EtcdServer(tmp_path_factory.mktemp("etcd")).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "etcd"])
def opener(request, tmp_path):
    """A function opening one more store instance on the same state (file, or etcd prefix)."""
    if request.param == "sqlite":
        opener = lambda: BindingStore(str(tmp_path / "state.db"))  # noqa: E731
        opener.code = f"BindingStore({str(tmp_path / 'state.db')!r})"
        return opener
    from p4mobility.runtime.store_etcd import EtcdBindingStore

    server = request.getfixturevalue("etcd")
    prefix = f"/p4mob/{tmp_path.name}"  # one per test: tests do not see each other's keys
    opener = lambda: EtcdBindingStore([server.endpoint], prefix)  # noqa: E731
    opener.code = f"EtcdBindingStore([{server.endpoint!r}], {prefix!r})"  # the same, in another process
    return opener


def test_state_survives_reopen(opener):
    s = opener()
    s.apply(puts=[("bce", "mn1", {"hnp": "2001:db8:1::/64"}), ("bce", "mn2", {"hnp": "2001:db8:2::/64"})])
    s.delete("bce", "mn2")
    s.put("bce", "mn1", {"hnp": "2001:db8:9::/64"})
    s.close()
    assert opener().load("bce") == {"mn1": {"hnp": "2001:db8:9::/64"}}


WRITE_THEN_DIE = """
import os, signal
from p4mobility.runtime.store import BindingStore
from p4mobility.runtime.store_etcd import EtcdBindingStore
s = {}
s.put("bce", "mn1", {{"seq": 7}})
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_committed_write_survives_kill_9(opener):
    # a process of its own (not a fork of this one, whose gRPC state a child must not reuse)
    res = subprocess.run([sys.executable, "-c", WRITE_THEN_DIE.format(opener.code)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
    assert opener().load("bce") == {"mn1": {"seq": 7}}


def test_failed_batch_leaves_nothing(opener):
    s = opener()
    s.put("bce", "keep", {"a": 1})
    with pytest.raises(TypeError):
        s.apply(puts=[("bce", "new", {"a": 2}), ("bce", "bad", {"x": object()})])
    assert s.load("bce") == {"keep": {"a": 1}}


def test_kinds_are_apart_and_clear_takes_only_its_kinds(opener):
    s = opener()
    s.apply(puts=[("bce", "1", {"a": 1}), ("bce", "1/2", {"slash": True}), ("bcex", "1", {"b": 1}),
                  ("pool", "p", {"c": 1})])
    assert s.load("bce") == {"1": {"a": 1}, "1/2": {"slash": True}}  # not bcex's key
    s.clear("bce", "bcex")
    assert s.load("bce") == {} and s.load("bcex") == {} and opener().load("pool") == {"p": {"c": 1}}


def test_one_apply_is_one_revision(opener):
    s = opener()
    first = s.apply(puts=[("bce", "1", {"a": 1}), ("bce", "2", {"a": 2})])
    second = s.apply(puts=[("bce", "2", {"a": 3})], deletes=[("bce", "1")])
    assert second > first
    assert s.revisions("bce") == {"2": second}


def test_expected_revision_lets_one_of_two_instances_allocate(opener):
    # two instances allocate the same prefix, each having seen it free (revision 0): one wins
    a, b = opener(), opener()
    won = a.apply(puts=[("pool", "2001:db8:1::/64", {"owner": "a"})], expect={("pool", "2001:db8:1::/64"): 0})
    with pytest.raises(StoreConflict, match="2001:db8:1::/64: expected 0, is"):
        b.apply(puts=[("pool", "2001:db8:1::/64", {"owner": "b"}), ("bce", "9", {"b": 1})],
                expect={("pool", "2001:db8:1::/64"): 0})
    assert b.load("pool") == {"2001:db8:1::/64": {"owner": "a"}} and b.load("bce") == {}  # nothing of b's
    assert isinstance(StoreConflict("x"), StoreError)  # the node rolls back as for any failed write
    # with the revision it read, b's change goes through, and a's old revision no longer does
    b.apply(puts=[("pool", "2001:db8:1::/64", {"owner": "b"})], expect={("pool", "2001:db8:1::/64"): won})
    with pytest.raises(StoreConflict):
        a.apply(deletes=[("pool", "2001:db8:1::/64")], expect={("pool", "2001:db8:1::/64"): won})
    assert opener().load("pool") == {"2001:db8:1::/64": {"owner": "b"}}


def test_committed_is_what_was_read_or_written(opener):
    s = opener()
    s.put("bce", "1", {"a": 1})
    assert s.committed("bce") == {"1": {"a": 1}}
    s.delete("bce", "1")
    assert s.committed("bce") == {}


def _fill_until_full(s: BindingStore) -> int:
    """Writes until SQLite says the file is full (max_page_count stands for a full disk)."""
    s._db.execute(f"PRAGMA max_page_count = {s._db.execute('PRAGMA page_count').fetchone()[0] + 2}")
    for i in range(10_000):
        try:
            s.put("bce", f"mn{i}", {"pad": "x" * 2000})
        except StoreError:
            return i
    raise AssertionError("never full")


def test_sqlite_disk_full_raises_store_error_and_keeps_working(tmp_path):
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


def test_sqlite_file_of_before_revisions_gets_the_revision_column(tmp_path):
    import sqlite3
    path = str(tmp_path / "old.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE state (kind TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,"
               " PRIMARY KEY (kind, key))")
    db.execute("INSERT INTO state VALUES ('bce', '1', '{\"a\": 1}')")
    db.commit()
    db.close()
    s = BindingStore(path)
    assert s.load("bce") == {"1": {"a": 1}} and s.revisions("bce") == {"1": 0}
    rev = s.apply(puts=[("bce", "2", {"b": 2})], expect={("bce", "1"): 0, ("bce", "2"): 0})
    assert s.revisions("bce") == {"1": 0, "2": rev}
