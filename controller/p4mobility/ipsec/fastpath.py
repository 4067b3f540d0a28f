"""Fused AES-GCM fast path for the common case of one SA.

Rule: ``Sa.seal``/``Sa.open`` (with ``esp.py`` and ``transforms.py``) are the
reference semantics. For an AES-GCM SA without ESN, the two closures here
handle only the common case: outbound within lifetimes and below the
sequence limit; inbound in order (ahead of the window's top) within
lifetimes, with the window shift of ``ReplayWindow.update`` inlined.
Everything else (IV given, ESN, time lifetime due, SA expired, sequence
about to overflow, a number at or below the top that needs the replay
check, short packets) goes to the reference path. The order stays
RFC 4303's: replay check (trivial when ahead of the top) before the AEAD,
window update only after the tag verified, then the trailer check. This
module never imports sa.py: it reads the SA's public state (``GcmSa``) and
its thresholds (``SaLimits``, lifetime.py), and calls back ``cross_limits``.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol

from cryptography.exceptions import InvalidTag

from .errors import DummyPacket, IcvError, PaddingError
from .esp import _PAD_AND_LEN, _TRAILER, NEXT_HEADER_NONE
from .lifetime import SaCounters, SaLimits
from .replay import ReplayWindow
from .transforms import AesGcm, Transform

_HEAD_IV = struct.Struct("!IIQ")  # SPI, seq low, IV = 64-bit seq (RFC 4106 §3.1)
_NONCE = struct.Struct("!4sQ")  # RFC 4106 §4: salt || IV
_U32 = struct.Struct("!I")
_GCM_MIN = 8 + 8 + 4 + 16  # header, IV, smallest 4-aligned trailer, ICV
_SEQ_MAX = (1 << 32) - 1


class GcmSa(Protocol):
    """What the fused path reads of an SA (``Sa`` in sa.py); it writes only ``oseq``."""

    transform: Transform
    esn: bool
    spi: int
    oseq: int
    counters: SaCounters
    window: ReplayWindow
    limits: SaLimits


def gcm_paths(sa: GcmSa, cross_limits: Callable[[float], None], slow_seal: Callable,
              slow_open: Callable) -> tuple[Callable, Callable] | None:
    """(seal, open) closures for ``sa``, or None when the SA does not qualify. ``cross_limits(now)``
    is called once a count reaches a threshold; ``sa.limits`` must be updated in place, never
    replaced."""
    tr = sa.transform
    if not isinstance(tr, AesGcm) or sa.esn:
        return None
    encrypt, decrypt, salt = tr.aead.encrypt, tr.aead.decrypt, tr.salt
    spi, counters, window, limits = sa.spi, sa.counters, sa.window, sa.limits
    head_iv, nonce, seq_of = _HEAD_IV.pack, _NONCE.pack, _U32.unpack_from
    trailer, pad_and_len = _TRAILER, _PAD_AND_LEN

    def seal(payload: bytes, next_header: int, now: float, iv: bytes | None = None) -> bytes:
        seq = sa.oseq + 1
        if iv is not None or now >= limits.time or seq > _SEQ_MAX:
            return slow_seal(payload, next_header, now, iv)
        head = head_iv(spi, seq, seq)
        packet = head + encrypt(nonce(salt, seq), payload + trailer[-(len(payload) + 2) & 3][next_header],
                                head[:8])
        sa.oseq = seq
        counters.packets += 1
        counters.bytes += len(payload)
        if limits.counted and (counters.packets >= limits.packets or counters.bytes >= limits.bytes):
            cross_limits(now)
        return packet

    def open_(packet: bytes, now: float) -> tuple[bytes, int, int]:
        if now >= limits.time or len(packet) < _GCM_MIN:
            return slow_open(packet, now)
        seq = seq_of(packet, 4)[0]
        if seq <= window.top:  # needs the real replay check (RFC 4303 §3.4.3)
            return slow_open(packet, now)
        try:
            plaintext = decrypt(salt + packet[8:16], packet[16:], packet[:8])
        except InvalidTag:
            raise IcvError("AES-GCM tag mismatch") from None
        # ReplayWindow.update for seq > top, inlined: shift the bitmask, set bit 0
        shift = seq - window.top
        window._bits = ((window._bits << shift) | 1) & window._mask if shift < window.size else 1
        window.top = seq
        n = len(plaintext) - 1
        padlen = plaintext[-2]
        # RFC 4303 §2.4: pad bytes 1, 2, ... then Pad Length, inside the plaintext
        if not plaintext.endswith(pad_and_len[padlen], 0, n):
            raise PaddingError("bad pad length or pad bytes")
        next_header = plaintext[n]
        if next_header == NEXT_HEADER_NONE:
            raise DummyPacket("next header 59")
        payload = plaintext[:n - 1 - padlen]
        counters.packets += 1
        counters.bytes += len(payload)
        if limits.counted and (counters.packets >= limits.packets or counters.bytes >= limits.bytes):
            cross_limits(now)
        return payload, next_header, seq

    return seal, open_
