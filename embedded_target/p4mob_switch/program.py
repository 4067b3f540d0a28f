"""Build a runnable program from bmv2 JSON: tables, controls, checksums, deparser.

Rule: this module turns every JSON section into compiled objects once
(PipelineLoadError on anything malformed); the packet path in pipeline.py only
calls what is built here. Controls are graphs of nodes (tables, conditionals)
whose successors are resolved to node objects at load time.
"""

from __future__ import annotations

from typing import Any, Callable

from .actions import Action, ActionCompiler, CounterArray, RegisterArray, install_header_tables
from .controlflow import compile_control, find_cycle
from .errors import PipelineLoadError, TargetError
from .expressions import Gen
from .hashes import compile_calculations, compile_inputs
from .meters import MeterArray
from .loader import Layout, bitwidth, build_layout, hexstr, parse_json, req
from .parser import ParseValueSet, compile_parser
from .tables import ActionProfile, Entry, KeyField, Table


class TableNode:
    __slots__ = ("table", "by_action", "hit_next", "miss_next", "hitmiss")

    def __init__(self, table: Table) -> None:
        self.table = table
        self.by_action: dict[int, Any] = {}  # id(Action) -> next node
        self.hit_next = self.miss_next = None
        self.hitmiss = False


class CondNode:
    __slots__ = ("name", "cond", "src", "true_next", "false_next")

    def __init__(self, name: str, cond: Callable, src: str) -> None:
        self.name = name
        self.cond = cond
        self.src = src
        self.true_next = self.false_next = None


class Control:
    def __init__(self, name: str, init: Any, run: Callable) -> None:
        self.name = name
        self.init = init
        self.run = run  # run(F, V, X): the whole control, compiled (controlflow.py)


MAX_ARRAY = 1 << 24  # cells of the counter, meter and register arrays together (a bound, not a bmv2 limit)


def _one_array_size(size: Any, where: str) -> int:
    """A counter/meter/register array size: an integer 0..MAX_ARRAY (null: 0)."""
    size = 0 if size is None else size
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_ARRAY:
        raise PipelineLoadError(f"{where}: bad size {size!r} (0..{MAX_ARRAY})")
    return size


