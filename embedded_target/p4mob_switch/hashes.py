"""Hash algorithms and named calculations, bit-exact with bmv2 (calculations.cpp).

Rule: a calculation's input is the bit-packed concatenation of its fields
(fields of invalid headers are skipped), zero-padded to a byte, then the packet
payload if requested; each algorithm returns what bmv2 returns for that buffer.
"""

from __future__ import annotations

import binascii
import sys
import zlib
from typing import Any, Callable

from .errors import PipelineLoadError
from .expressions import Gen
from .loader import bitwidth, hexstr, req


def _crc16_table() -> list[int]:
    # bmv2 crc16: poly 0x8005, init 0, reflected in/out, xorout 0 (CRC-16/ARC)
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        tab.append(c)
    return tab


_T16 = _crc16_table()


def crc16(buf: bytes) -> int:
    c = 0
    t = _T16
    for b in buf:
        c = (c >> 8) ^ t[(c ^ b) & 0xFF]
    return c


def crc32(buf: bytes) -> int:
    return zlib.crc32(buf) & 0xFFFFFFFF


def crc_ccitt(buf: bytes) -> int:
    # bmv2 crcCCITT: poly 0x1021, init 0xffff, not reflected, xorout 0
    return binascii.crc_hqx(buf, 0xFFFF)


def csum16(buf: bytes) -> int:
    """RFC 1071 one's complement checksum (bmv2 csum16), as a network-order value."""
    if len(buf) & 1:
        buf = buf + b"\x00"
    s = sum(memoryview(buf).cast("H"))  # native-endian words; fixed below
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = ~s & 0xFFFF
    if sys.byteorder == "little":
        s = ((s & 0xFF) << 8) | (s >> 8)
    return s


def identity(buf: bytes) -> int:
    return int.from_bytes(buf[:8], "big")


ALGORITHMS: dict[str, Callable[[bytes], int]] = {
    "crc16": crc16,
    "crc32": crc32,
    "crcCCITT": crc_ccitt,
    "csum16": csum16,
    "identity": identity,
}


def algorithm(name: Any, where: str) -> Callable[[bytes], int]:
    fn = ALGORITHMS.get(name)
    if fn is None:
        raise PipelineLoadError(f"{where}: hash algorithm {name!r} is not supported "
                                f"(supported: {', '.join(sorted(ALGORITHMS))})")
    return fn


def compile_inputs(gen: Gen, name: str, algo: str, inputs: list, where: str) -> Callable:
    """Generate `calc(F, V, P) -> int` over a list of calculation inputs."""
    lay = gen.layout
    fn = algorithm(algo, where)
    alg = gen.bind("ALG", fn)
    L = ["def calc(F, V, P):", "    acc = 0", "    nb = 0"]
    payload = False
    for i, inp in enumerate(inputs):
        w = f"{where}.input[{i}]"
        t = inp.get("type") if isinstance(inp, dict) else None
        if t == "field":
            idx = lay.field(inp["value"], w)
            hname = inp["value"][0]
            alias = lay.aliases.get(f"{inp['value'][0]}.{inp['value'][1]}")
            if alias:
                hname = alias[0]
            hid = lay.by_name[hname].hid
            wid = lay.widths[idx]
            L.append(f"    if V[{hid}]: acc = (acc << {wid}) | (F[{idx}] & {(1 << wid) - 1:#x}); nb += {wid}")
        elif t == "hexstr":
            bw = bitwidth(inp, "bitwidth", w)
            v = hexstr(inp["value"], w) & ((1 << bw) - 1)
            L.append(f"    acc = (acc << {bw}) | {v:#x}; nb += {bw}")
        elif t == "header":
            h = lay.header(inp["value"], w)
            L.append(f"    if V[{h.hid}]:")
            for k, (_, wid, _s) in enumerate(h.htype.fields):
                L.append(f"        acc = (acc << {wid}) | (F[{h.base + k}] & {(1 << wid) - 1:#x})")
            L.append(f"        nb += {h.htype.nbits}")
        elif t == "payload":
            payload = True
        else:
            raise PipelineLoadError(f"{w}: unsupported calculation input type {t!r}")
    L += ["    pad = -nb % 8",
          "    buf = (acc << pad).to_bytes((nb + pad) // 8, 'big')"]
    L.append(f"    return {alg}(buf + P)" if payload else f"    return {alg}(buf)")
    return gen.compile_fn("calc", "\n".join(L) + "\n")


def compile_calculations(gen: Gen, doc: dict) -> dict[str, Callable]:
    out = {}
    for i, c in enumerate(doc.get("calculations") or []):
        where = f"calculations[{i}]"
        name = req(c, "name", str, where)
        where = f"calculations[{name}]"
        algo = req(c, "algo", str, where)
        out[name] = compile_inputs(gen, name, algo, req(c, "input", list, where), where)
    return out
