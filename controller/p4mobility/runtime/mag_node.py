"""`p4mob mag run`: the MAG node (RFC 5213 §6) on a P4 switch.

Rule: adapter only. The MN is identified by its MAC (configured MN-ID per
MAC, RFC 5213 §6.6); a punted Router Solicitation from it becomes
`RouterSolicitationReceived`, any other punted frame from it
`MnTrafficSeen` (the port's attach punt: a link-layer handoff sends no RS),
and the MAG core decides what they mean. The access interfaces' carrier comes
from rtnetlink (port_links.py): up is `AccessLinkUp` with the port's
configured MN, if any (then the PBU leaves before the MN speaks), loss of
carrier or an idle timeout is `MnDetached`. Held uplink frames (HoldUplink/ReleaseUplink) are kept in an
AttachBuffer and tunnelled to the LMA once released.
Punted PBAs go to the core; its actions become entries
(p4rt/entries.mag_changes), PBU packet-outs routed by the pipeline, and RAs
sent straight out of the access port. The Binding Update List is persisted
(one "mag_bul" document per access port, plus "mag_core": Sequence Number,
clock offset) before the PBU or entries of a batch go out; a restarted MAG
rebuilds its core with `from_state`, reconciles the switch against it and
sends no PBU before a refresh is due. A corrupt state is refused (logged) and
the MAG starts empty.
"""
from __future__ import annotations

import asyncio
import errno
import time
from typing import Any

from finsy import P4CounterEntry, P4PacketOut

from p4mobility.mh import BindingAck
from p4mobility.nd import NdDecodeError, NeighborSolicitation, RouterSolicitation, decode_frame
from p4mobility.p4rt.entries import Change, mag_base_entries, mag_changes, mac_str
from p4mobility.p4rt.names import MAG_TABLES, PuntReason
from p4mobility.pmip import mag_persist
from p4mobility.pmip.actions import (
    HoldUplink,
    MagBindingRemoved,
    ReleaseUplink,
    SendMh,
    SendRouterAdvertisement,
)
from p4mobility.pmip.events import AccessLinkUp, MnDetached, MnTrafficSeen, PbaReceived, RouterSolicitationReceived
from p4mobility.pmip.mag import MobileAccessGateway
from p4mobility.pmip.mag_persist import MagStateError
from p4mobility.runtime.attach_buffer import AttachBuffer, encapsulate
from p4mobility.runtime.frames import FrameError, mh_frame, parse_mh_frame
from p4mobility.runtime.home_link import na_frame, ra_frame
from p4mobility.runtime.items import IdleTimeout, LinkChanged, PacketIn, QueueItem
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.node import NodeRuntime, mh_fields
from p4mobility.runtime import netlink as nl
from p4mobility.runtime.nodeconfig import MagNodeConfig
from p4mobility.runtime.port_links import PortLinks
from p4mobility.runtime.rtnl import RECV_SIZE, Rtnl, open_events
from p4mobility.runtime.show_tables import bul_table, peer_table
from p4mobility.runtime.stores import set_aside


