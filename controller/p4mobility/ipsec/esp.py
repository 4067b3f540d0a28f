"""RFC 4303 ESP framing: SPI, sequence number, padding, trailer.

Rule: the wire carries SPI (4), the low 32 bits of the sequence number (4),
then the transform's IV, ciphertext and ICV (§2). Padding is the default
1, 2, 3, ... so that payload+pad+2 is a multiple of lcm(block, 4) (§2.4); the
receiver checks pad length and pad bytes (§3.4.4.1) and discards dummies
(Next Header 59, §2.6). With ESN the high 32 bits feed integrity only
(§2.2.1). No sequence or window state here: that belongs to ``sa.py`` and
``replay.py``. ``EspFramer`` precomputes per SA what every packet needs.
"""
from __future__ import annotations

import os
import struct
from math import lcm

from collections.abc import Callable

from cryptography.exceptions import InvalidTag

from .errors import DummyPacket, IcvError, MalformedPacket, PaddingError
from .transforms import AesGcm, Transform

ESP_HEADER = struct.Struct("!II")
_U32 = struct.Struct("!I")
_PAD = bytes(range(1, 256))
_BYTE = [bytes((i,)) for i in range(256)]
# RFC 4303 §2.4: default pad bytes then the Pad Length byte
_PAD_AND_LEN = [_PAD[:n] + bytes((n,)) for n in range(256)]
_TRAILER = [[_PAD_AND_LEN[n] + b for b in _BYTE] for n in range(4)]  # GCM: pad 0..3
_HEAD_IV = struct.Struct("!IIQ")
NEXT_HEADER_NONE = 59  # RFC 4303 §2.6: dummy packet
MIN_SPI = 256  # RFC 4303 §2.1: 1..255 IANA-reserved, 0 never sent
_GCM_MIN = 8 + 8 + 4 + 16  # header, IV, smallest 4-aligned trailer, ICV


def esn_high(seq64: int, esn: bool) -> bytes:
    """Bytes of the ESN high half that enter integrity (empty without ESN)."""
    return _U32.pack(seq64 >> 32) if esn else b""


class EspFramer:
    """ESP framing for one SA: ``seal`` outbound, ``open`` inbound.

    ``open`` calls ``authentic(seq)`` between the integrity check and the
    trailer check, so the replay window moves only for authentic packets
    (RFC 4303 §3.4.3)."""

    __slots__ = ("transform", "spi", "esn", "_align", "_seal", "_open", "__dict__")

    def __init__(self, transform: Transform, spi: int, esn: bool) -> None:
        self.transform = transform
        self.spi = spi
        self.esn = esn
        self._align = lcm(transform.block, 4)
        self._seal = transform.seal
        self._open = transform.open

    def seal(self, seq64: int, iv: bytes | None, payload: bytes, next_header: int) -> bytes:
        """One ESP packet from the SPI to the ICV (RFC 4303 §3.3)."""
        if iv is None:  # RFC 3602 §2.3: CBC IV random and unpredictable
            iv = os.urandom(self.transform.iv_len) if self.transform.iv_len else b""
        padlen = -(len(payload) + 2) % self._align
        header = ESP_HEADER.pack(self.spi, seq64 & 0xFFFFFFFF)
        plaintext = b"".join((payload, _PAD_AND_LEN[padlen], _BYTE[next_header]))
        return header + self._seal(header, _U32.pack(seq64 >> 32) if self.esn else b"", iv, plaintext)

    def open(self, packet: bytes, seq64: int, authentic: Callable[[int], None]) -> tuple[bytes, int]:
        """Integrity, decryption, trailer -> (payload, next header)."""
        plaintext = self._open(packet, _U32.pack(seq64 >> 32) if self.esn else b"")
        authentic(seq64)
        return strip_trailer(plaintext)


