"""Compile a bmv2 parser (JSON_format.md "parsers") into one Python function.

Rule: the generated `parse(data, F, V, X)` returns `(pos, error)`: the byte offset
where parsing stopped and the P4 error value (0/NoError on accept). A short
packet, a failed `verify` or a full stack ends parsing with that error; headers
extracted before the error stay valid and the packet continues to ingress with
standard_metadata.parser_error set, as bmv2 simple_switch does. Every read is
bounds-checked first; a state budget stops parser loops (ParserTimeout).
An acyclic parse graph is emitted as nested code, each transition's target
pasted in place (no loop, no state variable: 1.75 -> 1.5 us per mobility.p4
frame); a graph with loops (header stacks) or too big for that runs the states
in a loop.
"""

from __future__ import annotations

from typing import Any, Callable

from .errors import ParserError, PipelineLoadError
from .expressions import Gen
from .loader import HeaderInstance, hexstr, req

MAX_STATES_PER_PACKET = 256


class ParseValueSet:
    """A parser value set (P4Runtime ValueSetEntry); values are (value, mask)."""

    def __init__(self, name: str, bitwidth: int, max_size: int) -> None:
        self.name = name
        self.bitwidth = bitwidth
        self.max_size = max_size
        self.members: list[tuple[int, int]] = []

    def matches(self, key: int, tmask: int) -> bool:
        for v, m in self.members:
            if (key & m & tmask) == (v & m & tmask):
                return True
        return False


def make_lookahead(too_short: int) -> Callable[[bytes, int, int, int], int]:
    def lookahead(data: bytes, pos: int, off: int, width: int) -> int:
        start = pos * 8 + off
        end = start + width
        if end > len(data) * 8:
            raise ParserError(too_short)
        b0, b1 = start // 8, (end + 7) // 8
        v = int.from_bytes(data[b0:b1], "big")
        return (v >> (b1 * 8 - end)) & ((1 << width) - 1)
    return lookahead


def extract_lines(h: HeaderInstance, base: str, too_short: int, ind: str) -> list[str]:
    """Lines extracting header h at data[pos:]; base is the F index source of field 0."""
    nb = h.nbytes
    out = [f"{ind}if pos + {nb} > n: raise ParserError({too_short})",
           f"{ind}v = int.from_bytes(data[pos:pos + {nb}], 'big')"]
    shift = h.htype.nbits
    for k, (_, w, signed) in enumerate(h.htype.fields):
        shift -= w
        idx = f"{h.base + k}" if base == "" else f"{base} + {k}"
        val = f"(v >> {shift}) & {(1 << w) - 1:#x}" if shift else f"v & {(1 << w) - 1:#x}"
        if signed:
            val = f"two_comp_mod({val}, {w})"
        out.append(f"{ind}F[{idx}] = {val}")
    out.append(f"{ind}pos += {nb}")
    return out


