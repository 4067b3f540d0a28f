"""Compile a control's node graph (tables, conditionals) into Python functions.

Rule: the control becomes one structured function (structured.py) when its
graph allows; otherwise (and when WHOLE is False, for the tests) every node
becomes one generated function `node(F, V, X) -> next node function | None`
with its key, lookup, counters, action call and successor choice inlined; the
control runs `n = n(F, V, X)` until None or `exit`.
Table semantics are those of pipeline.py's reference loop: a miss runs the
default action (counted on the default entry), a hit counts the entry;
`__HIT__/__MISS__` successors when the program uses `.hit`/`.miss`, else the
successor of the action that ran (`base_default_next` if not listed).
"""

from __future__ import annotations

from typing import Any, Callable

from .expressions import Gen
from .structured import Unstructured, compile_structured, post_order


def _resolve(t: Any, e: Any, F: list, V: list, X: Any) -> tuple:
    """Action and data of an indirect entry (member or selected group member)."""
    if e.member_id is not None:
        act, data, _ = t.profile.members[e.member_id]
        return act, data
    r = t.profile.resolve_group(e.group_id, F, V, X.payload)
    return r if r is not None else (t.default_action, t.default_data)


def find_cycle(init: Any) -> str | None:
    """The name of a node the graph from ``init`` comes back to, or None."""
    loop = post_order(init)[1] if init is not None else None
    return None if loop is None else str(getattr(loop, "name", "?"))


WHOLE = True  # False: per-node functions only (tests hold them against the reference too)


def compile_control(gen: Gen, nodes: list, init: Any) -> Callable:
    gen.ns.setdefault("resolve_indirect", _resolve)
    if WHOLE:
        try:
            return compile_structured(gen, init)
        except Unstructured:
            pass
    names = {id(n): gen.bind("NODE", None) for n in nodes}

    def ref(n: Any) -> str:
        return "None" if n is None else names[id(n)]

    late: list[tuple[str, Any]] = []
    for n in nodes:
        if hasattr(n, "table"):
            src = _table_src(gen, n, ref, late)
        else:
            src = (f"def node(F, V, X):\n"
                   f"    return {ref(n.true_next)} if {n.src} else {ref(n.false_next)}\n")
        gen.ns[names[id(n)]] = gen.compile_fn("node", src)
    for var, n in late:  # successor by action, now that every node function exists
        gen.ns[var] = {aid: (gen.ns[names[id(v)]] if v is not None else None) for aid, v in n.by_action.items()}
    first = gen.ns[names[id(init)]] if init is not None else None

    def run(F: list, V: list, X: Any) -> None:
        n = first
        while n is not None:
            n = n(F, V, X)
            if X.exit:
                return
    return run


def _table_src(gen: Gen, n: Any, ref: Callable[[Any], str], late: list) -> str:
    t = n.table
    T = gen.bind("TBL", t)
    key = gen.bind("KEY", t.key_fn)
    lookup = gen.bind("LOOKUP", t._exact.get if t.mode == "exact" else t.lookup)
    miss = ref(n.miss_next)
    meter = ""
    if t.direct_meter is not None and t.direct_meter.result_target is not None:
        mv = gen.bind("DMETER", t.direct_meter)
        meter = f"    F[{t.direct_meter.result_target}] = {mv}.execute(e.seq, X.ilen)\n"
    if n.hitmiss:
        after_hit, after_miss = f"return {ref(n.hit_next)}", f"return {miss}"
    elif all(v is n.miss_next for v in n.by_action.values()):
        after_hit = after_miss = f"return {miss}"  # every action continues to the same node
    else:
        var = gen.bind("NEXT", None)
        late.append((var, n))
        after_hit = after_miss = f"return {var}.get(id(a), {miss})"
    if not t.keys and t.default_const:
        # p4c's keyless "dummy" tables for direct action calls: always the const default
        a = t.default_action
        if a is None:
            return f"def node(F, V, X):\n    return {miss}\n"
        nxt = ref(n.miss_next if n.hitmiss else n.by_action.get(id(a), n.miss_next))
        fn, data = gen.bind("ACT", a.fn), gen.bind("DATA", t.default_data)
        return f"def node(F, V, X):\n    {fn}(F, V, {data}, X)\n    return {nxt}\n"
    dcount = (f"        {T}.default_packets += 1\n        {T}.default_bytes += X.ilen\n"
              if t.with_counters else "")
    return (
        "def node(F, V, X):\n"
        f"    e = {lookup}({key}(F, V))\n"
        "    if e is None:\n"
        f"{dcount}"
        f"        a = {T}.default_action\n"
        "        if a is None:\n"
        f"            return {miss}\n"
        f"        a.fn(F, V, {T}.default_data, X)\n"
        f"        {after_miss}\n"
        "    e.packets += 1\n"
        "    e.bytes += X.ilen\n"
        f"{meter}"
        "    a = e.action\n"
        "    if a is None:\n"
        f"        a, d = resolve_indirect({T}, e, F, V, X)\n"
        "        if a is None:\n"
        f"            return {miss}\n"
        "    else:\n"
        "        d = e.data\n"
        "    a.fn(F, V, d, X)\n"
        f"    {after_hit}\n"
    )