class GcmFramer(EspFramer):
    """The same framing fused with the RFC 4106 AEAD call. The per-packet
    functions are closures over per-SA constants: no attribute lookups and
    no copies beyond the AEAD's own on the hot path."""

    __slots__ = ()

    def __init__(self, transform: AesGcm, spi: int, esn: bool) -> None:
        super().__init__(transform, spi, esn)
        encrypt, decrypt, salt = transform.aead.encrypt, transform.aead.decrypt, transform.salt
        head_iv, u32, trailer, pad = _HEAD_IV.pack, _U32.pack, _TRAILER, _PAD

        def seal(seq64: int, iv: bytes | None, payload: bytes, next_header: int) -> bytes:
            """``iv`` None: the IV is the 64-bit sequence number, unique per key (RFC 4106 §3.1)."""
            if iv is None:
                head = head_iv(spi, seq64 & 0xFFFFFFFF, seq64)
                iv = head[8:]
            else:
                head = ESP_HEADER.pack(spi, seq64 & 0xFFFFFFFF) + iv
            aad = head[:4] + u32(seq64 >> 32) + head[4:8] if esn else head[:8]
            # RFC 4106 §3: block 1, so pad only to a 4-byte boundary
            return head + encrypt(salt + iv, payload + trailer[-(len(payload) + 2) & 3][next_header], aad)

        def open_(packet: bytes, seq64: int, authentic: Callable[[int], None]) -> tuple[bytes, int]:
            if len(packet) < _GCM_MIN:
                raise MalformedPacket("ESP/GCM packet too short")
            aad = packet[:4] + u32(seq64 >> 32) + packet[4:8] if esn else packet[:8]
            try:
                plaintext = decrypt(salt + packet[8:16], packet[16:], aad)
            except InvalidTag:
                raise IcvError("AES-GCM tag mismatch") from None
            authentic(seq64)
            padlen = plaintext[-2]
            end = len(plaintext) - 2 - padlen
            if end < 0 or (padlen and plaintext[end:-2] != pad[:padlen]):
                raise PaddingError("bad pad length or pad bytes (RFC 4303 §2.4)")
            if plaintext[-1] == NEXT_HEADER_NONE:
                raise DummyPacket("next header 59")
            return plaintext[:end], plaintext[-1]

        self.seal = seal  # type: ignore[method-assign]
        self.open = open_  # type: ignore[method-assign]


def framer_for(transform: Transform, spi: int, esn: bool) -> EspFramer:
    """The framer to use for an SA's transform."""
    if isinstance(transform, AesGcm):
        return GcmFramer(transform, spi, esn)
    return EspFramer(transform, spi, esn)


def strip_trailer(plaintext: bytes) -> tuple[bytes, int]:
    """Check pad length and pad bytes, drop dummies -> (payload, next header)."""
    n = len(plaintext)
    if n < 2:
        raise PaddingError("no room for pad length and next header")
    padlen = plaintext[-2]
    end = n - 2 - padlen
    if end < 0:
        raise PaddingError("pad length exceeds the payload")
    # RFC 4303 §2.4: default pad content is 1, 2, 3, ...; SHOULD be checked
    if padlen and plaintext[end:-2] != _PAD[:padlen]:
        raise PaddingError("pad bytes are not 1, 2, 3, ...")
    next_header = plaintext[-1]
    if next_header == NEXT_HEADER_NONE:
        raise DummyPacket("next header 59")
    return plaintext[:end], next_header


def seal(transform: Transform, spi: int, seq64: int, esn: bool, iv: bytes,
         payload: bytes, next_header: int) -> bytes:
    """Build one ESP packet (from the SPI to the ICV)."""
    return framer_for(transform, spi, esn).seal(seq64, iv, payload, next_header)


def parse_header(packet: bytes) -> tuple[int, int]:
    """(spi, low 32 bits of the sequence number); length-checked."""
    if len(packet) < 8:
        raise MalformedPacket("ESP header truncated")
    return ESP_HEADER.unpack_from(packet)


def open_(transform: Transform, packet: bytes, seq64: int, esn: bool) -> tuple[bytes, int]:
    """Check integrity, decrypt and strip the trailer -> (payload, next header)."""
    return framer_for(transform, 0, esn).open(packet, seq64, lambda seq: None)
