"""Mobility option lists: alignment padding on encode, TLV walk on decode.

Rule (RFC 6275 §6.2): an option with alignment xn+y has its Type byte at an
offset from the start of the MH that is y mod x; the encoder inserts Pad1
(1 byte) or PadN (>= 2 bytes) before it, and pads the end of the message to a
multiple of 8 octets. The decoder walks Type/Length pairs, bounds-checked
against the end of the message, drops Pad1/PadN, keeps unknown types as
UnknownOption (RFC 6275 §6.2.1) and never reads past ``end``.
"""
from __future__ import annotations

from .errors import MhOptionError
from .options import OPTION_CLASSES, MobilityOption, UnknownOption

_PADS = [b"", b"\x00"] + [b"\x01" + bytes((n - 2,)) + bytes(n - 2) for n in range(2, 8)]


def padding(n: int) -> bytes:
    """``n`` bytes of padding: Pad1 for one byte, else one PadN (n < 258)."""
    return _PADS[n] if n < 8 else b"\x01" + bytes((n - 2,)) + bytes(n - 2)


def encode_options(options: tuple[MobilityOption, ...] | list, offset: int) -> bytes:
    """Encode ``options`` starting at MH offset ``offset``; result ends on 8n."""
    out = bytearray()
    pos = offset
    for opt in options:
        x, y = opt.alignment
        if x > 1:
            pad = (y - pos) % x
            if pad:
                out += _PADS[pad]
                pos += pad
        if opt.type_code == 0:  # Pad1 has no Length byte (RFC 6275 §6.2.2)
            out.append(0)
            pos += 1
            continue
        data = opt.encode_data()
        if len(data) > 255:
            raise ValueError(f"{type(opt).__name__}: {len(data)} bytes of data, at most 255 fit")
        out.append(opt.type_code)
        out.append(len(data))
        out += data
        pos += 2 + len(data)
    out += _PADS[(-pos) % 8]
    return bytes(out)


def decode_options(data: bytes, start: int, end: int) -> tuple[MobilityOption, ...]:
    """Decode the options in ``data[start:end]`` (``end <= len(data)``)."""
    opts: list[MobilityOption] = []
    i = start
    get = OPTION_CLASSES.get
    while i < end:
        t = data[i]
        if t == 0:  # Pad1
            i += 1
            continue
        if i + 2 > end:
            raise MhOptionError(f"option type {t} at offset {i}: no room for its Length byte")
        j = i + 2 + data[i + 1]
        if j > end:
            raise MhOptionError(
                f"option type {t} at offset {i}: Length {data[i + 1]} runs past the message end {end}"
            )
        if t != 1:  # PadN is dropped
            cls = get(t)
            body = data[i + 2 : j]
            opts.append(UnknownOption(t, bytes(body)) if cls is None else cls.decode_data(body))
        i = j
    return tuple(opts)
