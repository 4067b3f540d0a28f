"""Small valid bmv2 programs cut from the full ones, as extra switch_pipeline seeds.

A mutant of a 500 KB program costs tens of milliseconds to decode, edit, encode and
load; a slice of the same program (its headers and parser, one table or one
condition, the actions that table names) costs one or two, and reaches the same
loader code for that construct. So the fuzzer gets both: the full programs, and
for each program

- the program without ``source_info`` (the loader ignores it; a third of the bytes),
- the program with empty controls (header layout, parser, deparser, checksums),
- one slice per table and one per condition of each control, the other control empty
  (at most MAX_SLICES, spread over the program).

Every slice is kept only if the loader accepts it: seeds are valid programs, the
mutator makes them invalid.
"""
from __future__ import annotations

import copy
from typing import Iterator

MAX_SLICES = 80  # per program; mobility.json has 210 tables and conditions: every third is taken


def strip_source_info(tree):
    if isinstance(tree, dict):
        return {k: strip_source_info(v) for k, v in tree.items() if k != "source_info"}
    if isinstance(tree, list):
        return [strip_source_info(v) for v in tree]
    return tree


def _empty_control(pipe: dict) -> dict:
    return dict(pipe, init_table=None, tables=[], action_profiles=[], conditionals=[])


def _with_pipes(doc: dict, keep: int, pipe: dict, action_ids: set | None) -> dict:
    out = dict(doc, pipelines=[pipe if i == keep else _empty_control(p) for i, p in enumerate(doc["pipelines"])])
    tables = {t.get("name") for t in pipe["tables"]}
    for arrays in ("counter_arrays", "meter_arrays"):  # direct ones name their table
        if isinstance(doc.get(arrays), list):
            out[arrays] = [a for a in doc[arrays] if not a.get("is_direct") or a.get("binding") in tables]
    if action_ids is not None:
        out["actions"] = [a for a in doc["actions"] if a.get("id") in action_ids]
    return out


def slices(doc: dict) -> Iterator[dict]:
    """Candidate small programs cut from a (source_info-free) bmv2 document."""
    yield _with_pipes(doc, -1, {"tables": []}, set())
    for i, pipe in enumerate(doc["pipelines"]):
        for t in pipe.get("tables") or []:
            one = copy.deepcopy(t)
            one["base_default_next"] = None
            one["next_tables"] = {k: None for k in one.get("next_tables") or {}}
            cut = dict(pipe, init_table=one["name"], tables=[one], conditionals=[])
            yield _with_pipes(doc, i, cut, set(one.get("action_ids") or []))
        for c in pipe.get("conditionals") or []:
            one = dict(c, true_next=None, false_next=None)
            cut = dict(pipe, init_table=one["name"], tables=[], action_profiles=[], conditionals=[one])
            yield _with_pipes(doc, i, cut, set())


def small_programs(doc: dict) -> list[dict]:
    """The stripped program and its slices that load (PipelineLoadError: left out)."""
    import json

    from p4mob_switch.errors import PipelineLoadError
    from p4mob_switch.program import Program

    bare = strip_source_info(doc)
    out = [bare]
    cands = list(slices(bare))
    for cand in cands[::-(-len(cands) // MAX_SLICES)]:
        try:
            Program(json.dumps(cand, separators=(",", ":")).encode())
        except PipelineLoadError:
            continue
        out.append(cand)
    return out
