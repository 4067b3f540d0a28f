"""Compile bmv2 actions and their primitives (JSON_format.md "actions") to Python.

Rule: one generated function `act(F, V, D, X)` per action; D is the action data
tuple (already width-checked by the control plane), X the per-packet context
(exit flag, packet length register, payload). Primitive semantics follow
simple_switch (targets/simple_switch/primitives.cpp): setValid zeroes a header
that was invalid, mark_to_drop sets egress_spec to the drop port and mcast_grp
to 0, `exit` ends the current control. Unknown primitives are a load error.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import PipelineLoadError
from .expressions import Gen
from .loader import bitwidth, req

log = logging.getLogger(__name__)

DROP_PORT = 511  # v1model/simple_switch default drop port

_ARITH = {"add": "+", "subtract": "-", "bit_and": "&", "bit_or": "|", "bit_xor": "^",
          "shift_left": "<<", "shift_right": ">>"}
_IGNORED = {"log_msg", "generate_digest", "no_op", "clone_ingress_pkt_to_egress",
            "clone_egress_pkt_to_egress", "resubmit", "recirculate"}


@dataclass(slots=True)
class CounterArray:
    name: str
    size: int
    direct: bool
    packets: list[int] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.direct:
            self.packets = [0] * self.size
            self.bytes = [0] * self.size

    def count(self, idx: int, nbytes: int) -> None:
        if 0 <= idx < self.size:  # bmv2: out of range -> no update
            self.packets[idx] += 1
            self.bytes[idx] += nbytes


class RegisterArray(list):
    """Register cells; writes are truncated to the register width."""

    def __init__(self, name: str, size: int, bitwidth: int) -> None:
        super().__init__([0] * size)
        self.name = name
        self.bitwidth = bitwidth
        self.mask = (1 << bitwidth) - 1

    def __setitem__(self, idx: int, value: int) -> None:  # type: ignore[override]
        if 0 <= idx < len(self):
            super().__setitem__(idx, value & self.mask)

    def __getitem__(self, idx: int) -> int:  # type: ignore[override]
        if 0 <= idx < len(self):
            return super().__getitem__(idx)
        return 0


@dataclass(slots=True)
class Action:
    name: str
    aid: int  # bmv2 JSON id
    params: list[tuple[str, int]]  # (name, bitwidth)
    fn: Callable
    primitives: list[str]
    inline: list[str] | None = None  # body lines to paste into a control (structured.py), or None


class ActionCompiler:
    def __init__(self, gen: Gen, counters: dict[str, CounterArray],
                 calculations: dict[str, Callable], meters: dict) -> None:
        self.gen = gen
        self.counters = counters
        self.calculations = calculations
        self.meters = meters
        lay = gen.layout
        self.egress_spec = lay.field(["standard_metadata", "egress_spec"], "standard_metadata")
        self.mcast = (lay.field(["standard_metadata", "mcast_grp"], "standard_metadata")
                      if lay.has_field("standard_metadata", "mcast_grp") else None)
        gen.ns["random"] = random.Random(0)
        self.warned: set[str] = set()

    # -- header helpers --------------------------------------------------------
    def _hdr(self, p: Any, where: str) -> str:
        return self.gen.header_expr(p, where)

    def _set_valid(self, hsrc: str, ind: str) -> list[str]:
        lay = self.gen.layout
        try:
            hid = int(hsrc)
        except ValueError:
            return [f"{ind}if not V[{hsrc}]:",
                    f"{ind}    b = HB[{hsrc}]; n = HN[{hsrc}]",
                    f"{ind}    F[b:b + n] = ZERO[:n]; V[{hsrc}] = 1; X.plen += HL[{hsrc}]"]
        h = lay.headers[hid]
        nf = len(h.htype.fields)
        out = [f"{ind}if not V[{hid}]:",
               f"{ind}    F[{h.base}:{h.base + nf}] = ZERO[:{nf}]",
               f"{ind}    V[{hid}] = 1",
               f"{ind}    X.plen += {h.nbytes}"]
        for uname, members in lay.unions.items():  # a union holds one valid member
            if hid in members:
                out += [f"{ind}V[{m}] = 0" for m in members if m != hid]
        return out

    def _copy_header(self, dsrc: str, ssrc: str) -> str:
        return (f"b = HB[{dsrc}]; s = HB[{ssrc}]; n = HN[{ssrc}]; "
                f"F[b:b + n] = F[s:s + n]; V[{dsrc}] = V[{ssrc}]")

    # -- primitives ------------------------------------------------------------
    def primitive(self, prim: Any, where: str, ind: str) -> list[str]:
        gen = self.gen
        lay = gen.layout
        op = req(prim, "op", str, where)
        ps = req(prim, "parameters", list, where)
        w = f"{where}({op})"

        def need(n: int) -> None:
            if len(ps) != n:
                raise PipelineLoadError(f"{w}: expected {n} parameters, got {len(ps)}")

        if op == "assign":
            need(2)
            if isinstance(ps[0], dict) and ps[0].get("type") == "header":
                return [ind + self._copy_header(self._hdr(ps[0], w), self._hdr(ps[1], w))]
            return [ind + gen.store(ps[0], gen.expr(ps[1], w), w)]
        if op == "modify_field":  # P4_14 spelling of assign
            need(2) if len(ps) == 2 else need(3)
            src = gen.expr(ps[1], w) if len(ps) == 2 else f"({gen.expr(ps[1], w)} & {gen.expr(ps[2], w)})"
            return [ind + gen.store(ps[0], src, w)]
        if op in ("assign_header", "copy_header"):
            need(2)
            return [ind + self._copy_header(self._hdr(ps[0], w), self._hdr(ps[1], w))]
        if op == "assign_union":
            need(2)
            d, s = (lay.unions.get(p.get("value")) for p in ps)
            if d is None or s is None:
                raise PipelineLoadError(f"{w}: unknown header union")
            return [ind + self._copy_header(str(a), str(b)) for a, b in zip(d, s)]
        if op == "assign_header_stack":
            need(2)
            (dsk, dslot), (ssk, sslot) = (gen.stack(p.get("value"), w) for p in ps)
            d, s = lay.stacks[ps[0]["value"]], lay.stacks[ps[1]["value"]]
            out = [ind + self._copy_header(str(a), str(b)) for a, b in zip(d, s)]
            return out + [f"{ind}F[{dslot}] = F[{sslot}]"]
        if op in ("add_header", "setValid"):
            need(1)
            return self._set_valid(self._hdr(ps[0], w), ind)
        if op == "add_header_fast":
            need(1)
            return [f"{ind}V[{self._hdr(ps[0], w)}] = 1"]
        if op in ("remove_header", "setInvalid"):
            need(1)
            h = self._hdr(ps[0], w)
            return [f"{ind}if V[{h}]: V[{h}] = 0; X.plen -= HL[{h}]"]
        if op in ("push", "pop"):
            need(2)
            sk, slot = gen.stack(ps[0].get("value"), w)
            gen.ns["stack_push"], gen.ns["stack_pop"] = _stack_push, _stack_pop
            return [f"{ind}stack_{op}(F, V, HB, HN, {sk}, {slot}, {gen.expr(ps[1], w)})"]
        if op in ("mark_to_drop", "drop"):
            out = [f"{ind}F[{self.egress_spec}] = {DROP_PORT}"]
            if self.mcast is not None:
                out.append(f"{ind}F[{self.mcast}] = 0")
            return out
        if op == "exit":
            return [f"{ind}X.exit = True", f"{ind}return"]
        if op == "count":
            need(2)
            ca = self.counters.get(ps[0].get("value"))
            if ca is None:
                raise PipelineLoadError(f"{w}: unknown counter array {ps[0].get('value')!r}")
            var = gen.bind("CA", ca)
            return [f"{ind}{var}.count({gen.expr(ps[1], w)}, X.ilen)"]
        if op == "register_read":
            need(3)
            reg = gen.register(ps[1].get("value"), w)
            return [ind + gen.store(ps[0], f"{reg}[{gen.expr(ps[2], w)}]", w)]
        if op == "register_write":
            need(3)
            reg = gen.register(ps[0].get("value"), w)
            return [f"{ind}{reg}[{gen.expr(ps[1], w)}] = {gen.expr(ps[2], w)}"]
        if op == "modify_field_with_hash_based_offset":
            need(4)
            calc = self.calculations.get(ps[2].get("value"))
            if calc is None:
                raise PipelineLoadError(f"{w}: unknown calculation {ps[2].get('value')!r}")
            var = gen.bind("CALC", calc)
            size = gen.expr(ps[3], w)
            return [f"{ind}sz = {size} or 1",
                    ind + gen.store(ps[0], f"({var}(F, V, X.payload) % sz) + {gen.expr(ps[1], w)}", w)]
        if op == "modify_field_rng_uniform":
            need(3)
            return [ind + gen.store(ps[0], f"random.randint({gen.expr(ps[1], w)}, {gen.expr(ps[2], w)})", w)]
        if op in _ARITH:
            need(3)
            return [ind + gen.store(ps[0], f"({gen.expr(ps[1], w)} {_ARITH[op]} {gen.expr(ps[2], w)})", w)]
        if op in ("add_to_field", "subtract_from_field"):
            need(2)
            sign = "+" if op == "add_to_field" else "-"
            return [ind + gen.store(ps[0], f"({gen.expr(ps[0], w)} {sign} {gen.expr(ps[1], w)})", w)]
        if op == "execute_meter":
            need(3)
            m = self.meters.get(ps[0].get("value"))
            if m is None:
                raise PipelineLoadError(f"{w}: unknown meter array {ps[0].get('value')!r}")
            var = gen.bind("METER", m)
            return [ind + gen.store(ps[2], f"{var}.execute({gen.expr(ps[1], w)}, X.ilen)", w)]
        if op == "truncate":
            need(1)
            return [f"{ind}X.trunc = {gen.expr(ps[0], w)}"]
        if op in ("assert", "assume"):
            need(1)
            return [f"{ind}if not {gen.expr(ps[0], w)}: X.assert_failed = True"]
        if op in _IGNORED:
            if op not in self.warned and op not in ("log_msg", "no_op"):
                self.warned.add(op)
                log.warning("%s: primitive %r is not supported by the embedded target; ignored", w, op)
            return [f"{ind}pass"]
        raise PipelineLoadError(f"{w}: unsupported primitive {op!r}")

    # -- actions ---------------------------------------------------------------
    def compile_action(self, aj: Any, idx: int) -> Action:
        where = f"actions[{idx}]"
        name = req(aj, "name", str, where)
        where = f"actions[{name}]"
        aid = req(aj, "id", int, where)
        params = []
        for k, rd in enumerate(req(aj, "runtime_data", list, where)):
            bw = bitwidth(rd, "bitwidth", f"{where}.runtime_data[{k}]")
            params.append((req(rd, "name", str, f"{where}.runtime_data[{k}]"), bw))
        prims = req(aj, "primitives", list, where)
        ops = [p.get("op") if isinstance(p, dict) else None for p in prims]
        L = ["def act(F, V, D, X):"]
        if "_jump" in ops or "_jump_if_zero" in ops:
            L += ["    pc = 0", "    while True:"]
            for k, p in enumerate(prims):
                w = f"{where}.primitives[{k}]"
                L.append(f"        {'if' if k == 0 else 'elif'} pc == {k}:")
                op = p.get("op")
                if op == "_jump":
                    L.append(f"            pc = {self.gen.expr(p['parameters'][0], w)}; continue")
                elif op == "_jump_if_zero":
                    c = self.gen.expr(p["parameters"][0], w)
                    t = self.gen.expr(p["parameters"][1], w)
                    L.append(f"            pc = {t} if not {c} else {k + 1}; continue")
                else:
                    L += self.primitive(p, w, " " * 12)
                    L.append(f"            pc = {k + 1}; continue")
            L.append("        return")
        else:
            for k, p in enumerate(prims):
                L += self.primitive(p, f"{where}.primitives[{k}]", "    ")
        body = L[1:]
        L.append("    return")
        fn = self.gen.compile_fn("act", "\n".join(L) + "\n")
        inline = None
        if "_jump" not in ops and "_jump_if_zero" not in ops and "exit" not in ops and not any(
                "\n" in x or x.strip().startswith("return") for x in body):
            inline = [x[4:] for x in body]
        return Action(name, aid, params, fn, [o for o in ops if o], inline)


def _stack_push(F: list, V: list, HB_OF: list, HN_OF: list, hids: list, slot: int, count: int) -> None:
    """push_front(count): shift members up, new front members invalid."""
    n = len(hids)
    for i in range(n - 1, -1, -1):
        src = i - count
        if src >= 0:
            F[HB_OF[hids[i]]:HB_OF[hids[i]] + HN_OF[hids[i]]] = \
                F[HB_OF[hids[src]]:HB_OF[hids[src]] + HN_OF[hids[src]]]
            V[hids[i]] = V[hids[src]]
        else:
            V[hids[i]] = 0
    F[slot] = min(n, F[slot] + count)


def _stack_pop(F: list, V: list, HB_OF: list, HN_OF: list, hids: list, slot: int, count: int) -> None:
    """pop_front(count): shift members down, back members invalid."""
    n = len(hids)
    for i in range(n):
        src = i + count
        if src < n:
            F[HB_OF[hids[i]]:HB_OF[hids[i]] + HN_OF[hids[i]]] = \
                F[HB_OF[hids[src]]:HB_OF[hids[src]] + HN_OF[hids[src]]]
            V[hids[i]] = V[hids[src]]
        else:
            V[hids[i]] = 0
    F[slot] = max(0, F[slot] - count)


def install_header_tables(gen: Gen) -> None:
    """Bind per-header base/field-count/byte-length tables used by generated code."""
    lay = gen.layout
    gen.ns["HN"] = [len(h.htype.fields) for h in lay.headers]
    gen.ns["HL"] = [0 if h.metadata else h.nbytes for h in lay.headers]
    gen.ns["ZERO"] = [0] * max([len(h.htype.fields) for h in lay.headers] + [1])