class Program:
    """Everything compiled from one bmv2 JSON document."""

    def __init__(self, json_bytes: bytes | str) -> None:
        try:
            self._build(json_bytes)
        except PipelineLoadError:
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError, RecursionError) as exc:
            # a JSON shape the checks above do not name (found by fuzzing): still INVALID_ARGUMENT
            raise PipelineLoadError(f"malformed bmv2 JSON ({type(exc).__name__}: {exc})") from None

    def _build(self, json_bytes: bytes | str) -> None:
        doc = parse_json(json_bytes)
        self.json_bytes = json_bytes if isinstance(json_bytes, bytes) else json_bytes.encode()
        self.layout: Layout = build_layout(doc)
        lay = self.layout
        gen = self.gen = Gen(lay)
        install_header_tables(gen)
        cells = 0

        def _array_size(size: Any, where: str) -> int:  # one array's, within the program's budget
            nonlocal cells
            n = _one_array_size(size, where)
            cells += n
            if cells > MAX_ARRAY:
                raise PipelineLoadError(f"{where}: the program's arrays would hold more than {MAX_ARRAY} cells together")
            return n

        self.counters: dict[str, CounterArray] = {}
        self.direct_counters: dict[str, str] = {}  # counter name -> table name
        for i, c in enumerate(doc.get("counter_arrays") or []):
            w = f"counter_arrays[{i}]"
            name = req(c, "name", str, w)
            direct = bool(c.get("is_direct", False))
            size = c.get("size", 0) if direct else req(c, "size", int, f"counter_arrays[{name}]")
            self.counters[name] = CounterArray(name, _array_size(size, f"counter_arrays[{name}]"), direct)
            if direct:
                self.direct_counters[name] = c.get("binding")
        self.registers: dict[str, RegisterArray] = {}
        for i, r in enumerate(doc.get("register_arrays") or []):
            w = f"register_arrays[{i}]"
            name = req(r, "name", str, w)
            size = req(r, "size", int, f"register_arrays[{name}]")
            bw = bitwidth(r, "bitwidth", f"register_arrays[{name}]")
            if _array_size(size, f"register_arrays[{name}]") != size:
                raise PipelineLoadError(f"register_arrays[{name}]: bad size")
            self.registers[name] = RegisterArray(name, size, bw)
            gen.registers[name] = gen.bind("REG", self.registers[name])
        self.meters: dict[str, MeterArray] = {}
        for i, m in enumerate(doc.get("meter_arrays") or []):
            w = f"meter_arrays[{i}]"
            name = req(m, "name", str, w)
            direct = bool(m.get("is_direct", False))
            rt = m.get("result_target")
            self.meters[name] = MeterArray(
                name, _array_size(m.get("size", 0), f"meter_arrays[{name}]"), m.get("type", "bytes") == "packets", direct, m.get("binding"),
                lay.field(rt, f"meter_arrays[{name}].result_target") if direct and rt else None)
        self.vsets: dict[str, ParseValueSet] = {}
        for i, v in enumerate(doc.get("parse_vsets") or []):
            name = req(v, "name", str, f"parse_vsets[{i}]")
            self.vsets[name] = ParseValueSet(name, req(v, "compressed_bitwidth", int, f"parse_vsets[{name}]"),
                                             v.get("max_size", 1024))
        self.calculations = compile_calculations(gen, doc)
        ac = self.action_compiler = ActionCompiler(gen, self.counters, self.calculations, self.meters)
        self.actions_by_id: dict[int, Action] = {}
        self.actions: dict[str, Action] = {}
        for i, aj in enumerate(doc["actions"]):
            a = ac.compile_action(aj, i)
            if a.aid in self.actions_by_id:
                raise PipelineLoadError(f"actions[{a.name}]: duplicate action id {a.aid}")
            self.actions_by_id[a.aid] = a
            self.actions.setdefault(a.name, a)
        parsers = doc["parsers"]
        if not parsers:
            raise PipelineLoadError("parsers: no parser")
        pj = next((p for p in parsers if isinstance(p, dict) and p.get("name") == "parser"), parsers[0])
        self.parse = compile_parser(gen, pj, self.vsets, ac.primitive)
        deps = doc["deparsers"]
        if not deps:
            raise PipelineLoadError("deparsers: no deparser")
        self.deparse_order = [lay.header(h, "deparsers[0].order").hid
                              for h in req(deps[0], "order", list, "deparsers[0]")]
        self._checksums(doc)
        self.deparse = self._compile_deparser()
        self.tables: dict[str, Table] = {}
        self.profiles: dict[str, ActionProfile] = {}
        self.controls: dict[str, Control] = {}
        pipes = doc["pipelines"]
        for i, pipe in enumerate(pipes):
            self.controls[req(pipe, "name", str, f"pipelines[{i}]")] = self._control(pipe, i)
        if "ingress" not in self.controls or "egress" not in self.controls:
            if len(pipes) != 2:
                raise PipelineLoadError("pipelines: need 'ingress' and 'egress' (v1model)")
            names = list(self.controls)
            self.controls.setdefault("ingress", self.controls[names[0]])
            self.controls.setdefault("egress", self.controls[names[1]])
        for m in self.meters.values():
            if m.direct:
                if m.binding not in self.tables:
                    raise PipelineLoadError(f"meter_arrays[{m.name}]: binding to unknown table {m.binding!r}")
        for cname, tname in self.direct_counters.items():
            if tname not in self.tables:
                raise PipelineLoadError(f"counter_arrays[{cname}]: binding to unknown table {tname!r}")

    # -- checksums & deparser -------------------------------------------------
    def _checksums(self, doc: dict) -> None:
        lay, gen = self.layout, self.gen
        self.verify_checksums: list[tuple[Callable | None, Callable, int]] = []
        self.update_checksums: list[tuple[Callable | None, Callable, int]] = []
        for i, c in enumerate(doc.get("checksums") or []):
            where = f"checksums[{req(c, 'name', str, f'checksums[{i}]')}]"
            target = lay.field(req(c, "target", list, where), where)
            calc = self.calculations.get(req(c, "calculation", str, where))
            if calc is None:
                raise PipelineLoadError(f"{where}: unknown calculation {c['calculation']!r}")
            cond = c.get("if_cond")
            cond_fn = None
            if cond is not None and cond != {"type": "bool", "value": True}:
                cond_fn = gen.compile_fn("cond", f"def cond(F, V):\n    return {gen.expr(cond, where)}\n")
            item = (cond_fn, calc, target)
            if c.get("verify", True):
                self.verify_checksums.append(item)
            if c.get("update", True):
                self.update_checksums.append(item)

    def _compile_deparser(self) -> Callable:
        lay, gen = self.layout, self.gen
        L = ["def deparse(F, V, P):"]
        for k, (cond_fn, calc, target) in enumerate(self.update_checksums):
            cv, cc = gen.bind("CK_COND", cond_fn), gen.bind("CK_CALC", calc)
            mask = (1 << lay.widths[target]) - 1
            test = f"{cv}(F, V)" if cond_fn else "True"
            L.append(f"    if {test}: F[{target}] = {cc}(F, V, P) & {mask:#x}")
        L.append("    out = []")
        for hid in self.deparse_order:
            h = lay.headers[hid]
            terms = []
            shift = h.htype.nbits
            for k, (_, w, signed) in enumerate(h.htype.fields):
                shift -= w
                src = f"(F[{h.base + k}] & {(1 << w) - 1:#x})" if signed else f"F[{h.base + k}]"
                terms.append(f"({src} << {shift})" if shift else src)
            L.append(f"    if V[{hid}]: out.append(({' | '.join(terms) or '0'}).to_bytes({h.nbytes}, 'big'))")
        L.append("    out.append(P)")
        L.append("    return b''.join(out)")
        return gen.compile_fn("deparse", "\n".join(L) + "\n")

    # -- controls ---------------------------------------------------------------
    def _control(self, pipe: dict, i: int) -> Control:
        gen = self.gen
        pname = pipe["name"]
        where0 = f"pipelines[{pname}]"
        for j, ap in enumerate(pipe.get("action_profiles") or []):
            w = f"{where0}.action_profiles[{j}]"
            name = req(ap, "name", str, w)
            sel = ap.get("selector")
            sel_fn = None
            if sel is not None:
                sel_fn = compile_inputs(gen, name, req(sel, "algo", str, f"{w}.selector"),
                                        req(sel, "input", list, f"{w}.selector"), f"{w}.selector")
            self.profiles[name] = ActionProfile(name, ap.get("max_size", 1024), sel_fn)
        nodes: dict[str, Any] = {}
        tj_by_name = {}
        for j, tj in enumerate(req(pipe, "tables", list, where0)):
            t = self._table(tj, f"{where0}.tables[{j}]")
            nodes[t.name] = TableNode(t)
            tj_by_name[t.name] = tj
        cj_by_name = {}
        for j, cj in enumerate(pipe.get("conditionals") or []):
            w = f"{where0}.conditionals[{j}]"
            name = req(cj, "name", str, w)
            src = gen.expr(req(cj, "expression", dict, w), w)
            nodes[name] = CondNode(name, gen.compile_fn("cond", f"def cond(F, V):\n    return {src}\n"), src)
            cj_by_name[name] = cj
        if pipe.get("action_calls"):
            raise PipelineLoadError(f"{where0}.action_calls: not supported (p4c never emits them)")

        def node(name: Any, w: str) -> Any:
            if name is None:
                return None
            if name not in nodes:
                raise PipelineLoadError(f"{w}: unknown next node {name!r}")
            return nodes[name]

        for name, tj in tj_by_name.items():
            n = nodes[name]
            w = f"{where0}.tables[{name}].next_tables"
            nt = tj.get("next_tables") or {}
            bdn = node(tj.get("base_default_next"), w)
            if "__HIT__" in nt or "__MISS__" in nt:
                n.hitmiss = True
                n.hit_next = node(nt.get("__HIT__"), w)
                n.miss_next = node(nt.get("__MISS__"), w)
            else:
                for aname, a in n.table.actions.items():
                    n.by_action[id(a)] = node(nt[aname], w) if aname in nt else bdn
                n.miss_next = bdn
        for name, cj in cj_by_name.items():
            w = f"{where0}.conditionals[{name}]"
            nodes[name].true_next = node(cj.get("true_next"), w)
            nodes[name].false_next = node(cj.get("false_next"), w)
        init = node(pipe.get("init_table"), f"{where0}.init_table")
        cycle = find_cycle(init)
        if cycle is not None:  # a P4 control is acyclic (P4-16 §13: no loops); this one would never end
            raise PipelineLoadError(f"{where0}: the control graph loops back to {cycle}")
        return Control(pname, init, compile_control(gen, list(nodes.values()), init))

    def _table(self, tj: dict, where: str) -> Table:
        lay, gen = self.layout, self.gen
        name = req(tj, "name", str, where)
        where = f"tables[{name}]"
        keys: list[KeyField] = []
        terms = []
        for k, kj in enumerate(req(tj, "key", list, where)):
            w = f"{where}.key[{k}]"
            mt = req(kj, "match_type", str, w)
            if mt not in ("exact", "lpm", "ternary", "range", "optional", "valid"):
                raise PipelineLoadError(f"{w}: unsupported match_type {mt!r}")
            target = kj.get("target")
            if mt == "valid" or (isinstance(target, list) and len(target) == 2 and target[1] == "$valid$"):
                hname = target if isinstance(target, str) else target[0]
                src, width = f"V[{lay.header(hname, w).hid}]", 1
            else:
                idx = lay.field(target, w)
                src, width = f"F[{idx}]", lay.widths[idx]
            mask = kj.get("mask")
            if mask is not None:
                src = f"({src} & {hexstr(mask, w):#x})"
            terms.append(src)
            keys.append(KeyField(kj.get("name") or ".".join(map(str, target if isinstance(target, list) else [target])),
                                 mt, width))
        key_src = f"({', '.join(terms)}{',' if terms else ''})"
        key_fn = gen.compile_fn("key", f"def key(F, V):\n    return {key_src}\n")
        acts = {}
        for aname in req(tj, "actions", list, where):
            a = self.actions.get(aname)
            if a is None:
                raise PipelineLoadError(f"{where}.actions: unknown action {aname!r}")
            acts[aname] = a
        ids = tj.get("action_ids")
        if isinstance(ids, list) and len(ids) == len(acts):  # disambiguate same-named actions
            acts = {}
            for aid in ids:
                a = self.actions_by_id.get(aid)
                if a is None:
                    raise PipelineLoadError(f"{where}.action_ids: unknown action id {aid!r}")
                acts[a.name] = a
        kind = tj.get("type", "simple")
        if kind not in ("simple", "indirect", "indirect_ws"):
            raise PipelineLoadError(f"{where}.type: unsupported table type {kind!r}")
        prof = None
        if kind != "simple":
            prof = self.profiles.get(tj.get("action_profile"))
            if prof is None:
                raise PipelineLoadError(f"{where}.action_profile: unknown action profile {tj.get('action_profile')!r}")
        t = Table(name, tj.get("id", 0), keys, key_fn, acts, req(tj, "max_size", int, where), kind, prof,
                  bool(tj.get("with_counters", False)), tj.get("next_tables") or {}, tj.get("base_default_next"))
        t.key_src, t.key_terms = key_src, terms  # for controls compiled whole (structured.py)
        t.direct_meter = next((m for m in self.meters.values() if m.direct and m.binding == name), None)
        de = tj.get("default_entry")
        if de is not None:
            a = self.actions_by_id.get(req(de, "action_id", int, f"{where}.default_entry"))
            if a is None:
                raise PipelineLoadError(f"{where}.default_entry: unknown action id {de['action_id']!r}")
            data = self._action_data(a, de.get("action_data") or [], f"{where}.default_entry")
            t.default_action, t.default_data = a, data
            t.default_const = bool(de.get("action_const", False))
            t.init_default = (a, data)
        for j, ej in enumerate(tj.get("entries") or []):
            entry = self._const_entry(t, ej, f"{where}.entries[{j}]")
            try:
                t.insert(entry, const=True)
            except TargetError as exc:  # full, or a duplicate: the program is malformed, not the table
                raise PipelineLoadError(f"{where}.entries[{j}]: {exc}") from None
            t.immutable = True
        self.tables[name] = t
        return t

    def _action_data(self, a: Action, data: list, where: str) -> tuple:
        if len(data) != len(a.params):
            raise PipelineLoadError(f"{where}: action {a.name!r} takes {len(a.params)} arguments, got {len(data)}")
        return tuple(hexstr(d, where) & ((1 << bw) - 1) for d, (_, bw) in zip(data, a.params))

    def _const_entry(self, t: Table, ej: dict, where: str) -> Entry:
        mk = req(ej, "match_key", list, where)
        if len(mk) != len(t.keys):
            raise PipelineLoadError(f"{where}: match_key has {len(mk)} fields, table has {len(t.keys)}")
        match = []
        for kf, m in zip(t.keys, mk):
            mt = m.get("match_type")
            if mt in ("exact",):
                match.append(hexstr(m.get("key"), where))
            elif mt == "valid":
                match.append(1 if m.get("key") else 0)
            elif mt == "lpm":
                match.append((hexstr(m.get("key"), where), int(m.get("prefix_length", 0))))
            elif mt in ("ternary", "optional"):
                match.append((hexstr(m.get("key"), where), hexstr(m.get("mask", hex((1 << kf.width) - 1)), where)))
            elif mt == "range":
                match.append((hexstr(m.get("start"), where), hexstr(m.get("end"), where)))
            else:
                raise PipelineLoadError(f"{where}: unsupported match_type {mt!r}")
        ae = req(ej, "action_entry", dict, where)
        a = self.actions_by_id.get(ae.get("action_id"))
        if a is None:
            raise PipelineLoadError(f"{where}: unknown action id {ae.get('action_id')!r}")
        data = self._action_data(a, ae.get("action_data") or [], where)
        prio = ej.get("priority", 0)
        # bmv2: lower value = higher priority; store as P4Runtime-style (higher wins)
        return Entry(tuple(match), (1 << 24) - int(prio) if t.needs_priority else 0, a, data)
