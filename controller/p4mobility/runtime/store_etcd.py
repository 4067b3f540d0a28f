"""Binding state in etcd (issue 16): BindingStore's interface on etcd's v3 API.

One key per document, ``<prefix>/<kind>/<key>`` (prefix ``/p4mob/<node name>`` by
default), its value the JSON document. Each ``apply`` is ONE etcd Txn: its puts and
deletes all happen at one revision or none does. ``expect`` compares keys' mod_revision
in that Txn (0: the key must not exist), so two instances writing the same key (a prefix
allocation) can never both succeed: the loser gets StoreConflict.

The interface is synchronous like SQLite's (the node persists before it acknowledges):
a call waits at most ``timeout`` seconds. etcd unreachable, no quorum or a refused Txn
is a StoreError; the node then refuses the batch and keeps the switch's entries
(runtime/node.py). ``committed(kind)`` is what this instance last read or wrote, for
the node's rollback while etcd cannot be read.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import grpc
from aetcd import rpc

from p4mobility.runtime.store import StoreConflict, StoreError

PAGE = 1000  # keys per Range call of load()
# reconnect quickly once etcd is back (gRPC's default backoff grows to 120 s)
CHANNEL_OPTIONS = (("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 1000), ("grpc.max_receive_message_length", 64 << 20))


def _range_end(prefix: bytes) -> bytes:
    """The end of etcd's range of keys starting with ``prefix`` (the prefix plus one)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


def channel_credentials(ca: Path | None, cert: Path | None, key: Path | None) -> grpc.ChannelCredentials | None:
    """TLS to etcd ([store] tls_*), None for plain gRPC."""
    if not (ca or cert):
        return None
    read = lambda p: Path(p).read_bytes() if p else None  # noqa: E731
    return grpc.ssl_channel_credentials(read(ca), read(key), read(cert))


