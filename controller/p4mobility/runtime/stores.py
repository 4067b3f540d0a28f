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


def open_election(settings: NodeSettings):
    """The switch's election ([store] election), or None: this node owns its switch alone."""
    s = settings.store
    if s.kind != "etcd" or not s.election:
        return None
    import socket

    from p4mobility.runtime.election import Election
    from p4mobility.runtime.store_etcd import channel_credentials

    instance = f"{settings.name}@{socket.gethostname()}:{os.getpid()}"
    return Election(s.endpoints, s.election, instance, s.lease_ttl,
                    channel_credentials(s.tls_ca, s.tls_cert, s.tls_key), s.timeout)


def set_aside(store, *kinds: str) -> str:
    """Move every document of ``kinds`` to kind ``<kind>.refused`` in one write: a node
    that refuses its stored state starts empty, and the refused documents stay for a look
    (sqlite3 or etcdctl). The kinds they went to, for the log line."""
    puts, deletes = [], []
    for kind in kinds:
        for key, doc in store.load(kind).items():
            puts.append((f"{kind}{REFUSED}", key, doc))
            deletes.append((kind, key))
    store.apply(puts, deletes)
    return ", ".join(f"{kind}{REFUSED}" for kind in kinds)


REFUSED = ".refused"

__all__ = ["REFUSED", "open_election", "open_store", "set_aside"]
