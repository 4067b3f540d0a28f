"""[store] of a node file: where the node keeps its binding state (docs/cluster.md).

    [store]
    kind = "etcd"                      # "sqlite" (default: [node] state_db) or "etcd"
    endpoints = ["127.0.0.1:2379"]     # host:port of etcd members, tried in order
    prefix = "/p4mob/lma1"             # optional; default /p4mob/<node name>
    timeout = 2.0                      # optional; seconds one etcd call may take
    tls_ca = "ca.pem"                  # optional TLS; tls_cert and tls_key go together
    election = "lma-sw1"               # optional: one owner for this switch among the instances
    lease_ttl = 5                      # optional; seconds the owner's lease outlives its last keepalive

Rule: validated with the rest of the file (binding/confread readers), every problem a
ConfigError naming the key ("store.endpoints[1]").
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p4mobility.binding import confread as cr
from p4mobility.pmip.config import ConfigError

KINDS = ("sqlite", "etcd")
ETCD_KEYS = ("endpoints", "prefix", "timeout", "tls_ca", "tls_cert", "tls_key", "election", "lease_ttl")


@dataclass(frozen=True)
class StoreSettings:
    kind: str = "sqlite"
    endpoints: tuple[str, ...] = ()
    prefix: str | None = None  # None: /p4mob/<node name>
    timeout: float = 2.0
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    election: str | None = None  # the switch's name in etcd (runtime/election.py); None: no election
    lease_ttl: int = 5


def read_pem(key: str, path: Path) -> None:
    """Refuse a TLS file that is missing or not PEM now, not at connect time."""
    try:
        pem = path.read_bytes()[:1 << 20]
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN " not in pem:
        raise ConfigError(key, f"not a PEM file: {path}")


def store_from_dict(value: Any, state_db: str | None) -> StoreSettings:
    """[store] (absent: SQLite at [node] state_db, or no persistence without it)."""
    if value is None:
        return StoreSettings()
    t = cr.table("store", value)
    for k in t:
        if k != "kind" and k not in ETCD_KEYS:
            raise ConfigError(f"store.{k}", "unknown key")
    kind = t.get("kind", "sqlite")
    if kind not in KINDS:
        raise ConfigError("store.kind", f"expected \"sqlite\" or \"etcd\", got {cr.kind_of(kind)} {kind!r:.40}")
    if kind == "sqlite":
        for k in ETCD_KEYS:
            if k in t:
                raise ConfigError(f"store.{k}", "only with kind = \"etcd\" (SQLite's file is [node] state_db)")
        return StoreSettings()
    if state_db is not None:
        raise ConfigError("node.state_db", "the SQLite file; leave it out with [store] kind = \"etcd\"")
    if "endpoints" not in t:
        raise ConfigError("store.endpoints", "required with kind = \"etcd\": an array of host:port")
    endpoints = cr.array("store.endpoints", t["endpoints"], cr.host_port, "host:port strings")
    if not endpoints:
        raise ConfigError("store.endpoints", "expected at least one host:port")
    prefix = t.get("prefix")
    if prefix is not None:
        cr.string("store.prefix", prefix)
        if not prefix.startswith("/") or prefix.rstrip("/") == "" or "//" in prefix:
            raise ConfigError("store.prefix", f"expected a key prefix like \"/p4mob/lma1\", got {prefix!r:.40}")
    timeout = cr.number("store.timeout", t["timeout"], 0.05, 60.0) if "timeout" in t else 2.0
    tls: dict[str, Path] = {}
    for k in ("tls_ca", "tls_cert", "tls_key"):
        if k in t:
            tls[k] = Path(cr.string(f"store.{k}", t[k]))
            read_pem(f"store.{k}", tls[k])
    if ("tls_cert" in tls) != ("tls_key" in tls):
        raise ConfigError("store.tls_cert", "tls_cert and tls_key go together")
    if tls and "tls_ca" not in tls:
        raise ConfigError("store.tls_ca", "required with tls_cert/tls_key: the CA that signed etcd's certificate")
    election = t.get("election")
    if election is not None:
        cr.string("store.election", election)
        if not all(c.isalnum() or c in "._-" for c in election):
            raise ConfigError("store.election", f"expected a name of letters, digits, '.', '_', '-', got {election!r:.40}")
    ttl = cr.integer("store.lease_ttl", t["lease_ttl"], 2, 60) if "lease_ttl" in t else 5
    return StoreSettings("etcd", tuple(endpoints), prefix, timeout, **tls, election=election, lease_ttl=ttl)


__all__ = ["StoreSettings", "store_from_dict", "read_pem"]
