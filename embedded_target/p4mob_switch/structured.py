"""Compile a whole control graph into one Python function (structured code).

Rule: same semantics as controlflow.py's per-node functions, which stay the
fallback: each conditional becomes `if/else` whose branches end at the
conditional's immediate post-dominator (where they join again), a table's
successors by action or hit/miss likewise; keyless tables with a const default
(p4c's calls of actions from the control body) and inlinable actions are
pasted in. A graph that is cyclic, nests too deep or would grow too big by
duplicating shared nodes raises Unstructured and the caller falls back. One
call per control instead of one per node (72 calls per packet in mobility.p4).
"""

from __future__ import annotations

from typing import Any, Callable

from .expressions import Gen

MAX_LINES = 20000  # generated lines per control; more: per-node functions
MAX_DEPTH = 60  # nesting of if/else (Python's parser allows about 100 levels)


class Unstructured(Exception):
    """The graph cannot be written as structured code within the bounds."""


def successors(n: Any) -> list:
    if not hasattr(n, "table"):
        return [n.true_next, n.false_next]
    if n.hitmiss:
        return [n.hit_next, n.miss_next]
    return list(n.by_action.values()) + [n.miss_next]


def post_order(init: Any) -> tuple[list, Any]:
    """(the nodes from ``init`` in post-order: successors first, the node the graph loops back
    to or None). Iterative: a hostile JSON's depth cannot exhaust the stack."""
    order: list = []
    state: dict[int, int] = {id(init): 1}  # 1 = on the DFS stack, 2 = done
    stack = [(init, iter(successors(init)))]
    while stack:
        n, it = stack[-1]
        for s in it:
            if s is None:
                continue
            st = state.get(id(s))
            if st == 1:
                return order, s
            if st is None:
                state[id(s)] = 1
                stack.append((s, iter(successors(s))))
                break
        else:
            stack.pop()
            state[id(n)] = 2
            order.append(n)
    return order, None


def _post_dominators(init: Any) -> dict[int, Any]:
    """id(node) -> immediate post-dominator (None = the end of the control)."""
    order, loop = post_order(init)
    if loop is not None:
        raise Unstructured("cyclic control graph")
    chain: dict[int, list] = {}
    ipdom: dict[int, Any] = {}
    for n in order:
        cs = [chain[id(s)] if s is not None else [None] for s in successors(n)]
        common = set.intersection(*(set(map(id, c)) for c in cs))
        j = next(x for x in cs[0] if id(x) in common)
        ipdom[id(n)] = j
        chain[id(n)] = [n] + (chain[id(j)] if j is not None else [None])
    return ipdom


