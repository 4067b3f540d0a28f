"""Load and validate bmv2 JSON (behavioral-model docs/JSON_format.md, v2.x).

Rule: everything the packet path needs is checked and flattened here, once.
Any malformed or unsupported construct raises PipelineLoadError("where: what")
naming the JSON object at fault; nothing later re-validates the JSON.

Layout: every field of every header instance gets one slot in a flat list `F`
(per packet), every header instance one slot in `V` (validity). Generated code
indexes those lists directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import PipelineLoadError

SUPPORTED_MAJOR = 2
MAX_BITWIDTH = 4096  # of a field, register cell, action parameter or constant (a bound, not a bmv2 limit)

# Core P4 errors (p4c assigns values in the JSON; these are fallbacks).
CORE_ERRORS = ("NoError", "PacketTooShort", "NoMatch", "StackOutOfBounds",
               "HeaderTooShort", "ParserTimeout", "ParserInvalidArgument")


@dataclass(slots=True)
class HeaderType:
    name: str
    fields: list[tuple[str, int, bool]]  # (name, width, signed)
    nbits: int
    varbit: bool


@dataclass(slots=True)
class HeaderInstance:
    name: str
    hid: int  # our index (position in Layout.headers)
    htype: HeaderType
    metadata: bool
    base: int  # index of the first field in F
    field_index: dict[str, int] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return (self.htype.nbits + 7) // 8


@dataclass(slots=True)
class Layout:
    headers: list[HeaderInstance]
    by_name: dict[str, HeaderInstance]
    nfields: int
    widths: list[int]  # per F slot
    signed: list[bool]
    stacks: dict[str, list[int]]  # stack name -> header hids
    unions: dict[str, list[int]]  # union name -> member hids
    union_members: dict[str, list[str]]  # union name -> member names
    errors: dict[str, int]
    enums: dict[str, dict[str, int]]
    aliases: dict[str, tuple[str, str]]
    stack_next: dict[str, int]  # stack name -> hidden F slot holding its next index

    def field(self, ref: Any, where: str) -> int:
        """Flat F index of a ["header", "field"] reference."""
        if not (isinstance(ref, list) and len(ref) == 2 and all(isinstance(x, str) for x in ref)):
            raise PipelineLoadError(f"{where}: bad field reference {ref!r}")
        h, f = ref
        alias = self.aliases.get(f"{h}.{f}")
        if alias is not None:
            h, f = alias
        hi = self.by_name.get(h)
        if hi is None:
            raise PipelineLoadError(f"{where}: unknown header instance {h!r}")
        idx = hi.field_index.get(f)
        if idx is None:
            raise PipelineLoadError(f"{where}: header {h!r} has no field {f!r}")
        return idx

    def header(self, name: Any, where: str) -> HeaderInstance:
        hi = self.by_name.get(name) if isinstance(name, str) else None
        if hi is None:
            raise PipelineLoadError(f"{where}: unknown header instance {name!r}")
        return hi

    def has_field(self, h: str, f: str) -> bool:
        hi = self.by_name.get(h)
        return hi is not None and f in hi.field_index

    def error_value(self, name: str) -> int:
        if name in self.errors:
            return self.errors[name]
        return CORE_ERRORS.index(name) if name in CORE_ERRORS else 0


def req(obj: Any, key: str, typ: type | tuple, where: str) -> Any:
    """Fetch a required attribute of a JSON object with a type check."""
    if not isinstance(obj, dict):
        raise PipelineLoadError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if key not in obj:
        raise PipelineLoadError(f"{where}: missing attribute {key!r}")
    val = obj[key]
    if typ is int and isinstance(val, bool):
        raise PipelineLoadError(f"{where}.{key}: expected int, got bool")
    if not isinstance(val, typ):
        names = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise PipelineLoadError(f"{where}.{key}: expected {names}, got {type(val).__name__}")
    return val


def bitwidth(obj: Any, key: str, where: str) -> int:
    """A required bit width attribute: an integer 1..MAX_BITWIDTH (its mask is 2**width - 1)."""
    w = req(obj, key, int, where)
    if not 0 < w <= MAX_BITWIDTH:
        raise PipelineLoadError(f"{where}.{key}: bad bitwidth {w} (1..{MAX_BITWIDTH})")
    return w


def parse_json(data: bytes | str) -> dict:
    """Decode bmv2 JSON text and check `__meta__.version`."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PipelineLoadError(f"bmv2 JSON: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise PipelineLoadError("bmv2 JSON: top level is not an object")
    meta = doc.get("__meta__")
    if meta is not None:
        ver = req(meta, "version", list, "__meta__")
        if len(ver) != 2 or not all(isinstance(v, int) for v in ver):
            raise PipelineLoadError(f"__meta__.version: expected [major, minor], got {ver!r}")
        if ver[0] != SUPPORTED_MAJOR:
            raise PipelineLoadError(
                f"__meta__.version: major version {ver[0]} not supported (need {SUPPORTED_MAJOR}.x)")
    for key in ("header_types", "headers", "parsers", "deparsers", "actions", "pipelines"):
        if not isinstance(doc.get(key), list):
            raise PipelineLoadError(f"bmv2 JSON: missing or non-list top-level attribute {key!r}")
    return doc