class MagNode(NodeRuntime):
    role = "mag"
    tables = MAG_TABLES

    def __init__(self, cfg: MagNodeConfig, log: EventLog | None = None) -> None:
        super().__init__(cfg.node, log, cfg.ipsec)
        self.cfg = cfg
        self.core = MobileAccessGateway(cfg.mag, cfg.profiles)
        self.ports = {p.port: p for p in cfg.access_ports}
        self.port_mac: dict[int, bytes] = {}  # access port -> attached MN's MAC
        self.mn_mac = {mn: mac for mac, mn in cfg.mn_macs.items()}  # MN-ID -> MAC (its MN-LL-ID)
        self.router_mac = cfg.router_mac
        self.router_ll = cfg.mag.own_link_local
        self.buffer = AttachBuffer()
        self.last_now = 0.0  # the `now` of the item being handled
        self._core_doc: dict | None = None  # last persisted "mag_core" document

    # --- state ---------------------------------------------------------------
    def restore(self) -> list[Change]:
        changes = mag_base_entries(self.cfg.mag.proxy_coa, self.cfg.routes, self.ports) + self.ipsec_changes()
        if self.store is None:
            return changes
        try:
            entries = self._core_from_store()
        except ValueError as exc:  # MagStateError, or a document that is not JSON: start empty
            self.log.event("state_refused", error=str(exc)[:300],
                           kept_as=set_aside(self.store, "mag_core", "mag_bul"))
            self.core = MobileAccessGateway(self.cfg.mag, self.cfg.profiles)
            self._core_doc = None
            return changes
        if entries is None:
            return changes
        for a in self.core.snapshot_actions():
            changes += mag_changes(a, self.router_mac)
        for v in self.core.binding_update_list():
            self.port_mac[v.access_port] = v.mn_ll_id or b""
            self.log.event("binding_restored", access_port=v.access_port, mn_id=v.mn_id, state=v.state.value,
                           last_seq=v.last_sequence)
        self.log.event("state_restored", entries=entries)
        return changes

    def _core_from_store(self) -> int | None:
        """The core as the store holds it; the number of BUL entries, None for an empty store."""
        assert self.store is not None
        core, bul = self.store.committed("mag_core"), self.store.committed("mag_bul")  # (etcd may be down)
        if not core and not bul:
            self.core, self._core_doc = MobileAccessGateway(self.cfg.mag, self.cfg.profiles), None
            return None
        if not isinstance(core.get("core"), dict):
            raise MagStateError("mag_core", "missing or not an object")
        state = mag_persist.load_state({**core["core"], "bul": bul})
        self.core = MobileAccessGateway.from_state(self.cfg.mag, self.cfg.profiles, state)
        self._core_doc = core["core"]
        return len(bul)

    def rollback_to_store(self) -> None:
        """After a failed write: the BUL as the store holds it (no PBU went for the batch)."""
        if self.store is not None:
            self._core_from_store()

    def retry_refused(self, items: list[QueueItem]) -> list[QueueItem]:
        """The MN's RS, traffic, link changes and PBAs of a refused batch are handled again
        until the BUL can be persisted: the MN is served once the disk has room."""
        return items

    def persist(self, actions: list) -> None:
        if self.store is None:
            return
        state, entries = self.core.take_changes()
        core = mag_persist.core_doc(state)
        puts = [("mag_bul", str(port), mag_persist.entry_doc(v)) for port, v in entries.items() if v is not None]
        deletes = [("mag_bul", str(port)) for port, v in entries.items() if v is None]
        if core != self._core_doc:
            puts.append(("mag_core", "core", core))
        if puts or deletes:
            self.store.apply(puts, deletes)
            self._core_doc = core  # (only once written: a refused batch rewrites it)

    # --- inputs ----------------------------------------------------------------
    def on_item(self, item: QueueItem, now: float) -> list:
        self.last_now = now
        if isinstance(item, IdleTimeout):
            port = item.port
            self.log.event("idle_detach", access_port=port)
            return self.core.handle(MnDetached(None, port), now)
        if isinstance(item, LinkChanged):
            port, up = item.port, item.up
            self.log.event("link_up" if up else "link_down", access_port=port)
            if not up:
                return self.core.handle(MnDetached(None, port), now)
            mn_id = self.ports[port].mn_id  # the port's MN, when configured
            mac = self.mn_mac.get(mn_id) if mn_id is not None else None
            if mac is not None:  # the core serves this MN on the port from now on
                self.port_mac[port] = mac
            return self.core.handle(AccessLinkUp(port, self.ports[port].att, mn_id, mac), now)
        if not isinstance(item, PacketIn):
            return []
        pkt = item.packet
        try:
            reason, port = pkt["punt_reason"], pkt["ingress_port"]
        except KeyError:
            return []
        if reason == PuntReason.PUNT_RULE:
            return self._on_nd(pkt.payload, port, now)
        if self.clear_signaling_refused(pkt, reason):
            return []
        try:
            msg, src, dst = parse_mh_frame(pkt.payload)
        except FrameError as exc:  # RFC 6275 §9.2
            self.metrics.mh_discarded.inc()
            self.log.event("mh_discarded", error=str(exc))
            return []
        if not isinstance(msg, BindingAck):
            self.log.event("mh_ignored", mh_type=int(msg.mh_type), src=src)
            return []
        self.metrics.pba_rx.labels(str(int(msg.status))).inc()
        self.log.event("pba_rx", src=src, **mh_fields(msg))
        return self.core.handle(PbaReceived(msg, src, dst), now)

    def _on_nd(self, frame: bytes, port: int, now: float) -> list:
        if port not in self.ports:
            return []
        try:
            nd = decode_frame(frame)
        except NdDecodeError:  # not ND: the first traffic of an MN on an unserved port
            return self._on_traffic(frame, port, now)
        if isinstance(nd, NeighborSolicitation):
            reply = na_frame(nd, self.router_ll, self.router_mac)
            if reply is not None:
                self._send_direct(reply, port)
            return []
        assert isinstance(nd, RouterSolicitation)
        mn_id = self.cfg.mn_macs.get(nd.src_mac)
        self.log.event("rs_rx", access_port=port, mac=mac_str(nd.src_mac), mn_id=mn_id)
        if mn_id is None:  # RFC 5213 §6.2: no policy profile, not served
            return []
        self.port_mac[port] = nd.src_mac
        return self.core.handle(RouterSolicitationReceived(port, nd.src, mn_id=mn_id, mn_ll_id=nd.src_mac,
                                                           att=self.ports[port].att), now)

    def _on_traffic(self, frame: bytes, port: int, now: float) -> list:
        """A frame the port's attach punt sent up: from a known MN, the core decides."""
        mn_id = self.cfg.mn_macs.get(frame[6:12]) if len(frame) >= 14 else None
        if mn_id is None:
            return []
        if self.core.entry(port) is None:
            self.port_mac[port] = frame[6:12]
            self.log.event("attach_by_traffic", access_port=port, mac=mac_str(frame[6:12]), mn_id=mn_id)
        return self.core.handle(MnTrafficSeen(port, mn_id, frame[6:12], self.ports[port].att, frame), now)

    def _send_direct(self, frame: bytes, port: int) -> None:
        if self.switch is not None:
            self.send_soon([self.make_packet_out(frame, port, through_pipeline=False)])

    # --- core plumbing -----------------------------------------------------------
    def core_timer(self, now: float) -> list:
        self.last_now = now
        return self.core.handle_timer(now)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    def changes_for(self, action: Any) -> list[Change]:
        return mag_changes(action, self.router_mac)

    def packet_outs(self, action: Any) -> list[P4PacketOut]:
        if isinstance(action, HoldUplink):
            self.buffer.hold(action.access_port, action.frame, self.last_now)
            return []
        if isinstance(action, ReleaseUplink):  # held uplink packets into the new tunnel
            held = self.buffer.release(action.access_port, action.hnps, self.last_now)
            route = next((r for r in self.cfg.routes if action.lma_address in r.prefix), None)
            if not held or route is None:
                return []
            self.log.event("attach_buffer_flushed", access_port=action.access_port, frames=len(held))
            smac, dmac = (bytes.fromhex(m.replace(":", "")) for m in (route.src_mac, route.dst_mac))
            return [self.make_packet_out(encapsulate(f, action.proxy_coa, action.lma_address, smac, dmac),
                                         route.port, through_pipeline=False) for f in held]
        if isinstance(action, MagBindingRemoved):
            self.buffer.forget(action.access_port)
        return super().packet_outs(action)

    def packet_out(self, action: Any) -> P4PacketOut | None:
        if isinstance(action, SendMh):
            return self.make_packet_out(mh_frame(action.message, action.src, action.dst))
        if isinstance(action, SendRouterAdvertisement):
            self.log.event("ra_tx", access_port=action.access_port, mn_id=action.mn_id,
                           router_lifetime=action.router_lifetime,
                           prefixes=[str(p.prefix) for p in action.prefixes])
            frame = ra_frame(action, self.router_mac, self.port_mac.get(action.access_port))
            return self.make_packet_out(frame, action.access_port, through_pipeline=False)
        return None

    def extra_tasks(self) -> list:
        watched = {p.port: p.ifname for p in self.cfg.access_ports if p.ifname}
        tasks = [self._watch_links(watched)] if watched else []
        if self.cfg.detach_timeout is not None:
            tasks.append(self._watch_idle(self.cfg.detach_timeout))
        return tasks

    async def _watch_idle(self, timeout: float) -> None:
        """Configured detach timeout: no uplink packet from a served MN for
        ``timeout`` seconds (its binding_uplink_counter stands still) = detached."""
        seen: dict[int, tuple[int, float]] = {}
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            switch = self.switch
            if switch is None:
                continue
            now = time.time()
            served = {v.access_port for v in self.core.binding_update_list() if v.installed}
            for port in list(seen):
                if port not in served:
                    del seen[port]
            for port in served:
                try:
                    count = 0
                    async for c in switch.read(P4CounterEntry("binding_uplink_counter", index=port)):
                        count = c.packet_count
                except Exception:  # noqa: BLE001 - try again next round
                    continue
                last = seen.get(port)
                if last is None or count != last[0]:
                    seen[port] = (count, now)
                elif now - last[1] >= timeout:
                    del seen[port]
                    self.queue.put_nowait(IdleTimeout(port))

    async def _watch_links(self, watched: dict[int, str]) -> None:
        """Carrier of the access interfaces from rtnetlink in this namespace: up is a
        link-layer attach (RFC 5213 §6.9.1.1), down the MN leaving (§6.9.1.4)."""
        ports = {ifname: port for port, ifname in watched.items()}
        links = PortLinks(ports)
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        try:
            sock, rtnl = open_events(nl.RTMGRP_LINK), Rtnl()  # subscribed before the dump: nothing lost
        except OSError as exc:
            self.log.event("link_watch_error", error=exc.strerror)
            await asyncio.Event().wait()  # no carrier events: RS, traffic and timeouts still work
        loop.add_reader(sock.fileno(), ready.set)
        try:
            self._links_changed(ports, self._dump_links(links, rtnl))
            while True:
                await ready.wait()
                ready.clear()
                self._links_changed(ports, self._read_links(sock, links, rtnl))
        finally:
            loop.remove_reader(sock.fileno())
            sock.close()
            rtnl.close()

    def _dump_links(self, links: PortLinks, rtnl: Rtnl) -> list[tuple[str, bool]]:
        try:
            return links.resync(rtnl.dump(nl.dump_links))
        except (OSError, nl.NetlinkError) as exc:
            self.log.event("link_watch_error", error=str(exc))
            return []

    def _read_links(self, sock: Any, links: PortLinks, rtnl: Rtnl) -> list[tuple[str, bool]]:
        changes: list[tuple[str, bool]] = []
        while True:
            try:
                data = sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return changes
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    self.log.event("link_watch_error", error=exc.strerror)
                    return changes
                self.log.event("netlink_overrun", note="notifications lost: resynchronising from a dump")
                changes += self._dump_links(links, rtnl)
                continue
            try:
                for msg in nl.parse(data):
                    changes += links.feed(msg)
            except nl.NetlinkError as exc:
                self.log.event("netlink_malformed", error=str(exc))

    def _links_changed(self, ports: dict[str, int], changes: list[tuple[str, bool]]) -> None:
        for ifname, up in changes:
            self.queue.put_nowait(LinkChanged(ports[ifname], up))

    def counter_indices(self) -> list[int]:
        return sorted({v.access_port for v in self.core.binding_update_list()})

    def update_gauges(self) -> None:
        self.metrics.bindings.set(len(self.core.binding_update_list()))

    def show(self, what: str) -> dict:
        if what == "bindings":
            return {"ok": True, **bul_table(self.core.binding_update_list(), time.time())}
        if what == "peers":
            return {"ok": True, **peer_table(self.core.tunnel_peers())}
        return {"ok": False, "error": f"unknown: {what}"}


__all__ = ["MagNode"]
