"""The asyncio adapter shared by the LMA and MAG nodes (thin, like aioquic's protocol).

Rule: one worker task owns the core. It takes queued items (punted packets,
link events), calls the core with `now = time.time()`, fires the core timer
when `next_deadline()` is due, and applies the resulting actions in order:
persist (SQLite WAL or etcd) -> table writes (per batch, one WriteRequest per
dependency phase, p4rt/apply) -> packet-outs (PBA/PBU/RA) -> logs and
metrics. Queued items are handled in batches so a burst of PBUs costs one
write. On every (re)connect finsy pushes
the pipeline if the switch lacks it, and the node reconciles the owned tables
(Read, diff, write the difference) before reading packets again. While not
connected, runtime/switch_probe logs why (`switch_unreachable`: TLS handshake
error, refused connection), since finsy waits silently. No protocol
rule lives here; role specifics are the hooks subclasses fill in.

This module keeps the loop, the apply order and the reconcile; the rest is in
items.py (queue items), packet_outs.py (built, locked, held packet-outs),
action_log.py (event lines and counts per action), counters.py (counter
polling and `show counters`) and node_control.py (control-socket commands).
"""
from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterable
from typing import Any

import finsy
from finsy import P4PacketOut

from p4mobility.p4rt.apply import EntrySet, Writer, reconcile
from p4mobility.p4rt.entries import Change
from p4mobility.p4rt.names import check_names
from p4mobility.runtime.action_log import log_actions, mh_fields
from p4mobility.runtime.control import serve_control
from p4mobility.runtime.counters import counter_rows, poll_drop_counters
from p4mobility.runtime.crypto_port import SA_COLUMNS
from p4mobility.runtime.heap import HeapKeeper
from p4mobility.runtime.items import PacketIn, QueueItem
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.metrics import NodeMetrics, observe_store
from p4mobility.runtime.node_control import handle_control
from p4mobility.runtime.node_ipsec import NodeIpsec
from p4mobility.runtime.nodeconfig import IpsecSettings, NodeSettings
from p4mobility.runtime.packet_outs import PacketOuts
from p4mobility.runtime.punt_port import PuntPort
from p4mobility.runtime.store import StoreError
from p4mobility.runtime.stores import open_election, open_store
from p4mobility.runtime.node_cluster import become_owner
from p4mobility.runtime.node_cluster import hold as hold_ownership
from p4mobility.runtime.switch_probe import watch

MAX_BATCH = 1024
MAX_QUEUED_PUNTS = 65536  # as the stream's queue: beyond it punts from the port are dropped
STORE_RETRY = 0.5  # s between batches while the store cannot be written


def call_cancelled() -> bool:
    """A CancelledError came from a gRPC call whose channel closed, not from cancelling us."""
    task = asyncio.current_task()
    return task is not None and not task.cancelling()


