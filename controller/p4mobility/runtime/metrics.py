"""Prometheus metrics of one node (prometheus_client, own registry).

Rule: counters are bumped by the adapter as it sees messages and actions;
switch counters are copied in by a periodic read; nothing here decides
anything. `serve(port)` exposes them on HTTP when the node config asks.
`observe_store` times the store's writes (apply seconds, conflicts) by store kind.
"""
from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from p4mobility.runtime.store import StoreConflict

# s: SQLite applies take ~0.1 ms, one etcd Txn (fsync) ~1 ms, a timeout 2 s
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class NodeMetrics:
    def __init__(self, role: str) -> None:
        self.registry = r = CollectorRegistry()
        self.role = role
        self.bindings = Gauge("p4mob_bindings", "Bindings (LMA BCEs / MAG BUL entries)", registry=r)
        self.tunnel_peers = Gauge("p4mob_tunnel_peers", "Tunnel peers in use", registry=r)
        self.store_errors = Counter("p4mob_store_errors", "Batches refused: the state file could not be written",
                                    registry=r)
        self.ownership_changes = Counter("p4mob_ownership_changes", "Times this node became its switch's owner "
                                         "([store] election)", registry=r)
        self.store_apply_seconds = Histogram("p4mob_store_apply_seconds", "Seconds one store write (a batch: "
                                             "one SQLite transaction or one etcd Txn) took, refused ones included",
                                             ["store"], buckets=STORE_BUCKETS, registry=r)
        self.store_conflicts = Counter("p4mob_store_conflicts", "Store writes refused on a revision compare "
                                       "(StoreConflict: another instance wrote first, or the ownership is gone)",
                                       ["store"], registry=r)
        self.pbu_rx = Counter("p4mob_pbu_received", "PBUs received", registry=r)
        self.pbu_tx = Counter("p4mob_pbu_sent", "PBUs sent", registry=r)
        self.pba_rx = Counter("p4mob_pba_received", "PBAs received by status", ["status"], registry=r)
        self.pba_tx = Counter("p4mob_pba_sent", "PBAs sent by status", ["status"], registry=r)
        self.mh_discarded = Counter("p4mob_mh_discarded", "Punted MH frames discarded (RFC 6275 §9.2)",
                                    registry=r)
        self.mh_unprotected = Counter("p4mob_mh_unprotected_dropped",
                                      "Clear MH frames dropped: the SPD requires ESP (RFC 4301 §5.2)", registry=r)
        self.core_events = Counter("p4mob_core_events", "What the core dropped or answered outside a "
                                   "PBA/BA, by the core's counter name (RFC 6275 §9.2, floods)", ["counter"],
                                   registry=r)
        self.entries = Gauge("p4mob_table_entries", "Desired table entries", registry=r)
        self.writes = Counter("p4mob_p4rt_writes", "P4Runtime WriteRequests sent", registry=r)
        self.updates = Counter("p4mob_p4rt_updates", "P4Runtime updates written", registry=r)
        self.connected = Gauge("p4mob_switch_connected", "1 while the P4Runtime stream is up", registry=r)
        self.reconciles = Counter("p4mob_reconciles", "Reconciliations after (re)connect", registry=r)
        self.switch_drops = Gauge("p4mob_switch_drops", "Switch drop_counter by reason index",
                                  ["reason"], registry=r)

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)


def observe_store(store: Any, metrics: NodeMetrics) -> Any:
    """``store`` (None, SQLite or etcd) with its ``apply`` timed into ``metrics`` and its
    conflicts counted, labelled with the store's kind."""
    if store is None:
        return None
    kind, apply = getattr(store, "kind", type(store).__name__), store.apply
    seconds, conflicts = metrics.store_apply_seconds.labels(kind), metrics.store_conflicts.labels(kind)

    def timed_apply(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return apply(*args, **kwargs)
        except StoreConflict:
            conflicts.inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - t)

    store.apply = timed_apply
    return store


__all__ = ["NodeMetrics", "observe_store"]
