"""The mobile-node daemon (`p4mob mn run -c mn.toml`): asyncio around the MN core.

Rule: an adapter (aioquic's protocol.py shape). It turns rtnetlink changes
of the access interfaces into AddressAdded/AddressRemoved/InterfaceDown
(access_watch.py), received signalling into BaReceived/BrrReceived/
BeReceived/PrefixAdvertisementReceived (mn_datapath.py), a control-socket
`prefixes` request with ``solicit`` into PrefixSolicitationRequested,
SIGTERM/SIGINT into StopRequested; feeds each
to ``MobileNode.handle(event, loop.time())``, applies the returned actions
in order, and re-arms one timer from ``next_deadline()`` (the core's and
the SAs' lifetimes). It decides no protocol question: tunnels, addresses and
routes change only as actions say. The Sequence Number is written before a
BU that uses it leaves (mn_state.py). A second signal exits at once; the
core's Stopped (every binding de-registered or given up) exits normally.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import secrets
import signal
import socket
import time
from pathlib import Path
from typing import Any

from p4mobility.ipsec import CryptoPath
from p4mobility.mip import (AtHome, Deregistered, FlowsMoved, HomeAddressAssigned, HomeAddressReleased,
                            HomePrefixesLearned, Keepalive, LogEvent, MobileNode, PrefixDiscoveryNeeded,
                            Registered, RegistrationFailed, SendMh,
                            SendPrefixSolicitation, StopRequested, Stopped, TunnelChanged)
from p4mobility.mip.data_tunnels import DataTunnels
from p4mobility.mip.path import Path as MipPath

from . import mn_control
from .mn_control import path_fields
from . import netlink as nl
from .access_watch import AccessWatch
from .control import serve_control
from .crypto_port import DropLog
from .logs import EventLog
from .mn_config import MnNodeConfig
from .mn_datapath import MnDatapath
from .mn_state import SequenceFile, StateFileError
from .mn_wire import AccessPort, Sinks
from .rtnl import RECV_SIZE, Rtnl, open_events
from .seqstore import SequenceStore
from .tun import TunConfig, TunDevice

BATCH = 64  # packets per wakeup and socket


class MnNode:
    role = "mn"

    def __init__(self, cfg: MnNodeConfig, log: EventLog | None = None) -> None:
        self.cfg = cfg
        self.log = log or EventLog(cfg.node.name)
        self.seqfile = SequenceFile(cfg.node.state_file)  # StateFileError: refuse to start
        self.mn = MobileNode(cfg.mn, sequence=self.seqfile.load(), identifier_seed=secrets.randbits(16))
        self.crypto = CryptoPath(cfg.ipsec.build_sad(time.monotonic()), cfg.ipsec.spd)
        self.esp_store = SequenceStore(cfg.node.esp_state_file)  # RFC 4303 §3.3.3, manual keys
        self.resumed = self.esp_store.attach(self.crypto.sad)  # SeqStoreError: refuse to start
        self.tunnels = DataTunnels()
        self.drops = DropLog(self.log, event="mn_drop")
        self.datapath = MnDatapath(cfg.mn, self.crypto, self.tunnels, self.esp_store, self.drops.drop)
        self.watch = AccessWatch(cfg.interfaces, cfg.tunnel.name)
        self.ports: dict[str, AccessPort] = {}
        self.stopping = False
        self._ipv4: tuple[Any, int] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._done: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handlers = {
            SendMh: self._send_mh, SendPrefixSolicitation: self._send_mps, HomePrefixesLearned: self._prefixes,
            TunnelChanged: self._tunnel_changed, HomeAddressAssigned: self._ipv4_assigned,
            HomeAddressReleased: self._ipv4_released, Stopped: self._stopped, LogEvent: self._core_log,
            FlowsMoved: self._note, Keepalive: self._note, Registered: self._note, Deregistered: self._note,
            RegistrationFailed: self._note, PrefixDiscoveryNeeded: self._note, AtHome: self._note,
        }

    # --- feeding the core ----------------------------------------------------------------

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else time.monotonic()

    def feed(self, event: Any) -> None:
        self._apply(self.mn.handle(event, self.now()))
        self._arm_timer()

    def _apply(self, actions: list) -> None:
        blocked = False
        if any(isinstance(a, SendMh) for a in actions):
            try:  # RFC 6275 §9.5.1: written before the BU that uses it leaves
                self.seqfile.save(self.mn.sequence)
            except StateFileError as exc:
                blocked = True
                self.log.event("state_error", error=str(exc))
        for a in actions:
            if blocked and isinstance(a, SendMh):
                self.datapath.counters["bu_not_persisted"] += 1
                continue
            self._handlers.get(type(a), self._note)(a)

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = [d for d in (self.mn.next_deadline(), self.crypto.next_deadline()) if d is not None]
        if due and self._loop is not None and not self._done.is_set():
            self._timer = self._loop.call_at(min(due), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = self.now()
        for ev in self.crypto.handle_timer(now):
            self.log.event("ipsec_event", kind=type(ev).__name__, spi=f"0x{getattr(ev, 'spi', 0):08x}")
        deadline = self.mn.next_deadline()
        if deadline is not None and deadline <= now:
            self._apply(self.mn.handle_timer(now))
        self._arm_timer()

    # --- actions -------------------------------------------------------------------------

    def _send_mh(self, a: SendMh) -> None:
        out = self.datapath.signalling(a, self.now())
        self.log.event("bu_sent" if out else "bu_not_sent", seq=a.message.sequence, lifetime=a.message.lifetime,
                       path=path_fields(a.path), bids=list(a.bids))
        if out is not None:
            self._send(*out)

    def _send_mps(self, a: SendPrefixSolicitation) -> None:
        out = self.datapath.signalling(a, self.now())
        self.log.event("mps_sent" if out else "mps_not_sent", identifier=a.message.identifier,
                       path=path_fields(a.path))
        if out is not None:
            self._send(*out)

    def _prefixes(self, a: HomePrefixesLearned) -> None:
        now = self.now()
        self.log.event("home_prefixes", identifier=a.identifier, home_address_covered=a.home_address_covered,
                       prefixes=[mn_control.prefix_row(p, now, self.cfg.mn.home_address) for p in a.prefixes])

    def _tunnel_changed(self, a: TunnelChanged) -> None:
        self.tunnels.apply(a)
        self.log.event("tunnel_changed", bid=a.bid, tunnel=path_fields(a.tunnel), previous=path_fields(a.previous),
                       reason=a.reason)
        self._routes()

    def _ipv4_assigned(self, a: HomeAddressAssigned) -> None:
        if self._ipv4 is not None and self._ipv4 != (a.address, a.prefix_length):
            self._ipv4_released(HomeAddressReleased(self._ipv4[0], "replaced"))
        self.datapath.ipv4_home_address = a.address
        self._ipv4 = (a.address, a.prefix_length)
        self._rtnl_call("ipv4_home_address", self.tunconf.add_address, a.address, a.prefix_length)
        self.log.event("home_address_assigned", address=str(a.address), prefix_length=a.prefix_length)
        self._routes()

    def _ipv4_released(self, a: HomeAddressReleased) -> None:
        self.datapath.ipv4_home_address = None
        if self._ipv4 is not None:
            self._rtnl_call("ipv4_route", self.tunconf.set_default_route, None, socket.AF_INET)
            self._rtnl_call("ipv4_home_address", self.tunconf.remove_address, *self._ipv4)
            self._ipv4 = None
        self.log.event("home_address_released", address=str(a.address), reason=a.reason)

    def _routes(self) -> None:
        """Default routes via the tunnel interface while a data tunnel exists."""
        registered = bool(self.tunnels)
        self._rtnl_call("ipv6_route", self.tunconf.set_default_route,
                        self.cfg.mn.home_address if registered else None, socket.AF_INET6)
        self._rtnl_call("ipv4_route", self.tunconf.set_default_route,
                        self._ipv4[0] if registered and self._ipv4 else None, socket.AF_INET)

    def _rtnl_call(self, what: str, fn, *args: Any) -> None:
        try:
            fn(*args)
        except OSError as exc:
            self.log.event("tunnel_config_error", what=what, error=exc.strerror or str(exc))

    def _stopped(self, a: Stopped) -> None:
        self.log.event("stopped")
        self._done.set()

    def _core_log(self, a: LogEvent) -> None:
        self.log.event("core", level=a.level, message=a.message, **dict(getattr(a, "fields", None) or {}))

    def _note(self, a: Any) -> None:
        """An action that is only reported: one log line named after it, its fields as text."""
        fields = {}
        for f in a.__slots__:
            v = getattr(a, f)
            fields[f] = path_fields(v) if isinstance(v, MipPath) else (
                v if v is None or isinstance(v, (int, float, str, bool)) else str(v))
        name = type(a).__name__
        self.log.event("".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_"), **fields)

    # --- I/O -------------------------------------------------------------------------------

    def _send(self, interface: str, packet: bytes) -> None:
        port = self.ports.get(interface)
        if port is None:
            self.datapath.drop(self.now(), "interface_gone", interface=interface)
            return
        try:
            port.send(packet)
            self.datapath.counters["wire_out"] += 1
        except OSError as exc:
            self.datapath.drop(self.now(), "send_failed", interface=interface, error=exc.strerror)

    def _on_tun(self) -> None:
        now = self.now()
        for _ in range(BATCH):
            packet = self.tun.read()
            if packet is None:
                break
            try:
                out = self.datapath.from_tunnel_interface(packet, now)
            except Exception as exc:  # noqa: BLE001 - a bug must not stop the daemon: count, log, drop
                self.datapath.drop(now, "internal_error", error=repr(exc)[:200])
                continue
            if out is not None:
                self._send(*out)

    def _on_port(self, name: str) -> None:
        port = self.ports.get(name)
        if port is None:
            return
        local = self.watch.addresses(name) | {p.coa for p in self.tunnels.paths().values()}
        for packet in port.receive(BATCH):
            try:
                got = self.datapath.from_access(packet, local, self.now())
            except Exception as exc:  # noqa: BLE001 - a bug must not stop the daemon: count, log, drop
                self.datapath.drop(self.now(), "internal_error", error=repr(exc)[:200])
                continue
            if isinstance(got, bytes):
                try:
                    self.tun.write(got)
                    self.datapath.counters["tun_out"] += 1
                except OSError as exc:
                    self.datapath.drop(self.now(), "tun_write", error=exc.strerror)
            elif got is not None:
                self.log.event("signalling_received", kind=type(got).__name__, seq=getattr(got.message, "sequence", None),
                               status=getattr(got.message, "status", None),
                               identifier=getattr(got.message, "identifier", None))
                self.feed(got)

    def _on_netlink(self) -> None:
        events: list = []
        while True:
            try:
                data = self.events_sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    self.log.event("netlink_error", error=exc.strerror)
                    break
                self.log.event("netlink_overrun", note="notifications lost: resynchronising from a dump")
                try:
                    events += self.watch.resync(self.rtnl.dump_all())
                except (OSError, nl.NetlinkError) as err:
                    self.log.event("netlink_error", error=str(err))
                continue
            try:
                messages = nl.parse(data)
            except nl.NetlinkError as exc:
                self.log.event("netlink_malformed", error=str(exc))
                continue
            for m in messages:
                events += self.watch.feed(m)
        self._access_events(events)

    def _access_events(self, events: list) -> None:
        self._sync_ports()
        for ev in events:
            address = getattr(ev, "address", None)
            self.log.event("access_event", kind=type(ev).__name__, interface=ev.interface,
                           address=None if address is None else str(address))
            self.feed(ev)

    def _sync_ports(self) -> None:
        """An access port per watched interface present (reopened if its ifindex changed)."""
        links = self.watch.links()
        for name in [n for n, p in self.ports.items() if links.get(n) != p.index]:
            port = self.ports.pop(name)
            self._loop.remove_reader(port.rx.fileno())
            port.close()
            self.log.event("access_port_closed", interface=name)
        for name, index in links.items():
            if name in self.ports:
                continue
            try:
                port = AccessPort(name, index, self.cfg.mn.home_agent, self.cfg.mn.home_agent_ipv4)
            except OSError as exc:
                self.log.event("access_port_error", interface=name, error=exc.strerror)
                continue
            self.ports[name] = port
            self._loop.add_reader(port.rx.fileno(), self._on_port, name)
            self.log.event("access_port_opened", interface=name, ifindex=index)

    def _on_signal(self) -> None:
        if self.stopping:
            self.log.event("stop_forced")
            self._done.set()
            return
        self.stopping = True
        self.log.event("stop_requested")
        self.feed(StopRequested())  # RFC 6275 §11.7.2: de-register, then Stopped

    # --- operator ------------------------------------------------------------------------

    def status(self) -> dict:
        return mn_control.status(self)

    def handle_control(self, req: dict) -> dict:
        return mn_control.answer(self, req)

    # --- running -------------------------------------------------------------------------

    async def run(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        stack = contextlib.ExitStack()
        with stack:
            self.rtnl = Rtnl()
            stack.callback(self.rtnl.close)
            self.events_sock = open_events()  # before the dump: nothing is lost in between
            stack.callback(self.events_sock.close)
            self.tun = TunDevice(self.cfg.tunnel.name)
            stack.callback(self.tun.close)  # the device, its addresses and routes go with it
            self.tunconf = TunConfig(self.rtnl, self.tun, self.cfg.tunnel.mtu, self.cfg.tunnel.route_metric)
            self.tunconf.add_address(self.cfg.mn.home_address, 128)
            sinks = Sinks(self.cfg.mn.mn_udp_port)
            stack.callback(sinks.close)
            sock_path = Path(self.cfg.node.control_socket)
            server = await serve_control(str(sock_path), self.handle_control)
            stack.callback(lambda: sock_path.unlink(missing_ok=True))
            stack.callback(server.close)
            stack.callback(self._close_ports)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._on_signal)
                stack.callback(loop.remove_signal_handler, sig)
            loop.add_reader(self.tun.fd, self._on_tun)
            stack.callback(loop.remove_reader, self.tun.fd)
            loop.add_reader(self.events_sock.fileno(), self._on_netlink)
            stack.callback(loop.remove_reader, self.events_sock.fileno())
            self.log.event("mn_start", home_address=str(self.cfg.mn.home_address), tunnel=self.tun.name,
                           interfaces=list(self.cfg.interfaces), sequence=self.mn.sequence,
                           esp_resumed={str(k): v for k, v in self.resumed.items()},
                           sink_problems=sinks.problems, control_socket=str(sock_path))
            self._access_events([e for m in self.rtnl.dump_all() for e in self.watch.feed(m)])
            await self._done.wait()
        if self._timer is not None:
            self._timer.cancel()
        self.log.event("mn_stop", sequence=self.mn.sequence, counters=dict(self.datapath.counters))

    def _close_ports(self) -> None:
        for name in list(self.ports):
            port = self.ports.pop(name)
            with contextlib.suppress(Exception):
                self._loop.remove_reader(port.rx.fileno())
            port.close()


BINDING_COLUMNS = mn_control.BINDING_COLUMNS

__all__ = ["MnNode", "BINDING_COLUMNS", "path_fields"]