class NodeRuntime:
    role = "node"
    tables: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()  # action profiles whose members this node owns
    selectors: tuple[str, ...] = ()  # action selectors whose groups it owns too

    def __init__(self, settings: NodeSettings, log: EventLog | None = None,
                 ipsec: IpsecSettings | None = None) -> None:
        self.settings = settings
        self.node_ipsec = NodeIpsec(ipsec) if ipsec else None
        self.log = log or EventLog(settings.name, level=settings.log_level)
        self.entries = EntrySet()
        self.queue: asyncio.Queue[QueueItem] = asyncio.Queue()
        self.switch: Any = None
        self.writer: Writer | None = None
        self.metrics = NodeMetrics(self.role)
        self.store = observe_store(open_store(settings), self.metrics)  # SQLite, etcd or None (runtime/stores.py)
        self.election = open_election(settings)  # one owner per switch ([store] election)
        self._stop = asyncio.Event()
        self.store_failing: str | None = None  # the error while the state file cannot be written
        self.refused: list[QueueItem] = []  # inputs of refused batches the role wants handled again
        self.outbox = PacketOuts(settings.p4info, self.log, lambda: self.writer)
        self._core_counts: dict[str, int] = {}  # core counts already added to metrics.core_events
        self.heap = HeapKeeper()  # long-lived objects out of the cyclic collector's walks (runtime/heap.py)
        self.written = {"batches": 0, "updates": 0, "largest": 0}  # table writes since start (`status`)
        self.punt_port: PuntPort | None = None  # [node] punt_interface: punts on a veth, not the stream

    # --- hooks -----------------------------------------------------------------
    def restore(self) -> Iterable[Change]:
        """Desired entries at start (base + restored state)."""
        raise NotImplementedError

    def on_item(self, item: QueueItem, now: float) -> list:
        raise NotImplementedError

    def core_timer(self, now: float) -> list:
        raise NotImplementedError

    def next_deadline(self) -> float | None:
        raise NotImplementedError

    def changes_for(self, action: Any) -> list[Change]:
        raise NotImplementedError

    def persist(self, actions: list) -> None:
        pass

    def packet_out(self, action: Any) -> P4PacketOut | None:
        return None

    def packet_outs(self, action: Any) -> list[P4PacketOut]:
        p = self.packet_out(action)
        return [] if p is None else [p]

    def show(self, what: str) -> dict:
        return {"ok": False, "error": f"nothing to show for {what!r}"}

    def make_packet_out(self, frame: bytes, egress_port: int = 0, through_pipeline: bool = True) -> P4PacketOut:
        """PacketOut with every packet_out metadata field of the P4Info set (padding 0)."""
        return self.outbox.make(frame, egress_port, through_pipeline)

    def ipsec_changes(self) -> list[Change]:
        """esp_sas / outbound_policies from the [ipsec] file (none without it)."""
        return self.node_ipsec.changes() if self.node_ipsec else []

    def clear_signaling_refused(self, pkt: Any, reason: Any) -> bool:
        """A punted MH that arrived without ESP where the SPD wants it: dropped, counted, logged."""
        if self.node_ipsec is None or not self.node_ipsec.refuses_clear(pkt.payload, reason):
            return False
        self.metrics.mh_unprotected.inc()
        self.log.event("mh_unprotected_dropped", src=NodeIpsec.source(pkt.payload), punt_reason=int(reason))
        return True

    async def show_sas(self) -> dict:
        if self.node_ipsec is None:
            return {"ok": True, "columns": SA_COLUMNS, "rows": [], "note": "no [ipsec] configured"}
        return await self.node_ipsec.show_sas()

    def rollback_to_store(self) -> None:
        """Make the core what the store holds after a failed write (the batch is undone);
        a role that cannot re-raises and the node stops, as before."""
        raise NotImplementedError

    def retry_refused(self, items: list[QueueItem]) -> list[QueueItem]:
        """Inputs of a refused batch to handle again with the next batch (until the store
        takes them). Default none: the peer retransmits (RFC 5213 §6.9.4, RFC 6275 §11.8)."""
        return []

    def extra_tasks(self) -> list:
        return []

    async def apply_other_switches(self, actions: list) -> None:
        """Entries on switches beyond the node's own, before its packet-outs (runtime/lma_switches.py)."""

    def on_connected(self) -> None:
        """Called once the switch is reconciled and packet-outs can go."""

    def update_gauges(self) -> None:
        pass

    def core_counters(self) -> dict[str, int]:
        """The core's own counts by name (exported as p4mob_core_events_total{counter})."""
        return {}

    def sync_core_counters(self) -> None:
        exported = self._core_counts
        for name, value in self.core_counters().items():
            before = exported.get(name, 0)
            if value != before:
                if value > before:  # (a core rebuilt from state starts its counts at 0)
                    self.metrics.core_events.labels(name).inc(value - before)
                exported[name] = value

    # --- running ----------------------------------------------------------------
    async def run(self) -> None:
        s = self.settings
        control = await serve_control(s.control_socket, self._control)  # (also while waiting to own)
        try:
            election_id = await become_owner(self) if self.election is not None else s.election_id
            self.owner_election_id = election_id  # (also the other switches' of an LMA)
            with self.heap.paused():  # 100,000 bindings restored: no collection midway
                self.entries.load(self.restore())
        except BaseException as exc:
            control.close()
            if isinstance(exc, StoreError):  # the state cannot be read (etcd unreachable): refuse to start
                self.log.event("store_unreachable", store=self.store.describe() if self.store else None,
                               error=str(exc)[:300])
            await self._resign()
            raise
        self.heap.settle(len(self.entries))
        self.metrics.entries.set(len(self.entries))
        if s.metrics_port is not None:
            self.metrics.serve(s.metrics_port)
        if s.punt_interface:
            self.punt_port = PuntPort(s.punt_interface, s.p4info, self._punted, self.log)
            self.punt_port.open()
        creds = None
        if s.tls_ca or s.tls_cert:
            creds = finsy.GRPCCredentialsTLS(cacert=s.tls_ca, cert=s.tls_cert, private_key=s.tls_key)
        opts = finsy.SwitchOptions(p4info=s.p4info, p4blob=s.p4blob, device_id=s.device_id,
                                   initial_election_id=election_id, channel_credentials=creds,
                                   ready_handler=self._ready)
        switch = finsy.Switch(s.name, s.switch_address, opts)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        self.log.event("node_start", role=self.role, switch=s.switch_address, entries=len(self.entries))
        tasks = [asyncio.create_task(self._worker(), name="worker"),
                 asyncio.create_task(switch.run(), name="switch"),
                 asyncio.create_task(poll_drop_counters(lambda: self.switch, self.metrics, s.counters_interval),
                                     name="counters"),
                 asyncio.create_task(watch(s.switch_address, creds, lambda: self.switch is not None,
                                           lambda why: self.log.event("switch_unreachable", switch=s.switch_address,
                                                                      tls=creds is not None, error=why)),
                                     name="probe")]
        tasks += [asyncio.create_task(c) for c in self.extra_tasks()]
        if self.election is not None:  # OwnershipLost ends the node (runtime/node_cluster.py)
            tasks.append(asyncio.create_task(hold_ownership(self), name="election"))
        stop = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait(tasks + [stop], return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t is not stop and t.exception() is not None:
                    raise t.exception()
        finally:
            for t in tasks + [stop]:
                t.cancel()
            await asyncio.gather(*tasks, stop, return_exceptions=True)
            control.close()
            await self._resign()
            if self.punt_port is not None:
                self.punt_port.close()
            if self.store is not None:
                self.store.close()
            self.log.event("node_stop", role=self.role)

    async def _resign(self) -> None:
        """Give up the switch's ownership at once (a waiting instance takes over)."""
        if self.election is not None:
            with contextlib.suppress(Exception):
                await self.election.resign()

    async def _ready(self, switch: Any) -> None:
        """finsy calls this on every (re)connection, pipeline already pushed."""
        missing = check_names(switch.p4info)
        if missing:
            self.log.event("p4info_mismatch", missing=missing)
        self.outbox.learn_fields(switch.p4info)
        packets = switch.read_packets(queue_size=65536)
        while True:  # again if the worker changed the desired set meanwhile
            version = self.entries.version
            result = await reconcile(switch, self.entries, self.tables, self.profiles, self.selectors)
            if self.entries.version == version:
                break
        self.metrics.reconciles.inc()
        self.log.event("reconciled", read=result.read, inserted=result.inserted, modified=result.modified,
                       deleted=result.deleted, desired=len(self.entries))
        self.switch = switch
        self.writer = Writer(switch, self.entries)
        self.metrics.connected.set(1)
        held = self.outbox.take_held()
        if held:  # after reconcile: the entries they rely on are in place
            self.log.event("held_packets_sent", packets=len(held))
            await self.send_packets(switch, held)
        self.on_connected()
        try:
            async for pkt in packets:
                self.queue.put_nowait(PacketIn(pkt))
        finally:
            self.switch = None
            self.metrics.connected.set(0)
            self.log.event("switch_down")

    async def _worker(self) -> None:
        while True:
            deadline = self.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            items: list = []
            try:
                if not self.refused:  # (refused inputs: retried now, _store_failed slept)
                    items.append(await asyncio.wait_for(self.queue.get(), timeout))
                while len(items) < MAX_BATCH and not self.queue.empty():
                    items.append(self.queue.get_nowait())
            except (TimeoutError, asyncio.TimeoutError):
                pass
            now = time.time()
            actions: list = []
            retried, self.refused = self.refused, []
            with self.log.held():  # one flush for the batch's log lines
                with self.log.muted():  # their lines were written the first time
                    for item in retried:
                        actions += self.on_item(item, now)
                for item in items:
                    actions += self.on_item(item, now)
                deadline = self.next_deadline()
                if deadline is not None and deadline <= now:
                    actions += self.core_timer(now)
            self.sync_core_counters()
            if actions:
                await self.apply(actions, retried + items)
                self.heap.after_batch(len(self.entries))

    async def apply(self, actions: list, items: list | tuple = ()) -> None:
        changes = [c for a in actions for c in self.changes_for(a)]
        try:
            self.persist(actions)  # state is durable before anything is acknowledged
        except StoreError as exc:
            await self._store_failed(exc, actions, list(items))
            return
        if self.store_failing is not None:
            self.log.event("store_recovered", after=self.store_failing)
            self.store_failing = None
        await self.apply_other_switches(actions)
        switch, writer = self.switch, self.writer
        written = 0
        if switch is not None and writer is not None:
            interrupted = False
            try:
                written = await writer.apply(changes)
            except asyncio.CancelledError:
                if not call_cancelled():
                    raise
                # the switch went away mid-write (kill -9: gRPC cancels the call); the entries
                # are planned, reconcile writes them on reconnect, then the held PBAs go
                self.log.event("write_interrupted", updates=len(changes))
                interrupted = True
            except Exception as exc:  # noqa: BLE001 - the switch said no: reconcile
                self.log.event("write_failed", error=str(exc)[:300])
                await self._reconcile_now(switch)
            outs = [p for a in actions for p in self.packet_outs(a)]
            if interrupted:
                self.outbox.hold(outs)
            else:
                await self.send_packets(switch, outs)
        else:
            self.entries.plan(changes)  # written by reconcile when the switch is back
            self.outbox.hold([p for a in actions for p in self.packet_outs(a)])
        with self.log.held():
            if written:
                self.metrics.writes.inc()
                self.metrics.updates.inc(written)
                w = self.written
                w["batches"], w["updates"], w["largest"] = w["batches"] + 1, w["updates"] + written, \
                    max(w["largest"], written)
                self.log.debug("entries_written", updates=written)
            self.metrics.entries.set(len(self.entries))
            log_actions(self.log, self.metrics, actions)
        self.update_gauges()

    async def _store_failed(self, exc: StoreError, actions: list, items: list) -> None:
        """Disk full or I/O error: nothing of the batch is acknowledged, written or sent (no
        PBA/BA promises state that is not durable, no PBU for a BUL entry that is not); the
        core goes back to the store. The LMA's and HA's senders retransmit (RFC 5213 §6.9.4,
        RFC 6275 §11.8); the MAG handles the batch's inputs again with the next batch (its
        timers, still due in the store's state, fire again) until the file can be written."""
        try:
            self.rollback_to_store()
        except NotImplementedError:
            raise exc from None
        self.refused = self.retry_refused(items)[-MAX_BATCH:]
        self.metrics.store_errors.inc()
        if self.store_failing is None:
            self.log.event("store_write_failed", store=self.store.describe() if self.store else None,
                           error=str(exc)[:300], refused_actions=len(actions),
                           retried_inputs=len(self.refused))
        self.store_failing = str(exc)[:300]
        self.update_gauges()
        await asyncio.sleep(STORE_RETRY)  # no busy loop on a timer that keeps failing

    async def _reconcile_now(self, switch: Any) -> None:
        with contextlib.suppress(Exception):
            result = await reconcile(switch, self.entries, self.tables, self.profiles, self.selectors)
            self.log.event("reconciled", read=result.read, inserted=result.inserted,
                           modified=result.modified, deleted=result.deleted, desired=len(self.entries))

    async def read_counters(self) -> list[list]:
        """Rows of `show counters` (runtime/counters.py)."""
        return await counter_rows(self.switch, self.counter_indices)

    def send_soon(self, outs: list[P4PacketOut]) -> None:
        """Packet-outs outside a batch (NA replies, late held frames); errors are logged."""
        switch = self.switch
        if switch is None or not outs:
            return

        asyncio.get_running_loop().create_task(self.send_packets(switch, outs))

    async def send_packets(self, switch: Any, outs: list[P4PacketOut]) -> None:
        """Every packet-out goes through here: on the punt port, or one stream write at a
        time (runtime/packet_outs.py)."""
        if self.punt_port is not None:
            self.punt_port.send(outs)
            return
        await self.outbox.send(switch, outs)

    def _punted(self, pkt: Any) -> None:
        """A punt from the punt port: queued once the switch is reconciled (as the stream's)."""
        if self.switch is not None and self.queue.qsize() < MAX_QUEUED_PUNTS:
            self.queue.put_nowait(PacketIn(pkt))

    def counter_indices(self) -> list[int]:
        """Indices of binding_uplink/downlink_counter in use (binding ids)."""
        return []

    async def _control(self, req: dict) -> dict:
        return await handle_control(self, req)


__all__ = ["NodeRuntime", "mh_fields", "MAX_BATCH"]
