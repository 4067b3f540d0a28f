"""The host-side crypto path on the switch's CRYPTO_PORT veth (docs/ipsec.md, docs/dataplane.md).

Rule: an asyncio adapter, no IPsec rules. PACKET_MMAP RX/TX rings on the
interface (packet_ring.py: no syscall per frame, one send() per FLUSH_EVERY
answers), or where the kernel refuses them (logged) one non-blocking AF_PACKET
socket; each wakeup drains at most ``batch`` frames. ``PortPath`` (ipsec/portpath.py)
answers the common frame shape in one step; everything else takes the reference
below (split, CryptoPath, encode_reply), which gives the same bytes.
Frames that are not EtherType 0x88B5, that carry a result direction
(DECRYPTED/ENCRYPTED) or that we sent ourselves are ignored; a malformed
0x88B5 frame is counted in ``bad_frames``. DECRYPT goes to
``CryptoPath.process_inbound``, ENCRYPT to ``process_outbound``, both with the
switch's sa_index and ``now``; Accepted/Protected go back on the same port as
DECRYPTED/ENCRYPTED (portframe.encode_reply), Dropped is counted and logged
(rate-limited per reason) and nothing is sent (dataplane.md: a packet that
fails is not returned). The lifetime timer is ``path.handle_timer(now)``,
re-armed from ``path.next_deadline()``; rekey events are logged.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import signal
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

from p4mobility.ipsec import CryptoPath
from p4mobility.ipsec.config import load_config
from p4mobility.binding.confread import FILE_KEY
from p4mobility.ipsec.errors import IpsecConfigError, NoOutboundSa, UnknownSpi
from p4mobility.ipsec.events import (Accepted, Dropped, Event, IcvFailure, Protected, RekeyHard,
                                     RekeySoft, ReplayDrop, SequenceOverflowEvent)
from p4mobility.ipsec.portpath import PortPath
from p4mobility.ipsec.portframe import (ETHERTYPE_CRYPTO_META, CryptoDirection, PortFrameError,
                                        encode_reply, split)
from p4mobility.ipsec.sa import Sa, SaCounters
from p4mobility.runtime.control import serve_control
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.drop_log import DropLog
from p4mobility.runtime.packet_ring import PACKET_IGNORE_OUTGOING, SOL_PACKET, PacketRing, RingUnavailable
from p4mobility.runtime.seqstore import SequenceStore

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MAX_FRAME = 65535
RCVBUF = 4 << 20  # bounded socket queue; the kernel drops beyond it
DEFAULT_BATCH = 256
FLUSH_EVERY = 16  # TX ring: send() after this many answers (and at the end of each batch)

SA_COLUMNS = ["index", "spi", "dir", "src", "dst", "mode", "algo", "packets", "bytes",
              "replay_drops", "icv_failures", "other_drops"]
_OTHER_DROPS = tuple(f.name for f in dataclasses.fields(SaCounters)
                     if f.name not in ("packets", "bytes", "replay_drops", "icv_failures"))
_ETHERTYPE_BYTES = ETHERTYPE_CRYPTO_META.to_bytes(2, "big")
_DECRYPT, _ENCRYPT = int(CryptoDirection.DECRYPT), int(CryptoDirection.ENCRYPT)


def _sa_index(frame: bytes) -> int:
    return int.from_bytes(frame[14:18], "big")


class CryptoPortError(Exception):
    """The interface or the control socket cannot be opened (missing, no permission)."""


def sa_row(sa: Sa) -> list[Any]:
    c = sa.counters
    algo = sa.aead.name if sa.aead else "+".join(a.name for a in (sa.enc, sa.auth) if a)
    return [sa.index, f"0x{sa.spi:08x}", str(sa.dir), sa.src, sa.dst, str(sa.mode), algo,
            c.packets, c.bytes, c.replay_drops, c.icv_failures,
            sum(getattr(c, name) for name in _OTHER_DROPS)]


def open_packet_socket(ifname: str) -> tuple[socket.socket, bool]:
    """Non-blocking AF_PACKET socket bound to ``ifname`` in the current namespace, and
    whether the kernel keeps our own transmissions out of it (PACKET_IGNORE_OUTGOING)."""
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    except OSError as exc:
        raise CryptoPortError(f"cannot open a packet socket: {exc.strerror} (needs root)") from None
    try:
        sock.bind((ifname, 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            ignores_outgoing = True
        except OSError:  # kernels before 4.20: filtered by PACKET_OUTGOING per frame
            ignores_outgoing = False
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise CryptoPortError(f"cannot bind to interface {ifname!r}: {exc.strerror}") from None
    return sock, ignores_outgoing


class CryptoPortNode:
    """One crypto-path process: a ``CryptoPath`` from an ipsec TOML, on one interface."""

    role = "crypto"

    def __init__(self, config_path: str, ifname: str, control_socket: str | None = None,
                 log: EventLog | None = None, batch: int = DEFAULT_BATCH, state: str | None = None,
                 shortcut: bool = True, io: str = "ring") -> None:
        cfg = load_config(config_path)  # IpsecConfigError for every problem
        try:  # the digest lets the controllers check they program the same file
            self.config_digest = hashlib.sha256(Path(config_path).read_bytes()).hexdigest()
        except OSError as exc:
            raise IpsecConfigError(FILE_KEY, f"cannot read: {exc.strerror}") from None
        self.path = CryptoPath(cfg.build_sad(time.monotonic()), cfg.spd)
        self.ifname, self.control_socket = ifname, control_socket
        self.log = log or EventLog("crypto")
        self.drop_log = DropLog(self.log)
        self.batch = max(1, batch)
        self.frames_in = self.frames_out = self.bad_frames = 0
        self.unknown_sa = self.tx_errors = self.wakeups = 0
        self.drops: Counter[str] = Counter()
        self._sock: socket.socket | None = None
        self.io = io  # "ring" (PACKET_MMAP, packet_ring.py) or "socket": what run() opened
        self._ring: PacketRing | None = None
        self._ignores_outgoing = False
        self._timer: asyncio.TimerHandle | None = None
        self._stop: asyncio.Event | None = None
        self._inbound, self._outbound = self.path.process_inbound, self.path.process_outbound
        self._rekeyed = False
        # RFC 4303 §3.3.3: with manual keys the sender counter must survive restarts
        self.seqstore = SequenceStore(state) if state else None
        self.resumed = self.seqstore.attach(self.path.sad) if self.seqstore else {}
        if self.seqstore is not None:
            self._outbound = self._outbound_persisted
        # the common frame shape in one step (portpath.py); the reference below for the rest
        self.portpath = PortPath(self.path, self.seqstore.before_seal if self.seqstore else None)
        self._answer = self.portpath.answer if shortcut else None

    # --- the hot path --------------------------------------------------------------------------
    def on_readable(self) -> None:
        """Drain up to ``batch`` frames (loop.add_reader callback); answer each at once."""
        sock = self._sock
        if sock is None:
            return
        # recv() skips the address tuple recvfrom() builds, when the kernel filters our frames
        recv = sock.recv if self._ignores_outgoing else self._recv_not_own
        send, handle = sock.send, self.handle_frame
        now = time.monotonic()
        self.wakeups += 1
        for _ in range(self.batch):
            try:
                frame = recv(MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # interface went down: keep running, log once per interval
                self.drop_log.drop(now, "socket_error", error=exc.strerror)
                break
            reply = handle(frame, now)
            if reply is not None:
                try:
                    send(reply)
                    self.frames_out += 1
                except OSError as exc:  # queue full, link down: the packet is lost
                    self.tx_errors += 1
                    self.drop_log.drop(now, "send_failed", error=exc.strerror)
        if self._rekeyed:
            self._rekeyed = False
            self._arm_timer()

    def on_readable_ring(self) -> None:
        """``on_readable`` over the PACKET_MMAP rings: the frames waiting in the RX ring, the
        replies into the TX ring, one send() for all of them."""
        ring = self._ring
        if ring is None:
            return
        now = time.monotonic()
        self.wakeups += 1
        handle, queue, flush_every = self.handle_frame, ring.queue, FLUSH_EVERY
        queued = 0
        frames = ring.recv_batch(self.batch)
        if not frames:  # woken without a frame: the link went down (poll reports the error)
            err = ring.take_error()
            if err:
                self.drop_log.drop(now, "socket_error", error=os.strerror(err))
            return
        budget = self.batch
        while frames:  # what arrived meanwhile too (answers flushed early bring more), up to batch
            budget -= len(frames)
            for frame in frames:
                reply = handle(frame, now)
                if reply is not None:
                    if queue(reply):
                        queued += 1
                        if ring.queued >= flush_every:  # let the switch have the first answers early
                            self._flush(ring, queued, now)
                            queued = 0
                    else:  # longer than the MTU, or the TX ring is full: the packet is lost
                        self.tx_errors += 1
                        self.drop_log.drop(now, "send_failed", error="no TX ring slot or frame too long")
            frames = ring.recv_batch(budget) if budget > 0 else None
        self._flush(ring, queued, now)
        if self._rekeyed:
            self._rekeyed = False
            self._arm_timer()

    def _flush(self, ring: PacketRing, queued: int, now: float) -> None:
        try:
            ring.flush()
            self.frames_out += queued
        except OSError as exc:  # link down: the packets are lost
            self.tx_errors += queued
            self.drop_log.drop(now, "send_failed", error=exc.strerror)

    def _open_port(self) -> int:
        """The ring if asked and the kernel allows it, else a plain socket; returns the fd to watch."""
        if self.io == "ring":
            try:
                self._ring = PacketRing(self.ifname)
                return self._ring.fileno()
            except RingUnavailable as exc:
                self.log.event("crypto_io", io="socket", reason=f"no PACKET_MMAP ring: {exc.strerror}")
            except OSError as exc:
                raise CryptoPortError(f"cannot open a packet ring on {self.ifname!r}: {exc.strerror}") from None
        self.io = "socket"
        self._sock, self._ignores_outgoing = open_packet_socket(self.ifname)
        return self._sock.fileno()

    def _recv_not_own(self, size: int) -> bytes:
        frame, addr = self._sock.recvfrom(size)
        return b"" if addr[2] == PACKET_OUTGOING else frame  # b"": ignored by handle_frame

    def handle_frame(self, frame: bytes, now: float) -> bytes | None:
        """One frame from the switch -> the reply frame, or None (ignored, malformed, dropped)."""
        if self._answer is not None:
            try:
                r = self._answer(frame, now)
            except Exception as exc:  # as below: a bug (or the sequence store) must not stop the port
                self.frames_in += 1
                return self._internal_error(frame, now, exc)
            if r is not None:
                self.frames_in += 1
                pp = self.portpath
                if pp.events:
                    self._rekeyed |= self._events(pp.events)
                    pp.events.clear()
                if r.__class__ is bytes:
                    return r
                if r.events:
                    self._rekeyed |= self._events(r.events)
                self._dropped(r, frame[18], _sa_index(frame), now)
                return None
        return self.handle_frame_reference(frame, now)

    def handle_frame_reference(self, frame: bytes, now: float) -> bytes | None:
        """``handle_frame`` without the portpath shortcut: split, CryptoPath, encode_reply."""
        if frame[12:14] != _ETHERTYPE_BYTES:
            return None  # not for us (ND noise)
        try:
            sa_index, direction, port, packet = split(frame)
        except PortFrameError as exc:
            self.bad_frames += 1
            self.drop_log.drop(now, "bad_frame", error=str(exc))
            return None
        if direction != _DECRYPT and direction != _ENCRYPT:
            return None  # a result direction: not ours to answer
        self.frames_in += 1
        try:
            if direction == _DECRYPT:
                r = self._inbound(packet, sa_index, now)
                ok = r.__class__ is Accepted
            else:
                r = self._outbound(packet, sa_index, now)
                ok = r.__class__ is Protected
        except Exception as exc:  # a bug in the core must not stop the port: count, log, drop
            return self._internal_error(frame, now, exc)
        if r.events:
            self._rekeyed |= self._events(r.events)
        if not ok:
            self._dropped(r, direction, sa_index, now)
            return None
        try:
            return encode_reply(frame, sa_index, port, direction, r.packet)
        except PortFrameError as exc:  # tunnel inner that is not IP (only without selectors / SPD)
            self.drops["NotIp"] += 1
            self.drop_log.drop(now, "NotIp", sa_index=sa_index, error=str(exc))
            return None

    def _internal_error(self, frame: bytes, now: float, exc: Exception) -> None:
        self.drops["InternalError"] += 1
        self.drop_log.drop(now, "InternalError", sa_index=_sa_index(frame), error=repr(exc)[:200])

    def _outbound_persisted(self, packet: bytes, sa_index: int, now: float) -> Any:
        sa = self.path.sad.get(sa_index)
        if sa is not None:
            self.seqstore.before_seal(sa)  # SeqStoreError: counted as an internal error, not sent
        return self.path.process_outbound(packet, sa_index, now)

    def _dropped(self, r: Dropped, direction: int, sa_index: int, now: float) -> None:
        reason = type(r.error)
        self.drops[reason.__name__] += 1
        if r.sa_index is None and reason in (UnknownSpi, NoOutboundSa):
            self.unknown_sa += 1
        self.drop_log.drop(now, reason.__name__, sa_index=sa_index,
                           direction=CryptoDirection(direction).name, audit=reason.audit,
                           error=str(r.error)[:200])

    def _events(self, events: tuple[Event, ...] | list[Event]) -> bool:
        """Log rekey events; True when a lifetime changed (the timer needs re-arming)."""
        rekey = False
        for ev in events:
            if isinstance(ev, (RekeySoft, RekeyHard)):
                rekey = True
                self.log.event("rekey", sa_index=ev.sa_index, spi=f"0x{ev.spi:08x}", reqid=ev.reqid,
                               reason=ev.reason, hard=isinstance(ev, RekeyHard))
            elif isinstance(ev, SequenceOverflowEvent):
                rekey = True
                self.log.event("rekey", sa_index=ev.sa_index, spi=f"0x{ev.spi:08x}", reqid=ev.reqid,
                               reason="sequence_overflow", hard=True)
            elif not isinstance(ev, (ReplayDrop, IcvFailure)):  # those are crypto_drop lines
                self.log.event("crypto_event", kind=type(ev).__name__)
        return rekey

    # --- timer ---------------------------------------------------------------------------------
    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.path.next_deadline()
        if deadline is not None and self._stop is not None:
            self._timer = asyncio.get_running_loop().call_at(max(deadline, 0.0), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._events(self.path.handle_timer(time.monotonic()))
        self._arm_timer()

    # --- control socket ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {"ok": True, "role": self.role, "sas": len(self.path.sad), "config_digest": self.config_digest,
                "unknown_sa": self.unknown_sa, "frames_in": self.frames_in, "frames_out": self.frames_out,
                "bad_frames": self.bad_frames, "io": self.io}

    def handle_control(self, req: dict) -> dict:
        cmd = req.get("cmd")
        if cmd == "status":
            return self.status()
        if cmd == "show" and req.get("what") == "sas":
            return {"ok": True, "columns": list(SA_COLUMNS), "rows": [sa_row(sa) for sa in self.path.sad]}
        if cmd == "show" and req.get("what") == "drops":
            return {"ok": True, "drops": dict(self.drops), "tx_errors": self.tx_errors, "wakeups": self.wakeups}
        return {"ok": False, "error": f"unknown request {cmd!r} (status; show sas|drops)"}

    # --- running -------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        fd = self._open_port()
        server = None
        started = False
        try:
            loop.add_reader(fd, self.on_readable_ring if self._ring is not None else self.on_readable)
            if self.control_socket:
                try:
                    server = await serve_control(self.control_socket, self.handle_control)
                except OSError as exc:
                    raise CryptoPortError(f"cannot serve the control socket {self.control_socket}: "
                                          f"{exc.strerror}") from None
            self._arm_timer()
            self.log.event("crypto_start", interface=self.ifname, io=self.io, sas=len(self.path.sad),
                           config_digest=self.config_digest, control_socket=self.control_socket,
                           resumed_sequence={str(k): v for k, v in self.resumed.items()})
            started = True
            await self._stop.wait()
        finally:
            loop.remove_reader(fd)
            if self._timer is not None:
                self._timer.cancel()
            for port in (self._sock, self._ring):
                if port is not None:
                    port.close()
            self._sock = self._ring = None
            if server is not None:
                server.close()
                with contextlib.suppress(OSError):
                    Path(self.control_socket).unlink()
            st = self.status()
            if started:
                self.log.event("crypto_stop", wakeups=self.wakeups,
                               **{k: v for k, v in st.items() if k not in ("ok", "role")})

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()


__all__ = ["CryptoPortError", "CryptoPortNode", "DropLog", "SA_COLUMNS", "open_packet_socket", "sa_row"]
