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

# from offset 12: EtherType, crypto header (sa_index, direction, flow, pad+port, ether_type),
# then the IPv6 header's first byte, payload length and next header (portframe.py, RFC 8200 §3)
_HEAD = struct.Struct("!2sIBBHHB3xHB").unpack_from
# the reply from offset 12: EtherType, crypto header, IPv6 bytes 0-3, payload length, next header
_REPLY_HEAD = struct.Struct("!2sIBBHH4sHB").pack
_REQUEST_HEAD = _ETHERTYPE = bytes.fromhex("88b5")
_PORT_MASK = 0x1FF
_IPV6_ETYPE = 0x86DD
_TRANSPORT, _OUT, _IN = Mode.TRANSPORT, Dir.OUT, Dir.IN
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
        self._sa = path.sad.get
        self.before_seal = before_seal
        self.events: list[Event] = []
        self._policy: dict[tuple, str | None] = {}

    def answer(self, frame: bytes, now: float) -> bytes | Dropped | None:
        """The reply frame, a ``Dropped``, or None: not the common case, use the reference."""
        if len(frame) < 64:  # Ethernet + crypto header + a 40-byte IPv6 header
            return None
        etype, sa_index, direction, flow, port, inner_etype, version, plen, nh = _HEAD(frame, 12)
        end = 64 + plen
        # EtherType 0x88B5, no pad bits above the 9-bit port, inner 0x86DD and IP version 6, whole
        if etype != _REQUEST_HEAD or port > _PORT_MASK or inner_etype != _IPV6_ETYPE or version >> 4 != 6 \
                or end > len(frame):
            return None  # the reference says why
        sa = self._sa(sa_index)
        if sa is None or sa.mode is not _TRANSPORT:
            return None
        if direction == _ENCRYPT:
            if sa.dir is not _OUT or nh in _NOT_SIMPLE:
                return None
            try:
                if self.before_seal is not None:
                    self.before_seal(sa)
                body = sa.seal(frame[64:end], nh, now)  # RFC 4303 §3.3: header stays outside ESP
            except IpsecError as exc:
                return self.path._drop(exc, sa, 0)
            if sa._events:
                self.events.extend(sa.drain())
            return b"".join((frame[6:12], frame[0:6], _REPLY_HEAD(_ETHERTYPE, sa_index, _ENCRYPTED, flow, port,
                                                                  _IPV6_ETYPE, frame[24:28], len(body), _ESP),
                             frame[31:64], body))
        if direction != _DECRYPT or sa.dir is not _IN or nh != _ESP or end < 72 \
                or int.from_bytes(frame[64:68], "big") != sa.spi:
            return None
        try:
            body, next_header, _seq = sa.open(frame[64:end], now)
            head = _REPLY_HEAD(_ETHERTYPE, sa_index, _DECRYPTED, flow, port, _IPV6_ETYPE, frame[24:28],
                               len(body), next_header)
            inner = b"".join((head[12:], frame[31:64], body))
            if next_header in _EXT_HEADERS:  # the selector is further in: no cache
                self.path._check_policy(sa, inner)
            else:
                self._check_policy_cached(sa, inner, (sa, frame[32:64], next_header, body[:4]))
        except IpsecError as exc:
            return self.path._drop(exc, sa, int.from_bytes(frame[68:72], "big"))
        if sa._events:
            self.events.extend(sa.drain())
        return b"".join((frame[6:12], frame[0:6], head, frame[31:64], body))

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


__all__ = ["PortPath"]