def build_layout(doc: dict) -> Layout:
    types: dict[str, HeaderType] = {}
    for i, ht in enumerate(doc["header_types"]):
        where = f"header_types[{i}]"
        name = req(ht, "name", str, where)
        where = f"header_types[{name}]"
        flds = []
        nbits = 0
        varbit = False
        for j, f in enumerate(req(ht, "fields", list, where)):
            if not isinstance(f, list) or len(f) not in (2, 3) or not isinstance(f[0], str):
                raise PipelineLoadError(f"{where}.fields[{j}]: expected [name, width(, signed)]")
            width = f[1]
            if width == "*":
                raise PipelineLoadError(f"{where}.fields[{j}]: variable-length fields are not supported")
            if not isinstance(width, int) or isinstance(width, bool) or width <= 0 or width > MAX_BITWIDTH:
                raise PipelineLoadError(f"{where}.fields[{j}]: bad width {width!r}")
            signed = bool(f[2]) if len(f) == 3 else False
            flds.append((f[0], width, signed))
            nbits += width
        types[name] = HeaderType(name, flds, nbits, varbit)

    headers: list[HeaderInstance] = []
    by_name: dict[str, HeaderInstance] = {}
    by_json_id: dict[int, HeaderInstance] = {}
    widths: list[int] = []
    signed: list[bool] = []
    for i, h in enumerate(doc["headers"]):
        where = f"headers[{i}]"
        name = req(h, "name", str, where)
        where = f"headers[{name}]"
        tname = req(h, "header_type", str, where)
        ht = types.get(tname)
        if ht is None:
            raise PipelineLoadError(f"{where}: unknown header_type {tname!r}")
        meta = bool(h.get("metadata", False))
        if name in by_name:
            raise PipelineLoadError(f"{where}: duplicate header instance name")
        if not meta and ht.nbits % 8:
            raise PipelineLoadError(f"{where}: header type {tname!r} is {ht.nbits} bits, not byte aligned")
        hi = HeaderInstance(name, len(headers), ht, meta, len(widths))
        for fname, w, s in ht.fields:
            hi.field_index[fname] = len(widths)
            widths.append(w)
            signed.append(s)
        headers.append(hi)
        by_name[name] = hi
        by_json_id[h.get("id", i)] = hi

    def ids_to_hids(ids: Any, where: str) -> list[int]:
        if not isinstance(ids, list):
            raise PipelineLoadError(f"{where}: header_ids must be a list")
        out = []
        for x in ids:
            if x not in by_json_id:
                raise PipelineLoadError(f"{where}: unknown header id {x!r}")
            out.append(by_json_id[x].hid)
        return out

    stacks = {}
    for i, s in enumerate(doc.get("header_stacks") or []):
        name = req(s, "name", str, f"header_stacks[{i}]")
        stacks[name] = ids_to_hids(s.get("header_ids"), f"header_stacks[{name}]")
    union_types = {}
    for i, ut in enumerate(doc.get("header_union_types") or []):
        name = req(ut, "name", str, f"header_union_types[{i}]")
        union_types[name] = [m[0] for m in req(ut, "headers", list, f"header_union_types[{name}]")]
    unions = {}
    union_members = {}
    for i, u in enumerate(doc.get("header_unions") or []):
        name = req(u, "name", str, f"header_unions[{i}]")
        unions[name] = ids_to_hids(u.get("header_ids"), f"header_unions[{name}]")
        union_members[name] = union_types.get(u.get("union_type"), [])
    if doc.get("header_union_stacks"):
        raise PipelineLoadError("header_union_stacks: header union stacks are not supported")

    errors = {}
    for i, e in enumerate(doc.get("errors") or []):
        if not (isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], int)):
            raise PipelineLoadError(f"errors[{i}]: expected [name, value]")
        errors[e[0]] = e[1]
    enums = {}
    for i, en in enumerate(doc.get("enums") or []):
        name = req(en, "name", str, f"enums[{i}]")
        enums[name] = {k: v for k, v in req(en, "entries", list, f"enums[{name}]")}
    aliases = {}
    for i, a in enumerate(doc.get("field_aliases") or []):
        if not (isinstance(a, list) and len(a) == 2 and isinstance(a[0], str)
                and isinstance(a[1], list) and len(a[1]) == 2):
            raise PipelineLoadError(f"field_aliases[{i}]: expected [name, [header, field]]")
        aliases[a[0]] = (a[1][0], a[1][1])

    stack_next = {}
    for name in stacks:  # hidden per-packet slots after the real fields
        stack_next[name] = len(widths)
        widths.append(32)
        signed.append(False)
    lay = Layout(headers, by_name, len(widths), widths, signed, stacks, unions,
                 union_members, errors, enums, aliases, stack_next)
    if "standard_metadata" not in by_name:
        raise PipelineLoadError("headers: no 'standard_metadata' instance (not a v1model program?)")
    for f in ("ingress_port", "egress_spec", "egress_port", "packet_length"):
        if not lay.has_field("standard_metadata", f):
            raise PipelineLoadError(f"headers[standard_metadata]: missing field {f!r}")
    return lay


def hexstr(v: Any, where: str) -> int:
    """Decode a bmv2 hexstr ("0x0a", "-0x1")."""
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise PipelineLoadError(f"{where}: expected hexstr, got {v!r}")
    if isinstance(v, int):
        return v
    try:
        return int(v, 16)
    except ValueError:
        raise PipelineLoadError(f"{where}: bad hexstr {v!r}") from None
