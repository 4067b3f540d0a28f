"""Request frame -> reply frame in one step for the crypto port's common case.

Rule: ``portframe.split`` + ``CryptoPath.process_*`` + ``portframe.encode_reply``
are the reference; ``PortPath.answer`` gives the same bytes and the same SA
state for the one shape that dominates the port (docs/performance.md):
an IPv6 packet with no extension header, a transport-mode SA, ESP right
after the IPv6 header inbound. It returns None for everything else before
touching any state, and the caller runs the reference. The SA's own
``seal``/``open`` (sa.py, fastpath.py) own the sequence numbers
(RFC 4303 §3.3.3) and the replay window (§3.4.3); a failure inside them is
turned into the reference's ``Dropped`` (``CryptoPath._drop``) and the
decrypted packet passes the reference policy check (RFC 4301 §5.2), whose
verdict is remembered per SA and selector fields.
Events the SAs raise are appended to ``events`` for the caller to drain.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .errors import IpsecError, PolicyMismatch
from .events import Dropped, Event
from .ipframe import _EXT, Proto
from .path import CryptoPath
from .spd import Dir, Mode

_PLEN_NH = struct.Struct("!HB")  # IPv6 payload length, next header
_REPLY_META = struct.Struct("!IBBHH")  # crypto header: sa_index, direction, flow, port, ether_type
_ETH_LEN, _HEADER_LEN = 14, 24  # Ethernet; Ethernet + crypto header (portframe.py)
_REQUEST_HEAD = bytes.fromhex("88b5")
_IPV6_ETYPE = 0x86DD
_DECRYPT, _ENCRYPT, _DECRYPTED, _ENCRYPTED = 1, 2, 3, 4
_ESP = int(Proto.ESP)
_EXT_HEADERS = frozenset(int(p) for p in _EXT)
_NOT_SIMPLE = _EXT_HEADERS | {_ESP}  # next headers the shortcut leaves alone
_UNSEEN = object()
POLICY_CACHE_SIZE = 4096  # inbound policy verdicts kept (cleared when full)


class PortPath:
    """The shortcut over one ``CryptoPath``; ``before_seal(sa)`` runs before each outbound seal."""

    def __init__(self, path: CryptoPath, before_seal: Callable[[Any], None] | None = None) -> None:
        self.path = path
        self.before_seal = before_seal
        self.events: list[Event] = []
        self._policy: dict[tuple, str | None] = {}

    def answer(self, frame: bytes, now: float) -> bytes | Dropped | None:
        """The reply frame, a ``Dropped``, or None: not the common case, use the reference."""
        n = len(frame)
        # Ethernet + crypto header + a 40-byte IPv6 header; EtherType 0x88B5, inner 0x86DD, version 6
        if n < _HEADER_LEN + 40 or frame[12:14] != _REQUEST_HEAD or frame[22:24] != b"\x86\xdd" \
                or frame[24] >> 4 != 6 or frame[20] & 0xFE:  # pad bits above the 9-bit port
            return None
        direction = frame[18]
        end = _HEADER_LEN + 40 + ((frame[28] << 8) | frame[29])
        if end > n:
            return None  # the reference says why (payload length exceeds the packet)
        sa_index = int.from_bytes(frame[14:18], "big")
        sa = self.path.sad.get(sa_index)
        if sa is None or sa.mode is not Mode.TRANSPORT:
            return None
        nh = frame[30]
        if direction == _ENCRYPT:
            if sa.dir is not Dir.OUT or nh in _NOT_SIMPLE:
                return None
            try:
                if self.before_seal is not None:
                    self.before_seal(sa)
                body = sa.seal(frame[64:end], nh, now)  # RFC 4303 §3.3: header stays outside ESP
            except IpsecError as exc:
                return self._dropped(exc, sa, 0)
            reply, next_header = _ENCRYPTED, _ESP
        elif direction == _DECRYPT:
            if sa.dir is not Dir.IN or nh != _ESP or end < 72 or int.from_bytes(frame[64:68], "big") != sa.spi:
                return None
            try:
                body, next_header, _seq = sa.open(frame[64:end], now)
                inner = b"".join((frame[24:28], _PLEN_NH.pack(len(body), next_header), frame[31:64], body))
                if next_header in _EXT_HEADERS:  # the selector is further in: no cache
                    self.path._check_policy(sa, inner)
                else:
                    self._check_policy_cached(sa, inner, (sa, frame[32:64], next_header, body[:4]))
            except IpsecError as exc:
                return self._dropped(exc, sa, int.from_bytes(frame[68:72], "big"))
            if sa._events:
                self.events.extend(sa.drain())
            return b"".join((frame[6:12], frame[0:6], _REQUEST_HEAD,
                             _REPLY_META.pack(sa_index, _DECRYPTED, frame[19], (frame[20] << 8) | frame[21],
                                              _IPV6_ETYPE), inner))
        else:
            return None
        if sa._events:
            self.events.extend(sa.drain())
        return b"".join((frame[6:12], frame[0:6], _REQUEST_HEAD,
                         _REPLY_META.pack(sa_index, reply, frame[19], (frame[20] << 8) | frame[21], _IPV6_ETYPE),
                         frame[24:28], _PLEN_NH.pack(len(body), next_header), frame[31:64], body))

    def _check_policy_cached(self, sa: Any, inner: bytes, key: tuple) -> None:
        """``CryptoPath._check_policy`` remembered per (SA, addresses, next header, first 4 bytes
        of the upper layer): all a selector reads of a packet without extension headers
        (spd.selector_from_packet). The SPD and the SAs' selectors are read once from the file."""
        verdict = self._policy.get(key, _UNSEEN)
        if verdict is _UNSEEN:
            try:
                self.path._check_policy(sa, inner)
                verdict = None
            except PolicyMismatch as exc:
                verdict = str(exc)
            if len(self._policy) >= POLICY_CACHE_SIZE:
                self._policy.clear()
            self._policy[key] = verdict
        if verdict is not None:
            raise PolicyMismatch(verdict)

    def clear_policy_cache(self) -> None:
        """Call after changing the SPD or an SA's selector."""
        self._policy.clear()

    def _dropped(self, exc: IpsecError, sa: Any, seq_low: int) -> Dropped:
        return self.path._drop(exc, sa, seq_low)


__all__ = ["PortPath"]