def compile_parser(gen: Gen, pj: dict, vsets: dict[str, ParseValueSet],
                   primitive: Callable[[Any, str, str], list[str]]) -> Callable:
    lay = gen.layout
    pname = req(pj, "name", str, "parsers[]")
    where0 = f"parsers[{pname}]"
    states = req(pj, "parse_states", list, where0)
    index: dict[str, int] = {}
    for i, st in enumerate(states):
        index[req(st, "name", str, f"{where0}.parse_states[{i}]")] = i
    init = req(pj, "init_state", str, where0)
    if init not in index:
        raise PipelineLoadError(f"{where0}.init_state: unknown state {init!r}")
    too_short = lay.error_value("PacketTooShort")
    out_of_bounds = lay.error_value("StackOutOfBounds")
    timeout = lay.error_value("ParserTimeout")
    gen.ns["lookahead"] = make_lookahead(too_short)

    ind = ""
    bodies: list[list[str]] = []
    for i, st in enumerate(states):
        where = f"{where0}.parse_states[{st['name']}]"
        body: list[str] = []
        for j, op in enumerate(req(st, "parser_ops", list, where)):
            w = f"{where}.parser_ops[{j}]"
            kind = req(op, "op", str, w)
            params = req(op, "parameters", list, w)
            if kind == "extract":
                if len(params) != 1:
                    raise PipelineLoadError(f"{w}: extract takes one parameter")
                p = params[0]
                if p.get("type") == "regular":
                    h = lay.header(p.get("value"), w)
                    body += extract_lines(h, "", too_short, ind)
                    body.append(f"{ind}V[{h.hid}] = 1")
                elif p.get("type") == "stack":
                    sk, slot = gen.stack(p.get("value"), w)
                    h0 = lay.headers[lay.stacks[p["value"]][0]]
                    size = len(lay.stacks[p["value"]])
                    body += [f"{ind}i = F[{slot}]",
                             f"{ind}if i >= {size}: raise ParserError({out_of_bounds})",
                             f"{ind}hid = {sk}[i]", f"{ind}b = HB[hid]"]
                    body += extract_lines(h0, "b", too_short, ind)
                    body += [f"{ind}V[hid] = 1", f"{ind}F[{slot}] = i + 1"]
                else:
                    raise PipelineLoadError(f"{w}: unsupported extract target {p.get('type')!r}")
            elif kind == "set":
                if len(params) != 2:
                    raise PipelineLoadError(f"{w}: set takes two parameters")
                body.append(ind + gen.store(params[0], gen.expr(params[1], w), w))
            elif kind == "verify":
                if len(params) != 2:
                    raise PipelineLoadError(f"{w}: verify takes two parameters")
                body.append(f"{ind}if not {gen.expr(params[0], w)}: raise ParserError({gen.expr(params[1], w)})")
            elif kind in ("advance", "shift"):
                if len(params) != 1:
                    raise PipelineLoadError(f"{w}: {kind} takes one parameter")
                amount = gen.expr(params[0], w)
                nbytes = f"({amount}) // 8" if kind == "advance" else f"({amount})"
                body += [f"{ind}adv = {nbytes}",
                         f"{ind}if adv < 0 or pos + adv > n: raise ParserError({too_short})",
                         f"{ind}pos += adv"]
            elif kind == "primitive":
                if len(params) != 1:
                    raise PipelineLoadError(f"{w}: primitive takes one parameter")
                body += primitive(params[0], w, ind)
            else:
                raise PipelineLoadError(f"{w}: unsupported parser op {kind!r}")
        body += _transition(gen, st, where, index, vsets, ind)
        bodies.append(body)
    if INLINE:
        try:
            return gen.compile_fn("parse", _inline_src(bodies, index[init]))
        except _Cyclic:
            pass
    return gen.compile_fn("parse", _loop_src(bodies, index[init], timeout))


_GO = "\x00go "  # a transition's target in a state body: replaced by each emitter
INLINE = True  # False: the state loop only (tests hold the two against each other)
MAX_INLINE_LINES = 4000  # generated lines of an inlined parser; more: the state loop
MAX_INLINE_DEPTH = 40


class _Cyclic(Exception):
    """The parse graph loops (header stacks) or is too big to inline."""


def _loop_src(bodies: list[list[str]], init: int, timeout: int) -> str:
    """States in a loop: `st` selects the next one; a budget stops parser loops."""
    L = ["def parse(data, F, V, X):",
         "    n = len(data)",
         "    pos = 0",
         f"    st = {init}",
         f"    budget = {MAX_STATES_PER_PACKET}",
         "    try:",
         "        while True:",
         "            budget -= 1",
         f"            if budget < 0: raise ParserError({timeout})"]
    ind = " " * 16
    for i, body in enumerate(bodies):
        L.append(f"            {'if' if i == 0 else 'elif'} st == {i}:")
        for line in body:
            head, sep, nxt = line.partition(_GO)
            if sep:
                line = head + (f"st = {nxt}; continue" if nxt != "accept" else "return pos, 0")
            L.append(ind + line)
    L += ["            else:",
          "                return pos, 0",
          "    except ParserError as e:",
          "        return pos, e.error"]
    return "\n".join(L) + "\n"


