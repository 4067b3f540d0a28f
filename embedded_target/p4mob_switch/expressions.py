"""Compile bmv2 JSON expressions ("the type value object") to Python source.

Rule: bmv2 arithmetic is infinite precision and a value is truncated to the
destination width only when stored in a field (JSON_format.md "General
information"); p4c emits explicit `&` masks for P4 width wrap. Python ints have
exactly these semantics, so an expression becomes a Python expression over the
per-packet lists F (fields), V (validity) and D (action data), compiled once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .errors import ParserError, PipelineLoadError
from .loader import MAX_BITWIDTH, Layout, hexstr

MAX_LOOKAHEAD = 1 << 20  # bits past the parser cursor (a 64 KiB packet has 2**19)

_BINARY = {
    "+": "+", "-": "-", "*": "*", "<<": "<<", ">>": ">>", "&": "&", "|": "|", "^": "^",
    "==": "==", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<=",
    "and": "and", "or": "or", "%": "%", "/": "//",
}


def two_comp_mod(v: int, w: int) -> int:
    """Signed value of v in w-bit two's complement (JSON_format.md two_comp_mod)."""
    v &= (1 << w) - 1
    return v - (1 << w) if v >> (w - 1) else v


def sat_cast(v: int, w: int) -> int:
    lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
    return lo if v < lo else hi if v > hi else v


def usat_cast(v: int, w: int) -> int:
    hi = (1 << w) - 1
    return 0 if v < 0 else hi if v > hi else v


@lru_cache(maxsize=4096)
def _compiled(src: str, filename: str) -> Any:
    """Code object of generated source; code objects are immutable, so programs
    that generate the same source (a reload, a mutant) share it (bounded cache)."""
    return compile(src, filename, "exec")