def compile_structured(gen: Gen, init: Any) -> Callable:
    ipdom = _post_dominators(init) if init is not None else {}
    L = ["def run(F, V, X):"]

    def emit(n: Any, stop: Any, depth: int) -> None:
        start = len(L)
        while n is not None and n is not stop:
            if depth > MAX_DEPTH or len(L) > MAX_LINES:
                raise Unstructured("control too big for one function")
            ind = "    " * depth
            if hasattr(n, "table"):
                n = _table(n, ind, depth)
            else:
                j = ipdom[id(n)]
                L.append(f"{ind}if {n.src}:")
                _branch(n.true_next, j, depth)
                if n.false_next is not j:
                    L.append(f"{ind}else:")
                    _branch(n.false_next, j, depth)
                n = j
        if len(L) == start:
            L.append("    " * depth + "pass")

    def _branch(n: Any, stop: Any, depth: int) -> None:
        emit(n, stop, depth + 1)

    def call(a: Any, data_src: str, ind: str) -> None:
        """Run action `a` (known at compile time) with data `data_src`."""
        if a.inline is not None:
            if any("D[" in x for x in a.inline):
                L.append(f"{ind}D = {data_src}")
            L.extend(ind + line for line in a.inline)
        else:
            L.append(f"{ind}{gen.bind('ACT', a.fn)}(F, V, {data_src}, X)")
            if "exit" in a.primitives:
                L.append(f"{ind}if X.exit: return")

    def _lookup(t: Any, T: str, lookup: str, ind: str) -> None:
        """`_e = ` the entry hit, or None; LPM walks the prefix lengths inline,
        ternary tries the table's lookup cache first (tables.py)."""
        nonlocal L
        if t.mode == "lpm":
            li = t.lpm_index
            ks = [f"_k{i}" for i in range(len(t.key_terms))]
            L.extend(f"{ind}{k} = {src}" for k, src in zip(ks, t.key_terms))
            ks[li] = f"{ks[li]} & _m"
            L += [f"{ind}for _p, _m, _dd in {T}._lpm_lens:",
                  f"{ind}    _e = _dd.get(({', '.join(ks)},))",
                  f"{ind}    if _e is not None: break",
                  f"{ind}else:",
                  f"{ind}    _e = None"]
        elif t.mode == "ternary":
            gen.ns.setdefault("NOT_CACHED", object())
            L += [f"{ind}_k = {t.key_src}",
                  f"{ind}_e = {T}._cache.get(_k, NOT_CACHED)",
                  f"{ind}if _e is NOT_CACHED: _e = {lookup}(_k)"]
        else:
            L.append(f"{ind}_e = {lookup}({t.key_src})")

    def _table(n: Any, ind: str, depth: int) -> Any:
        nonlocal L
        t = n.table
        if not t.keys and t.default_const:  # p4c's keyless table for a direct action call
            a = t.default_action
            if a is None:
                return n.miss_next
            call(a, gen.bind("DATA", t.default_data), ind)
            return n.miss_next if n.hitmiss else n.by_action.get(id(a), n.miss_next)
        T = gen.bind("TBL", t)
        lookup = gen.bind("LOOKUP", t._exact.get if t.mode == "exact" else t.lookup)
        acts = list(t.actions.values()) + ([t.default_action] if t.default_action is not None else [])
        exits = t.profile is not None or any("exit" in a.primitives for a in acts)
        chk = [f"{ind}    if X.exit: return"] if exits else []
        _lookup(t, T, lookup, ind)
        L.append(f"{ind}if _e is None:")
        if t.with_counters:
            L += [f"{ind}    {T}.default_packets += 1", f"{ind}    {T}.default_bytes += X.ilen"]
        L += [f"{ind}    _a = {T}.default_action",
              f"{ind}    if _a is not None:",
              f"{ind}        _a.fn(F, V, {T}.default_data, X)"]
        L += ["    " + c for c in chk]
        L += [f"{ind}    _h = 0",
              f"{ind}else:",
              f"{ind}    _e.packets += 1",
              f"{ind}    _e.bytes += X.ilen"]
        dm = t.direct_meter
        if dm is not None and dm.result_target is not None:
            L.append(f"{ind}    F[{dm.result_target}] = {gen.bind('DMETER', dm)}.execute(_e.seq, X.ilen)")
        L += [f"{ind}    _a = _e.action",
              f"{ind}    if _a is None:",
              f"{ind}        _a, _d = resolve_indirect({T}, _e, F, V, X)",
              f"{ind}        if _a is not None:",
              f"{ind}            _a.fn(F, V, _d, X)",
              f"{ind}    else:",
              f"{ind}        _a.fn(F, V, _e.data, X)"]
        L += chk
        L.append(f"{ind}    _h = _a is not None")  # a hit whose action resolved to none goes on as a miss
        succ = successors(n)
        if all(s is succ[0] for s in succ):
            return succ[0]
        j = ipdom[id(n)]
        if n.hitmiss:
            L.append(f"{ind}if _h:")
            _branch(n.hit_next, j, depth)
            L.append(f"{ind}else:")
            _branch(n.miss_next, j, depth)
            return j
        groups: dict[int, tuple[Any, list[str]]] = {}
        for a in t.actions.values():
            s = n.by_action.get(id(a), n.miss_next)
            if s is not n.miss_next:
                groups.setdefault(id(s), (s, []))[1].append(gen.bind("A", a))
        kw = "if"
        for s, names in groups.values():
            L.append(f"{ind}{kw} " + " or ".join(f"_a is {x}" for x in names) + ":")
            _branch(s, j, depth)
            kw = "elif"
        L.append(f"{ind}else:")
        _branch(n.miss_next, j, depth)
        return j

    emit(init, None, 1)
    return gen.compile_fn("run", "\n".join(L) + "\n")
