"""A small, bounded capture-file reader: classic pcap (both byte orders,
micro- and nanosecond magic) and pcapng (SHB/IDB/EPB/SPB; other blocks skipped).

Rule: every length read from the file is checked against a fixed bound
(MAX_RECORD) and against what is left before it is used; a damaged or cut file
raises PcapError (never struct.error/IndexError), after the frames read so far
have been yielded. Frames come back as (index, linktype, bytes, orig_len).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator

MAX_RECORD = 1 << 18  # 256 KiB: larger than any real snaplen
MAX_BLOCK = MAX_RECORD + 4096

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",  # microseconds
    b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">",  # nanoseconds
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


class PcapError(Exception):
    """The file is not a capture we can read, or it is damaged/truncated."""


@dataclass(frozen=True, slots=True)
class Frame:
    index: int  # 1-based, as tshark's frame.number
    linktype: int
    data: bytes
    orig_len: int


def _read(f: BinaryIO, n: int, what: str) -> bytes:
    b = f.read(n)
    if len(b) != n:
        raise PcapError(f"truncated file: {what} needs {n} bytes, {len(b)} left")
    return b


def read_frames(f: BinaryIO) -> Iterator[Frame]:
    """Yield the frames of a pcap or pcapng stream."""
    magic = f.read(4)
    if len(magic) < 4:
        raise PcapError("not a capture file: fewer than 4 bytes")
    if magic in _PCAP_MAGIC:
        yield from _read_pcap(f, _PCAP_MAGIC[magic])
    elif magic == _PCAPNG_SHB:
        yield from _read_pcapng(f)
    else:
        raise PcapError(f"not a pcap/pcapng file (magic {magic.hex()})")


def _read_pcap(f: BinaryIO, bo: str) -> Iterator[Frame]:
    _vmaj, _vmin, _zone, _sig, _snap, linktype = struct.unpack(bo + "HHiIII", _read(f, 20, "pcap header"))
    rec = struct.Struct(bo + "IIII")
    index = 0
    while True:
        head = f.read(16)
        if not head:
            return
        if len(head) < 16:
            raise PcapError(f"truncated file: record header after frame {index}")
        _s, _us, incl, orig = rec.unpack(head)
        if incl > MAX_RECORD:
            raise PcapError(f"frame {index + 1}: captured length {incl} exceeds {MAX_RECORD}")
        index += 1
        yield Frame(index, linktype & 0xFFFF, _read(f, incl, f"frame {index}"), orig)


def _read_pcapng(f: BinaryIO) -> Iterator[Frame]:
    bo = "<"
    linktypes: list[int] = []
    index = 0
    first = True
    while True:
        btype_raw = _PCAPNG_SHB if first else f.read(4)
        if not btype_raw:
            return
        if len(btype_raw) < 4:
            raise PcapError("truncated file: block type")
        lenb = _read(f, 4, "block length")
        if btype_raw == _PCAPNG_SHB:  # Section Header: byte order magic decides
            bom = _read(f, 4, "byte-order magic")
            if bom == b"\x4d\x3c\x2b\x1a":
                bo = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                bo = ">"
            else:
                raise PcapError("pcapng: bad byte-order magic")
            blen = struct.unpack(bo + "I", lenb)[0]
            if blen < 28 or blen % 4 or blen > MAX_BLOCK:
                raise PcapError(f"pcapng: bad section header length {blen}")
            _read(f, blen - 12, "section header")
            linktypes = []
            first = False
            continue
        first = False
        btype = struct.unpack(bo + "I", btype_raw)[0]
        blen = struct.unpack(bo + "I", lenb)[0]
        if blen < 12 or blen % 4 or blen > MAX_BLOCK:
            raise PcapError(f"pcapng: bad block length {blen}")
        body = _read(f, blen - 8, "block")[:-4]  # drop trailing length copy
        if btype == 1:  # Interface Description Block
            if len(body) < 8:
                raise PcapError("pcapng: short interface description block")
            linktypes.append(struct.unpack_from(bo + "H", body)[0])
        elif btype in (6, 3):  # Enhanced / Simple Packet Block
            if btype == 6:
                if len(body) < 20:
                    raise PcapError("pcapng: short enhanced packet block")
                ifid, _hi, _lo, cap, orig = struct.unpack_from(bo + "IIIII", body)
                start = 20
            else:
                if len(body) < 4:
                    raise PcapError("pcapng: short simple packet block")
                ifid, orig = 0, struct.unpack_from(bo + "I", body)[0]
                cap, start = min(orig, len(body) - 4), 4
            if ifid >= len(linktypes):
                raise PcapError(f"pcapng: packet for unknown interface {ifid}")
            if start + cap > len(body):
                raise PcapError("pcapng: packet data runs past its block")
            index += 1
            yield Frame(index, linktypes[ifid], bytes(body[start : start + cap]), orig)
