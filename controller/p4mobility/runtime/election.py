"""One owner per switch, chosen with an etcd lease (issue 16; docs/cluster.md).

Rule: an instance holds a lease (TTL ``lease_ttl``) and kept alive every TTL/3 (from a
thread of its own between the win and ``hold``, while the node's restore blocks its loop). It owns the
switch while its key ``/p4mob/election/<name>`` exists. The key is created, bound to the lease,
only when there is none (a Txn comparing its create_revision with 0). Its create_revision
is the **ownership revision**. It becomes the P4Runtime election id, so a newer owner always
outranks an older one on the switch (P4Runtime §5 arbitration). It also guards every store
write (store_etcd ``guard``), so etcd refuses a stale owner's writes.
When the lease is gone (the owner was killed, paused or cut off for a TTL) etcd deletes the
key and a waiting instance takes it. An owner whose keepalive fails for a TTL stops itself
(``OwnershipLost``).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterable
from typing import Any, Callable

import grpc
from aetcd import rpc

ELECTION_ROOT = "/p4mob/election/"
COLUMNS = ["election", "owner", "owner_revision", "election_id", "lease", "ttl_left", "this_instance", "this_role",
           "store_revision"]
# a member gone (UNAVAILABLE; UNKNOWN for the keepalive stream its death cut), or no leader yet
TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN)
MEMBER_COLUMNS = ["member", "id", "client_urls", "leader"]


class OwnershipLost(Exception):
    """This instance no longer owns the switch; it must stop writing to it (and exits)."""


class Election:
    def __init__(self, endpoints: Iterable[str], name: str, instance: str, ttl: int = 5,
                 credentials: grpc.ChannelCredentials | None = None, timeout: float = 2.0) -> None:
        self.endpoints = list(endpoints)
        self.key = f"{ELECTION_ROOT}{name}".encode()
        self.name, self.instance, self.ttl, self.timeout = name, instance, ttl, timeout
        self._creds = credentials
        self._channel: Any = None
        self._index = 0
        self.lease: int | None = None
        self.revision: int | None = None  # the ownership revision while this instance owns
        self._bridge: threading.Event | None = None  # stops the keepalive thread (_start_bridge)

    # --- calls ------------------------------------------------------------------------
    def _open(self) -> None:
        target = self.endpoints[self._index % len(self.endpoints)]
        self._channel = (grpc.aio.secure_channel(target, self._creds) if self._creds
                         else grpc.aio.insecure_channel(target))

    async def _call(self, stub: str, method: str, request: Any) -> Any:
        """One unary call; on UNAVAILABLE the next endpoint (grpc.RpcError after all)."""
        last: grpc.RpcError | None = None
        for _ in range(len(self.endpoints)):
            if self._channel is None:
                self._open()
            try:
                return await getattr(getattr(rpc, stub)(self._channel), method)(request, timeout=self.timeout)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                last = exc
                await self._channel.close()
                self._channel, self._index = None, self._index + 1
        assert last is not None
        raise last

    async def _next_endpoint(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        self._channel, self._index = None, self._index + 1

    async def _keepalive_once(self, timeout: float | None = None) -> int:
        """The lease's TTL left after one keepalive (0: the lease is gone)."""
        if self._channel is None:
            self._open()
        call = rpc.LeaseStub(self._channel).LeaseKeepAlive(iter([rpc.LeaseKeepAliveRequest(ID=self.lease)]),
                                                          timeout=timeout or self.timeout)
        async for reply in call:
            return reply.TTL
        return 0

    # --- campaign -----------------------------------------------------------------------
    async def campaign(self, waiting: Callable[[dict], None] = lambda owner: None) -> int:
        """Wait until this instance owns the switch; its ownership revision. ``waiting`` is
        called with the current owner each time the key is found taken (once per owner)."""
        grant = await self._call("LeaseStub", "LeaseGrant", rpc.LeaseGrantRequest(TTL=self.ttl))
        self.lease = grant.ID
        value = json.dumps({"instance": self.instance, "lease": self.lease, "since": time.time()}).encode()
        seen = None
        while True:
            txn = rpc.TxnRequest(
                compare=[rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.CREATE, key=self.key,
                                     create_revision=0)],
                success=[rpc.RequestOp(request_put=rpc.PutRequest(key=self.key, value=value, lease=self.lease))],
                failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=self.key))])
            try:
                response = await self._call("KVStub", "Txn", txn)
            except grpc.RpcError as exc:  # a member gone or without a leader for now: try again
                if exc.code() not in TRANSIENT:
                    raise
                await self._next_endpoint()
                await asyncio.sleep(self.ttl / 3)
                continue
            kvs = [kv for r in response.responses for kv in r.response_range.kvs]
            if response.succeeded or (kvs and kvs[0].lease == self.lease):  # (ours: a Txn that timed out went through)
                self.revision = response.header.revision if response.succeeded else kvs[0].create_revision
                with contextlib.suppress(grpc.RpcError):  # a full TTL from now (the last may be TTL/3 old)
                    await self._keepalive_once()
                self._start_bridge()
                return self.revision
            if kvs and kvs[0].create_revision != seen:
                seen = kvs[0].create_revision
                waiting({**self._owner(kvs[0]), "revision": seen})
            try:
                if await self._keepalive_once() <= 0:  # our own lease, kept while we wait
                    raise OwnershipLost("the waiting instance's lease expired")
            except grpc.RpcError as exc:
                if exc.code() not in TRANSIENT:
                    raise
                await self._next_endpoint()  # the next Txn and keepalive to another member
            await asyncio.sleep(self.ttl / 3)

    def _start_bridge(self) -> None:
        """Keepalives from a thread of its own from the win until hold() runs: the node's
        restore and start block its event loop (1,500 bindings took 2.6 s on a loaded
        machine, past a 2 s lease). hold() and resign() stop it."""
        stop, lease = threading.Event(), self.lease
        target = self.endpoints[self._index % len(self.endpoints)]

        def bridge() -> None:
            with (grpc.secure_channel(target, self._creds) if self._creds else grpc.insecure_channel(target)) as ch:
                stub = rpc.LeaseStub(ch)
                while not stop.wait(self.ttl / 3):
                    with contextlib.suppress(grpc.RpcError):  # (hold() decides once it runs)
                        for _ in stub.LeaseKeepAlive(iter([rpc.LeaseKeepAliveRequest(ID=lease)]), timeout=self.timeout):
                            break
        self._bridge = stop
        threading.Thread(target=bridge, daemon=True, name="lease-bridge").start()

    def _stop_bridge(self) -> None:
        if self._bridge is not None:
            self._bridge.set()
            self._bridge = None

    @staticmethod
    def _owner(kv: Any) -> dict:
        try:
            return dict(json.loads(kv.value))
        except (ValueError, TypeError):
            return {"instance": "?"}

    async def hold(self) -> None:
        """Keep the lease alive; raise OwnershipLost when it is gone or etcd has not answered
        for a TTL (by then etcd may have given the switch to another instance)."""
        self._stop_bridge()
        last_ok = time.monotonic()
        delay = 0.0  # the first one at once: the start may have taken most of a TTL
        # each try at most TTL/4, so a member held without a leader (raft electing one)
        # does not use up the TTL alone: the next tries go to the other members
        per_try = min(self.timeout, self.ttl / 4)
        while True:
            await asyncio.sleep(delay)
            try:
                left = await self._keepalive_once(per_try)
            except grpc.RpcError as exc:
                if exc.code() in TRANSIENT:
                    await self._next_endpoint()  # that member is gone: the next keepalive to another
                if time.monotonic() - last_ok >= self.ttl:
                    raise OwnershipLost(f"no keepalive answered for {self.ttl} s ({exc.code().name}: "
                                        f"{exc.details()}): the lease may be gone"[:300]) from None
                delay = min(0.2, self.ttl / 3)  # the next member soon
                continue
            if left <= 0:
                raise OwnershipLost(f"lease {self.lease:x} expired")
            last_ok, delay = time.monotonic(), self.ttl / 3

    async def resign(self) -> None:
        """Revoke the lease (the key goes at once: a waiting instance takes over now)."""
        self._stop_bridge()
        if self.lease is not None:
            try:
                await self._call("LeaseStub", "LeaseRevoke", rpc.LeaseRevokeRequest(ID=self.lease))
            except grpc.RpcError:
                pass  # the lease expires by itself
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def show(self) -> dict:
        """`p4mob show cluster`: the owner of this election, its revision and lease, and us."""
        r = await self._call("KVStub", "Range", rpc.RangeRequest(key=self.key))
        owner, owner_rev, lease, ttl_left = None, None, None, None
        if r.kvs:
            kv = r.kvs[0]
            owner, owner_rev, lease = self._owner(kv).get("instance"), kv.create_revision, kv.lease
            t = await self._call("LeaseStub", "LeaseTimeToLive", rpc.LeaseTimeToLiveRequest(ID=kv.lease))
            ttl_left = t.TTL
        role = "owner" if self.revision is not None and self.revision == owner_rev else "waiting"
        row = [self.name, owner, owner_rev, owner_rev, None if lease is None else f"{lease:x}", ttl_left,
               self.instance, role, r.header.revision]
        return {"ok": True, "columns": COLUMNS, "rows": [row], "members": await self.members()}

    async def members(self) -> dict:
        """The etcd cluster's members (MemberList) and which one leads (Status of the one asked)."""
        listed = await self._call("ClusterStub", "MemberList", rpc.MemberListRequest())
        status = await self._call("MaintenanceStub", "Status", rpc.StatusRequest())
        rows = [[m.name or "(not started)", f"{m.ID:x}", ",".join(m.clientURLs), m.ID == status.leader]
                for m in sorted(listed.members, key=lambda m: m.name)]
        return {"columns": MEMBER_COLUMNS, "rows": rows}


__all__ = ["ELECTION_ROOT", "MEMBER_COLUMNS", "Election", "OwnershipLost"]