class Gen:
    """Code generation context shared by parser, actions and pipeline codegen.

    `ns` is the globals dict of every generated function; objects the code
    needs (tables, counters, helpers) are bound into it under unique names.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.ns: dict[str, Any] = {
            "HB": [h.base for h in layout.headers],
            "two_comp_mod": two_comp_mod,
            "sat_cast": sat_cast,
            "usat_cast": usat_cast,
            "ParserError": ParserError,
        }
        for name, hids in layout.stacks.items():
            self.ns[self._stack_var(name)] = hids
        self._uid = 0
        self.registers: dict[str, str] = {}

    # -- helpers -----------------------------------------------------------
    def bind(self, prefix: str, obj: Any) -> str:
        """Bind obj into the namespace under a fresh name and return the name."""
        self._uid += 1
        name = f"{prefix}_{self._uid}"
        self.ns[name] = obj
        return name

    def compile_fn(self, name: str, src: str) -> Any:
        code = _compiled(src, f"<p4mob:{name}>")
        loc: dict[str, Any] = {}
        exec(code, self.ns, loc)  # noqa: S102 - our own generated code
        return loc[name]

    @staticmethod
    def _stack_var(name: str) -> str:
        return "SK_" + "".join(c if c.isalnum() else "_" for c in name) + f"_{abs(hash(name)) % 10**8}"

    def stack(self, name: Any, where: str) -> tuple[str, int]:
        if name not in self.layout.stacks:
            raise PipelineLoadError(f"{where}: unknown header stack {name!r}")
        return self._stack_var(name), self.layout.stack_next[name]

    def field_width(self, idx: int) -> int:
        return self.layout.widths[idx]

    # -- expressions -------------------------------------------------------
    def expr(self, node: Any, where: str) -> str:
        """Python source for an rvalue type-value object."""
        if not isinstance(node, dict) or "type" not in node:
            raise PipelineLoadError(f"{where}: expected a type/value object, got {node!r}")
        t, v = node["type"], node.get("value")
        if t == "field":
            if isinstance(v, list) and len(v) == 2 and v[1] == "$valid$":
                return f"V[{self.layout.header(v[0], where).hid}]"
            return f"F[{self.layout.field(v, where)}]"
        if t == "hexstr":
            return repr(hexstr(v, where))
        if t == "bool":
            if not isinstance(v, bool):
                raise PipelineLoadError(f"{where}: bool value expected, got {v!r}")
            return "True" if v else "False"
        if t in ("local", "runtime_data"):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise PipelineLoadError(f"{where}: bad {t} index {v!r}")
            return f"D[{v}]"
        if t == "header":
            return repr(self.layout.header(v, where).hid)
        if t == "expression":
            return self._op(v, where)
        if t == "stack_field":
            if not (isinstance(v, list) and len(v) == 2):
                raise PipelineLoadError(f"{where}: bad stack_field {v!r}")
            sk, slot = self.stack(v[0], where)
            off = self._stack_field_offset(v[0], v[1], where)
            return f"F[HB[{sk}[F[{slot}] - 1]] + {off}]"
        if t == "register":
            if not (isinstance(v, list) and len(v) == 2):
                raise PipelineLoadError(f"{where}: bad register reference {v!r}")
            reg = self.register(v[0], where)
            return f"{reg}[{self.expr(v[1], where)}]"
        if t == "lookahead":
            if not (isinstance(v, list) and len(v) == 2 and all(type(x) is int for x in v)  # noqa: E721
                    and 0 <= v[0] <= MAX_LOOKAHEAD and 0 < v[1] <= MAX_BITWIDTH):
                raise PipelineLoadError(f"{where}: bad lookahead {v!r} ([offset, width] in bits)")
            return f"lookahead(data, pos, {v[0]}, {v[1]})"
        if t == "string":
            return repr(str(v))
        raise PipelineLoadError(f"{where}: unsupported value type {t!r}")

    def register(self, name: Any, where: str) -> str:
        var = self.registers.get(name)
        if var is None:
            raise PipelineLoadError(f"{where}: unknown register array {name!r}")
        return var

    def _stack_field_offset(self, stack: str, fname: str, where: str) -> int:
        hid = self.layout.stacks[stack][0]
        h = self.layout.headers[hid]
        if fname not in h.field_index:
            raise PipelineLoadError(f"{where}: stack {stack!r} has no field {fname!r}")
        return h.field_index[fname] - h.base

    def header_expr(self, node: Any, where: str) -> str:
        """Python source evaluating to a header index (hid)."""
        if isinstance(node, dict) and node.get("type") == "expression":
            node = node["value"]
            if isinstance(node, dict) and node.get("op") == "dereference_header_stack":
                sk, _ = self.stack(node["left"].get("value"), where)
                return f"{sk}[{self.expr(node['right'], where)}]"
            if isinstance(node, dict) and node.get("op") == "access_union_header":
                raise PipelineLoadError(f"{where}: access_union_header is not supported")
            if isinstance(node, dict) and "type" in node:
                return self.header_expr(node, where)
        if isinstance(node, dict) and node.get("type") == "header":
            return repr(self.layout.header(node["value"], where).hid)
        raise PipelineLoadError(f"{where}: expected a header expression, got {node!r}")

    def _op(self, e: Any, where: str) -> str:
        if isinstance(e, dict) and "type" in e and "op" not in e:
            return self.expr(e, where)
        if not isinstance(e, dict) or "op" not in e:
            raise PipelineLoadError(f"{where}: bad expression {e!r}")
        op = e["op"]
        left, right = e.get("left"), e.get("right")
        if op in _BINARY:
            return f"({self.expr(left, where)} {_BINARY[op]} {self.expr(right, where)})"
        if op == "not":
            return f"(not {self.expr(right, where)})"
        if op == "~":
            return f"(~{self.expr(right, where)})"
        if op == "valid":
            if isinstance(right, dict) and right.get("type") == "header":
                return f"V[{self.layout.header(right['value'], where).hid}]"
            return f"V[{self.header_expr(right, where)}]"
        if op == "valid_union":
            name = right.get("value") if isinstance(right, dict) else None
            if name not in self.layout.unions:
                raise PipelineLoadError(f"{where}: unknown header union {name!r}")
            return "(" + " or ".join(f"V[{h}]" for h in self.layout.unions[name]) + " or False)"
        if op == "d2b":
            return f"({self.expr(right, where)} != 0)"
        if op == "b2d":
            return f"(1 if {self.expr(right, where)} else 0)"
        if op in ("two_comp_mod", "sat_cast", "usat_cast"):
            return f"{op}({self.expr(left, where)}, {self.expr(right, where)})"
        if op == "?":
            cond = e.get("cond")
            return f"({self.expr(left, where)} if {self.expr(cond, where)} else {self.expr(right, where)})"
        if op == "access_field":
            if not isinstance(right, int):
                raise PipelineLoadError(f"{where}: access_field offset must be an int")
            hsrc = self.header_expr(left, where)
            try:
                hid = int(hsrc)
            except ValueError:
                return f"F[HB[{hsrc}] + {right}]"
            h = self.layout.headers[hid]
            if right >= len(h.htype.fields):
                raise PipelineLoadError(f"{where}: field offset {right} out of range for {h.name!r}")
            return f"F[{h.base + right}]"
        if op == "dereference_header_stack":
            return self.header_expr({"type": "expression", "value": e}, where)
        if op == "last_stack_index":
            _, slot = self.stack(right.get("value") if isinstance(right, dict) else None, where)
            return f"(F[{slot}] - 1)"
        if op == "size_stack":
            _, slot = self.stack(right.get("value") if isinstance(right, dict) else None, where)
            return f"F[{slot}]"
        raise PipelineLoadError(f"{where}: unsupported expression op {op!r}")

    # -- lvalues -----------------------------------------------------------
    def store(self, dst: Any, value_src: str, where: str) -> str:
        """A Python statement storing value_src into a field lvalue, truncated."""
        t = dst.get("type") if isinstance(dst, dict) else None
        if t == "field":
            idx = self.layout.field(dst.get("value"), where)
            return self._store_idx(str(idx), self.layout.widths[idx], self.layout.signed[idx], value_src)
        if t == "expression":
            e = dst.get("value")
            if isinstance(e, dict) and e.get("type") == "expression":
                e = e["value"]
            if isinstance(e, dict) and e.get("op") == "access_field":
                hsrc = self.header_expr(e["left"], where)
                off = e["right"]
                try:
                    hid = int(hsrc)
                except ValueError:
                    # dynamic stack member: all members share a type
                    wid = self._dyn_width(e["left"], off, where)
                    return self._store_idx(f"HB[{hsrc}] + {off}", wid, False, value_src)
                idx = self.layout.headers[hid].base + off
                return self._store_idx(str(idx), self.layout.widths[idx], self.layout.signed[idx], value_src)
            raise PipelineLoadError(f"{where}: unsupported lvalue expression {e!r}")
        if t == "stack_field":
            sk, slot = self.stack(dst["value"][0], where)
            off = self._stack_field_offset(dst["value"][0], dst["value"][1], where)
            first = self.layout.headers[self.layout.stacks[dst["value"][0]][0]]
            wid = self.layout.widths[first.base + off]
            return self._store_idx(f"HB[{sk}[F[{slot}] - 1]] + {off}", wid, False, value_src)
        if t == "register":
            reg = self.register(dst["value"][0], where)
            return f"{reg}[{self.expr(dst['value'][1], where)}] = {value_src}"
        raise PipelineLoadError(f"{where}: unsupported assignment target {dst!r}")

    def _dyn_width(self, hnode: Any, off: int, where: str) -> int:
        v = hnode.get("value") if isinstance(hnode, dict) else None
        if isinstance(v, dict) and v.get("op") == "dereference_header_stack":
            name = v["left"].get("value")
            self.stack(name, where)
            first = self.layout.headers[self.layout.stacks[name][0]]
            return self.layout.widths[first.base + off]
        raise PipelineLoadError(f"{where}: cannot resolve width of dynamic field")

    @staticmethod
    def _store_idx(idx: str, width: int, signed: bool, value_src: str) -> str:
        mask = (1 << width) - 1
        if signed:
            return f"F[{idx}] = two_comp_mod({value_src}, {width})"
        return f"F[{idx}] = ({value_src}) & {mask:#x}"
