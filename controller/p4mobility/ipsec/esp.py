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

import struct
from math import lcm

from collections.abc import Callable

from .errors import DummyPacket, MalformedPacket, PaddingError
from .transforms import Transform

ESP_HEADER = struct.Struct("!II")
_U32 = struct.Struct("!I")
_PAD = bytes(range(1, 256))
_BYTE = [bytes((i,)) for i in range(256)]
# RFC 4303 §2.4: default pad bytes then the Pad Length byte
_PAD_AND_LEN = [_PAD[:n] + bytes((n,)) for n in range(256)]
_TRAILER = [[_PAD_AND_LEN[n] + b for b in _BYTE] for n in range(4)]  # align 4: pad 0..3
NEXT_HEADER_NONE = 59  # RFC 4303 §2.6: dummy packet
MIN_SPI = 256  # RFC 4303 §2.1: 1..255 IANA-reserved, 0 never sent


class EspFramer:
    """ESP framing for one SA: ``seal`` outbound, ``open`` inbound.

    ``open`` calls ``authentic(seq)`` between the integrity check and the
    trailer check, so the replay window moves only for authentic packets
    (RFC 4303 §3.4.3)."""

    __slots__ = ("transform", "spi", "esn", "_align", "_seal", "_open", "_make_iv")

    def __init__(self, transform: Transform, spi: int, esn: bool) -> None:
        self.transform = transform
        self.spi = spi
        self.esn = esn
        self._align = lcm(transform.block, 4)
        self._seal = transform.seal
        self._open = transform.open
        self._make_iv = transform.make_iv

    def seal(self, seq64: int, iv: bytes | None, payload: bytes, next_header: int) -> bytes:
        """One ESP packet from the SPI to the ICV (RFC 4303 §3.3)."""
        if iv is None:
            iv = self._make_iv(seq64)
        padlen = -(len(payload) + 2) % self._align
        header = ESP_HEADER.pack(self.spi, seq64 & 0xFFFFFFFF)
        plaintext = b"".join((payload, _PAD_AND_LEN[padlen], _BYTE[next_header]))
        return header + self._seal(header, _U32.pack(seq64 >> 32) if self.esn else b"", iv, plaintext)

    def open(self, packet: bytes, seq64: int, authentic: Callable[[int], None]) -> tuple[bytes, int]:
        """Integrity, decryption, trailer -> (payload, next header)."""
        plaintext = self._open(packet, _U32.pack(seq64 >> 32) if self.esn else b"")
        authentic(seq64)
        return strip_trailer(plaintext)


def framer_for(transform: Transform, spi: int, esn: bool) -> EspFramer:
    """The framer to use for an SA's transform (the fused AES-GCM variant is ``fastpath.py``)."""
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
