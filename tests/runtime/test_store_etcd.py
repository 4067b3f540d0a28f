"""What only the etcd store has: etcd unreachable (StoreError naming it, the last committed
state still known, recovery when it returns), several endpoints, paged reads, the Txn limit.
A real etcd started by the test (tests/etcd_server.py); skipped when etcd is absent."""
from __future__ import annotations

import signal

import pytest

from p4mobility.runtime import store_etcd
from p4mobility.runtime.store import StoreError
from p4mobility.runtime.store_etcd import EtcdBindingStore
from tests.dataplane.targets import free_tcp_port
from tests.etcd_server import MAX_TXN_OPS


def test_unreachable_is_a_store_error_and_the_committed_state_stays_known(etcd):
    s = EtcdBindingStore([etcd.endpoint], "/p4mob/lma", timeout=2.0)
    s.put("bce", "1", {"a": 1})
    assert s.load("bce") == {"1": {"a": 1}}
    etcd.stop(signal.SIGKILL)
    with pytest.raises(StoreError, match=f"etcd {etcd.endpoint}: UNAVAILABLE"):
        s.apply(puts=[("bce", "2", {"a": 2})])
    with pytest.raises(StoreError):
        s.load("bce")
    assert s.committed("bce") == {"1": {"a": 1}}  # the node's rollback needs no etcd
    etcd.start()  # same data dir: what was committed is back, and the store reconnects
    s.put("bce", "2", {"a": 2})
    assert s.load("bce") == {"1": {"a": 1}, "2": {"a": 2}}


def test_a_dead_endpoint_is_skipped(etcd):
    dead = f"127.0.0.1:{free_tcp_port()}"
    s = EtcdBindingStore([dead, etcd.endpoint], "/p4mob/lma")
    s.put("bce", "1", {"a": 1})
    assert EtcdBindingStore([etcd.endpoint], "/p4mob/lma").load("bce") == {"1": {"a": 1}}


def test_load_reads_past_one_page(etcd, monkeypatch):
    monkeypatch.setattr(store_etcd, "PAGE", 7)
    s = EtcdBindingStore([etcd.endpoint], "/p4mob/lma")
    s.apply(puts=[("bce", str(i), {"i": i}) for i in range(30)])
    assert s.load("bce") == {str(i): {"i": i} for i in range(30)}


def test_a_txn_past_the_servers_limit_is_refused_whole(etcd):
    s = EtcdBindingStore([etcd.endpoint], "/p4mob/lma")
    with pytest.raises(StoreError, match="too many operations"):
        s.apply(puts=[("bce", str(i), {"i": i}) for i in range(MAX_TXN_OPS + 1)])
    assert s.load("bce") == {}


def test_a_kind_with_a_slash_is_refused():
    s = EtcdBindingStore(["127.0.0.1:1"], "/p4mob/lma")
    with pytest.raises(ValueError, match="without '/'"):
        s.put("a/b", "1", {})
