"""The switches of an LMA with `[[switches]]` (docs/cluster.md): one desired set each.

Rule: adapter only. The first switch is the node's own (runtime/node.py: its
connection, reconcile, packet-outs); each other switch has here its own
P4Runtime connection (the same election id), desired set (p4rt/apply.EntrySet),
reconcile on every (re)connection, and punts queued to the node's worker like
the first switch's. Which entries go where is p4rt/lma_switches.SwitchPlan.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import finsy

from p4mobility.p4rt.apply import EntrySet, Writer, reconcile
from p4mobility.p4rt.entries import Change, lma_base_entries
from p4mobility.runtime.items import PacketIn
from p4mobility.runtime.lma_switches_config import LmaSwitch, switch_plan

MAX_QUEUED_PUNTS = 65536
MAX_HEARD = 65536  # MAG addresses remembered with their switch


class SwitchLink:
    """One switch beyond the first: its connection and its desired entries."""

    def __init__(self, sw: LmaSwitch, index: int) -> None:
        self.sw, self.index = sw, index
        self.entries = EntrySet()
        self.switch: Any = None
        self.writer: Writer | None = None

    async def run(self, node: Any, election_id: int) -> None:
        s = node.settings
        creds = None
        if s.tls_ca or s.tls_cert:
            creds = finsy.GRPCCredentialsTLS(cacert=s.tls_ca, cert=s.tls_cert, private_key=s.tls_key)
        opts = finsy.SwitchOptions(p4info=s.p4info, p4blob=s.p4blob, device_id=self.sw.device_id,
                                   initial_election_id=election_id, channel_credentials=creds,
                                   ready_handler=lambda sw: self._ready(node, sw))
        await finsy.Switch(self.sw.name, self.sw.switch_address, opts).run()

    async def _ready(self, node: Any, switch: Any) -> None:
        """finsy calls this on every (re)connection: reconcile this switch, then read its punts."""
        packets = switch.read_packets(queue_size=MAX_QUEUED_PUNTS)
        while True:  # again if the worker changed the desired set meanwhile
            version = self.entries.version
            result = await reconcile(switch, self.entries, node.tables, node.profiles, node.selectors)
            if self.entries.version == version:
                break
        node.metrics.reconciles.inc()
        node.log.event("reconciled", switch=self.sw.name, read=result.read, inserted=result.inserted,
                       modified=result.modified, deleted=result.deleted, desired=len(self.entries))
        self.switch, self.writer = switch, Writer(switch, self.entries)
        try:
            async for pkt in packets:
                if node.queue.qsize() < MAX_QUEUED_PUNTS:
                    node.queue.put_nowait(PacketIn(pkt, self.index))
        finally:
            self.switch = self.writer = None
            node.log.event("switch_down", switch=self.sw.name)

    async def send(self, node: Any, outs: list) -> None:
        switch = self.switch
        try:
            if switch is not None:
                await switch.write(outs)
        except Exception as exc:  # noqa: BLE001 - the switch went away: the MAG retransmits
            node.log.event("packet_out_failed", switch=self.sw.name, error=str(exc)[:300])

    async def apply(self, node: Any, changes: list[Change]) -> None:
        switch, writer = self.switch, self.writer
        if switch is None or writer is None:
            self.entries.plan(changes)  # written by reconcile when the switch is back
            return
        try:
            await writer.apply(changes)
        except asyncio.CancelledError:
            if asyncio.current_task() is None or asyncio.current_task().cancelling():
                raise
            node.log.event("write_interrupted", switch=self.sw.name, updates=len(changes))
        except Exception as exc:  # noqa: BLE001 - the switch said no: reconcile
            node.log.event("write_failed", switch=self.sw.name, error=str(exc)[:300])
            with contextlib.suppress(Exception):
                await reconcile(switch, self.entries, node.tables, node.profiles, node.selectors)


class SwitchFleet:
    """Every switch of the LMA: which entries each gets, the others' links."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.switches: tuple[LmaSwitch, ...] = cfg.switches
        self.plan = switch_plan(cfg.switches, cfg.policy)
        self.links = [SwitchLink(sw, i) for i, sw in enumerate(cfg.switches) if i > 0]
        self.ingress: dict[Any, int] = {}  # MAG address -> the switch its last PBU came through
        self.sending: set[asyncio.Task] = set()

    def base(self, index: int, ipsec: list[Change]) -> list[Change]:
        """Switch ``index``'s own entries: LMA address, routes, pool steering, IPsec."""
        sw = self.switches[index]
        routes = sw.routes if sw.routes is not None else self.cfg.routes
        return lma_base_entries(self.cfg.lma.lma_address, routes) + self.plan.steering(index, sw.steer) + ipsec

    def restore(self, ipsec: list[Change], actions: Iterable[Any]) -> Iterator[Change]:
        """The first switch's desired entries; the others' loaded into their sets."""
        actions = list(actions)
        for link in self.links:
            link.entries.load(self.base(link.index, ipsec) +
                              [c for a in actions for c in self.plan.changes_for(link.index, a)])
        yield from self.base(0, ipsec)
        for a in actions:
            yield from self.plan.changes_for(0, a)

    def changes_for(self, action: Any) -> list[Change]:
        return self.plan.changes_for(0, action)

    def heard(self, src: Any, via: int) -> None:
        """A PBU from ``src`` came through switch ``via``: its answers leave there too (the
        MAG-side network keeps one MAG on one switch and its crypto path)."""
        if len(self.ingress) >= MAX_HEARD and src not in self.ingress:
            self.ingress.clear()
        self.ingress[src] = via

    def send_through_serving(self, node: Any, prefixes: Any, outs: list) -> bool:
        """Send held downlink through the switch serving ``prefixes``, if not the first one."""
        return self._send(node, self.plan.serving(prefixes), outs)

    def _send(self, node: Any, via: int, outs: list) -> bool:
        link = self.links[via - 1] if via > 0 else None
        if link is None or link.switch is None or not outs:
            return False
        task = asyncio.get_running_loop().create_task(link.send(node, outs))
        self.sending.add(task)  # (a task nobody holds may be collected before it ran)
        task.add_done_callback(self.sending.discard)
        return True

    def send_through_ingress(self, node: Any, dst: Any, pkt: Any) -> bool:
        """Send ``pkt`` through the switch ``dst`` was heard through, if not the first one."""
        return self._send(node, self.ingress.get(dst, 0), [pkt])

    async def apply(self, node: Any, actions: list) -> None:
        """The batch's entries on every other switch, all switches written at once."""
        writes = []
        for link in self.links:
            changes = [c for a in actions for c in self.plan.changes_for(link.index, a)]
            if changes:
                writes.append(link.apply(node, changes))
        if writes:
            await asyncio.gather(*writes)

    def tasks(self, node: Any, election_id: int) -> list:
        return [link.run(node, election_id) for link in self.links]

    def name_of(self, prefixes: Iterable[Any]) -> str:
        return self.switches[self.plan.serving(prefixes)].name

    def with_switch_column(self, table: dict, views: Iterable[Any]) -> dict:
        """`show bindings` with the serving switch of each binding."""
        by_id = {v.binding_id: self.name_of(v.home_prefixes) for v in views}
        return {**table, "columns": list(table["columns"]) + ["switch"],
                "rows": [list(r) + [by_id.get(r[0])] for r in table["rows"]]}

    def show(self, node: Any) -> dict:
        rows = [[sw.name, sw.switch_address, sw.device_id, " ".join(sw.pools),
                 node.switch is not None if i == 0 else self.links[i - 1].switch is not None,
                 len(node.entries) if i == 0 else len(self.links[i - 1].entries)]
                for i, sw in enumerate(self.switches)]
        return {"ok": True, "columns": ["switch", "address", "device_id", "pools", "connected", "entries"],
                "rows": rows}


__all__ = ["SwitchFleet", "SwitchLink"]
