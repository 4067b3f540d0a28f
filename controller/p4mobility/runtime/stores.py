"""The node's binding store from its settings: SQLite ([node] state_db), etcd ([store]
kind = "etcd", docs/cluster.md) or none."""
from __future__ import annotations

import os

from p4mobility.runtime.nodeconfig import NodeSettings
from p4mobility.runtime.store import BindingStore


def open_store(settings: NodeSettings):
    """BindingStore, EtcdBindingStore or None (no persistence). No call to etcd yet: the
    first one is the node's restore, whose StoreError refuses the start."""
    s = settings.store
    if s.kind == "etcd":
        from p4mobility.runtime.store_etcd import EtcdBindingStore

        return EtcdBindingStore(s.endpoints, s.prefix or f"/p4mob/{settings.name}", s.timeout,
                                s.tls_ca, s.tls_cert, s.tls_key)
    if not settings.state_db:
        return None
    os.makedirs(os.path.dirname(os.path.abspath(settings.state_db)), exist_ok=True)
    return BindingStore(settings.state_db)


__all__ = ["open_store"]