def _inline_src(bodies: list[list[str]], init: int) -> str:
    """An acyclic parse graph as nested code: each transition pastes its target
    state in place (no loop, no state variable). A path visits each state once,
    so with no more states than MAX_STATES_PER_PACKET the budget never ends it."""
    if len(bodies) > MAX_STATES_PER_PACKET:
        raise _Cyclic("too many states")
    L = ["def parse(data, F, V, X):",
         "    n = len(data)",
         "    pos = 0",
         "    try:"]

    def emit(i: int, ind: str, path: tuple) -> None:
        if i in path or len(path) > MAX_INLINE_DEPTH or len(L) > MAX_INLINE_LINES:
            raise _Cyclic("parser loop or too big")
        for line in bodies[i]:
            head, sep, nxt = line.partition(_GO)
            if not sep:
                L.append(ind + line)
            elif nxt == "accept":
                L.append(ind + head + "return pos, 0")
            elif head.strip():  # `if cond: <go>`: the target state nested under the test
                L.append(ind + head.rstrip())
                emit(int(nxt), ind + "    ", path + (i,))
            else:  # the default transition: the target state follows at this level
                emit(int(nxt), ind, path + (i,))

    emit(init, " " * 8, ())
    L += ["    except ParserError as e:",
          "        return pos, e.error"]
    return "\n".join(L) + "\n"


def _transition(gen: Gen, st: dict, where: str, index: dict[str, int],
                vsets: dict[str, ParseValueSet], ind: str) -> list[str]:
    lay = gen.layout
    keys = st.get("transition_key") or []
    parts = []  # (source, padded width)
    for k, kn in enumerate(keys):
        w = f"{where}.transition_key[{k}]"
        t = kn.get("type") if isinstance(kn, dict) else None
        if t == "field":
            idx = lay.field(kn["value"], w)
            parts.append((f"F[{idx}]", (lay.widths[idx] + 7) // 8 * 8))
        elif t == "stack_field":
            stack = kn["value"][0]
            gen.stack(stack, w)
            first = lay.headers[lay.stacks[stack][0]]
            off = gen._stack_field_offset(stack, kn["value"][1], w)
            parts.append((gen.expr(kn, w), (lay.widths[first.base + off] + 7) // 8 * 8))
        elif t == "lookahead":
            parts.append((gen.expr(kn, w), (kn["value"][1] + 7) // 8 * 8))
        else:
            raise PipelineLoadError(f"{w}: unsupported transition key type {t!r}")
    out = []
    if parts:
        total = sum(p[1] for p in parts)
        shift = total
        terms = []
        for src, pw in parts:
            shift -= pw
            terms.append(f"({src} << {shift})" if shift else src)
        out.append(f"{ind}k = " + " | ".join(terms))
    trans = req(st, "transitions", list, where)
    for j, tr in enumerate(trans):
        w = f"{where}.transitions[{j}]"
        if not isinstance(tr, dict):
            raise PipelineLoadError(f"{w}: expected an object, got {tr!r}")
        nxt = tr.get("next_state")
        if nxt is not None and nxt not in index:
            raise PipelineLoadError(f"{w}: unknown next_state {nxt!r}")
        go = _GO + (str(index[nxt]) if nxt is not None else "accept")
        ttype = tr.get("type")
        if ttype == "default" or (ttype is None and tr.get("value") == "default"):
            out.append(f"{ind}{go}")
            break
        if not parts:
            raise PipelineLoadError(f"{w}: value transition without a transition key")
        mask = tr.get("mask")
        if ttype == "parse_vset":
            vs = vsets.get(tr.get("value"))
            if vs is None:
                raise PipelineLoadError(f"{w}: unknown parse_vset {tr.get('value')!r}")
            var = gen.bind("PVS", vs)
            m = hexstr(mask, w) if mask is not None else -1
            out.append(f"{ind}if {var}.matches(k, {m}): {go}")
            continue
        if ttype not in ("hexstr", None):
            raise PipelineLoadError(f"{w}: unsupported transition type {ttype!r}")
        val = hexstr(tr.get("value"), w)
        if mask is None:
            out.append(f"{ind}if k == {val:#x}: {go}")
        else:
            m = hexstr(mask, w)
            out.append(f"{ind}if (k & {m:#x}) == {val & m:#x}: {go}")
    else:
        # no default transition: P4 reject with NoMatch
        out.append(f"{ind}raise ParserError({lay.error_value('NoMatch')})")
    return out