class EtcdBindingStore:
    """Key -> JSON document in etcd; the same calls as BindingStore, plus revisions."""

    kind = "etcd"

    def __init__(self, endpoints: Iterable[str], prefix: str, timeout: float = 2.0,
                 tls_ca: Path | None = None, tls_cert: Path | None = None, tls_key: Path | None = None) -> None:
        self.endpoints = list(endpoints)
        if not self.endpoints:
            raise ValueError("no etcd endpoint")
        self.prefix = prefix.rstrip("/") + "/"
        self.timeout = timeout
        self._creds = channel_credentials(tls_ca, tls_cert, tls_key)
        self._channels: dict[int, grpc.Channel] = {}
        self._current = 0  # the endpoint that answered last
        self._mirror: dict[str, dict[str, tuple[dict, int]]] = {}  # kind -> key -> (doc, mod_revision)
        # (election key, ownership revision): every write also compares the key's create_revision,
        # so etcd refuses the writes of an owner whose lease is gone (runtime/election.py)
        self.guard: tuple[bytes, int] | None = None

    # --- keys --------------------------------------------------------------------
    def _key(self, kind: str, key: str) -> bytes:
        if not kind or "/" in kind:
            raise ValueError(f"store kind {kind!r}: expected a name without '/'")
        return f"{self.prefix}{kind}/{key}".encode()

    def _kind_prefix(self, kind: str) -> bytes:
        return self._key(kind, "")

    # --- calls -------------------------------------------------------------------
    def _kv(self, index: int) -> rpc.KVStub:
        channel = self._channels.get(index)
        if channel is None:
            target = self.endpoints[index]
            channel = (grpc.secure_channel(target, self._creds, CHANNEL_OPTIONS) if self._creds
                       else grpc.insecure_channel(target, CHANNEL_OPTIONS))
            self._channels[index] = channel
        return rpc.KVStub(channel)

    def _call(self, method: str, request):
        """``method`` on the endpoint that answered last, then on the others while the
        one tried is unreachable (nothing was sent); StoreError when none answers."""
        n = len(self.endpoints)
        failure = ""
        for i in range(n):
            index = (self._current + i) % n
            try:
                response = getattr(self._kv(index), method)(request, timeout=self.timeout)
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else None
                detail = exc.details() if hasattr(exc, "details") else str(exc)
                if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    failure = f"etcd {self.endpoints[index]}: no answer in {self.timeout:g} s"
                    break  # (it may have been applied: not sent again elsewhere)
                failure = f"etcd {self.endpoints[index]}: {code.name if code else 'error'}: {detail}"
                if code != grpc.StatusCode.UNAVAILABLE:
                    break
                continue
            self._current = index
            return response
        raise StoreError(failure[:300])

    # --- the BindingStore interface ----------------------------------------------------
    def apply(self, puts: Iterable[tuple[str, str, Mapping]] = (), deletes: Iterable[tuple[str, str]] = (),
              expect: Mapping[tuple[str, str], int] | None = None) -> int:
        """Write ``(kind, key, doc)`` and delete ``(kind, key)`` in one etcd Txn; the revision
        it made. ``expect`` {(kind, key): mod_revision} must all hold (0: key absent), else
        StoreConflict and nothing is written. StoreError when etcd did not take it."""
        rows = [(kind, key, doc, json.dumps(doc, sort_keys=True).encode()) for kind, key, doc in puts]
        deletes = list(deletes)
        ops = [rpc.RequestOp(request_put=rpc.PutRequest(key=self._key(k, key), value=v)) for k, key, _, v in rows]
        ops += [rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=self._key(k, key)))
                for k, key in deletes]
        expect = dict(expect or {})
        compare = [rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.MOD, key=self._key(k, key),
                               mod_revision=rev) for (k, key), rev in expect.items()]
        failure = [rpc.RequestOp(request_range=rpc.RangeRequest(key=self._key(k, key), keys_only=True))
                   for k, key in expect]
        response = self._call("Txn", rpc.TxnRequest(compare=compare + self._guarded(), success=ops,
                                                    failure=failure + self._guard_read()))
        if not response.succeeded:
            self._check_guard(response)
            now = {kv.key.decode(): kv.mod_revision for r in response.responses for kv in r.response_range.kvs}
            changed = [f"{k}/{key}: expected {rev}, is {now.get(self._key(k, key).decode(), 0)}"
                       for (k, key), rev in expect.items() if now.get(self._key(k, key).decode(), 0) != rev]
            raise StoreConflict("etcd: revision changed: " + "; ".join(changed)[:250])
        revision = response.header.revision
        for kind, key, doc, _ in rows:
            self._mirror.setdefault(kind, {})[key] = (json.loads(json.dumps(doc)), revision)
        for kind, key in deletes:
            self._mirror.get(kind, {}).pop(key, None)
        return revision

    def put(self, kind: str, key: str, doc: Mapping) -> None:
        self.apply(puts=[(kind, key, doc)])

    def delete(self, kind: str, key: str) -> None:
        self.apply(deletes=[(kind, key)])

    def clear(self, *kinds: str) -> None:
        """Delete every document of ``kinds`` (one Txn)."""
        ops = [rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(
            key=self._kind_prefix(k), range_end=_range_end(self._kind_prefix(k)))) for k in kinds]
        response = self._call("Txn", rpc.TxnRequest(compare=self._guarded(), success=ops, failure=self._guard_read()))
        if not response.succeeded:
            self._check_guard(response)
        for k in kinds:
            self._mirror[k] = {}

    def _guarded(self) -> list:
        if self.guard is None:
            return []
        key, revision = self.guard
        return [rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.CREATE, key=key, create_revision=revision)]

    def _guard_read(self) -> list:
        return [] if self.guard is None else [rpc.RequestOp(request_range=rpc.RangeRequest(key=self.guard[0]))]

    def _check_guard(self, response) -> None:
        """StoreConflict when the Txn failed on the ownership guard."""
        if self.guard is None:
            return
        key, revision = self.guard
        now = [kv.create_revision for r in response.responses for kv in r.response_range.kvs if kv.key == key]
        if (now[0] if now else 0) != revision:
            raise StoreConflict(f"etcd: not the owner any more ({key.decode()} created at "
                                f"{now[0] if now else 'none'}, ours {revision})")

    def _read(self, kind: str) -> dict[str, tuple[dict, int]]:
        """Every document of ``kind`` with its mod_revision, read at one revision (paged)."""
        start, end = self._kind_prefix(kind), _range_end(self._kind_prefix(kind))
        cut = len(start)
        out: dict[str, tuple[dict, int]] = {}
        key, revision = start, 0
        while True:
            r = self._call("Range", rpc.RangeRequest(key=key, range_end=end, limit=PAGE, revision=revision))
            revision = revision or r.header.revision
            for kv in r.kvs:
                out[kv.key[cut:].decode()] = (json.loads(kv.value), kv.mod_revision)
            if not r.more or not r.kvs:
                break
            key = r.kvs[-1].key + b"\0"
        self._mirror[kind] = out
        return out

    def load(self, kind: str) -> dict[str, dict]:
        return {k: doc for k, (doc, _) in self._read(kind).items()}

    def revisions(self, kind: str) -> dict[str, int]:
        """{key: mod_revision} of ``kind``: what ``apply(expect=...)`` compares."""
        return {k: rev for k, (_, rev) in self._read(kind).items()}

    def committed(self, kind: str) -> dict[str, dict]:
        """The documents as this instance last read or wrote them (no call to etcd once
        ``kind`` was loaded): the node's rollback while etcd is unreachable."""
        if kind not in self._mirror:
            return self.load(kind)
        return {k: json.loads(json.dumps(doc)) for k, (doc, _) in self._mirror[kind].items()}

    def describe(self) -> str:
        return f"etcd {','.join(self.endpoints)} {self.prefix}"

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()


__all__ = ["EtcdBindingStore", "channel_credentials"]
