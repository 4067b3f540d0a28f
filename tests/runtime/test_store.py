"""The binding store keeps state across a process restart and writes atomically."""
import multiprocessing
import os
import signal

import pytest

from p4mobility.runtime.store import BindingStore


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
