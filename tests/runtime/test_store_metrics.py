"""Store latency and conflicts in the node's Prometheus registry (runtime/metrics.py
``observe_store``): a real apply and a real StoreConflict on SQLite and on etcd (a real etcd
in a temp dir, tests/etcd_server.py; skipped with the reason when absent)."""
import pytest

from p4mobility.runtime.metrics import NodeMetrics, observe_store
from p4mobility.runtime.store import BindingStore, StoreConflict


def _open(kind: str, tmp_path, request):
    if kind == "sqlite":
        return BindingStore(str(tmp_path / "state.db"))
    from p4mobility.runtime.store_etcd import EtcdBindingStore
    from tests.etcd_server import EtcdServer

    server = EtcdServer(tmp_path).start()  # skips when etcd is absent
    request.addfinalizer(server.stop)
    return EtcdBindingStore([server.endpoint], "/p4mob/metrics")


@pytest.mark.parametrize("kind", ["sqlite", "etcd"])
def test_apply_seconds_and_conflicts_by_store_kind(kind, tmp_path, request):
    metrics = NodeMetrics("lma")
    store = observe_store(_open(kind, tmp_path, request), metrics)
    sample = metrics.registry.get_sample_value
    labels = {"store": kind}
    rev = store.apply(puts=[("pool", "p1", {"owner": "a"})], expect={("pool", "p1"): 0})
    store.apply(puts=[("bce", "1", {"b": 1}), ("bce", "2", {"b": 2})])
    assert sample("p4mob_store_apply_seconds_count", labels) == 2
    assert sample("p4mob_store_apply_seconds_sum", labels) > 0
    assert sample("p4mob_store_conflicts_total", labels) == 0
    with pytest.raises(StoreConflict):  # another instance took the prefix first
        store.apply(puts=[("pool", "p1", {"owner": "b"})], expect={("pool", "p1"): 0})
    assert sample("p4mob_store_conflicts_total", labels) == 1
    assert sample("p4mob_store_apply_seconds_count", labels) == 3  # the refused write took time too
    store.apply(deletes=[("pool", "p1")], expect={("pool", "p1"): rev})
    assert sample("p4mob_store_conflicts_total", labels) == 1
    assert store.load("pool") == {}
    store.close()


def test_no_store_no_samples():
    metrics = NodeMetrics("mag")
    assert observe_store(None, metrics) is None
    assert metrics.registry.get_sample_value("p4mob_store_apply_seconds_count", {"store": "sqlite"}) is None
