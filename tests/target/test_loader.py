"""Bad input at load time gives a PipelineLoadError naming what is wrong."""

from __future__ import annotations

import copy
import json

import pytest
from finsy.proto import p4i
from google.protobuf import text_format

from p4mob_switch.errors import PipelineLoadError
from p4mob_switch.p4info import P4InfoMap
from p4mob_switch.program import Program

from .tlib import FEATURES_JSON, FEATURES_P4INFO, require_features


@pytest.fixture
def doc() -> dict:
    require_features()
    return json.loads(FEATURES_JSON.read_text())


def load(doc: dict) -> Program:
    return Program(json.dumps(doc).encode())


def first_table(doc: dict) -> dict:
    return next(t for p in doc["pipelines"] for t in p["tables"] if t["key"])


def const_table(doc: dict) -> dict:
    """features.p4's table with const entries (tos_map: two, max_size 2)."""
    return next(t for p in doc["pipelines"] for t in p["tables"] if t.get("entries"))


def assign(doc: dict) -> dict:
    """The first ``assign`` primitive of the program's actions."""
    return next(p for a in doc["actions"] for p in a["primitives"] if p["op"] == "assign")


def calc_hexstr(doc: dict) -> dict:
    """The first constant (``hexstr``) input of a hash calculation."""
    return next(i for c in doc["calculations"] for i in c["input"] if i["type"] == "hexstr")


def lookahead(doc: dict) -> dict:
    """The first ``lookahead`` type-value object (a parser transition key)."""
    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "lookahead":
                return node
            node = list(node.values())
        if isinstance(node, list):
            return next((hit for hit in map(walk, node) if hit is not None), None)
        return None
    return walk(doc["parsers"])


def array(doc: dict, kind: str) -> dict:
    """The first counter / meter array (``kind`` is the JSON section)."""
    arrays = doc.get(kind) or []
    if not arrays:
        pytest.skip(f"features.json has no {kind}")
    return arrays[0]


def test_features_program_loads(doc: dict) -> None:
    prog = load(doc)
    assert {"FeatIngress.l2", "FeatIngress.ipv4_lpm", "FeatIngress.acl"} <= set(prog.tables)


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d.__setitem__("__meta__", {"version": [1, 0]}), "__meta__.version"),
    (lambda d: d.pop("headers"), "'headers'"),
    (lambda d: d["header_types"][2]["fields"].append(["bad", -3]), "bad width"),
    (lambda d: d["headers"][2].__setitem__("header_type", "ghost_t"), "ghost_t"),
    (lambda d: d["actions"][-1]["primitives"].append({"op": "teleport", "parameters": []}), "teleport"),
    (lambda d: first_table(d).__setitem__("actions", ["no_such_action"]), "no_such_action"),
    (lambda d: first_table(d)["key"][0].__setitem__("target", ["nohdr", "x"]), "nohdr"),
    (lambda d: d["parsers"][0].__setitem__("init_state", "nowhere"), "nowhere"),
    (lambda d: d["parsers"][0]["parse_states"][0]["transitions"][0].__setitem__("next_state", "limbo"), "limbo"),
    (lambda d: d["calculations"][0].__setitem__("algo", "md5"), "md5"),
    (lambda d: d["deparsers"][0]["order"].append("phantom"), "phantom"),
    (lambda d: d["pipelines"][0].__setitem__("init_table", "void"), "void"),
    # found by fuzzing (fuzz/switch_pipeline.py): each was an AttributeError / KeyError traceback
    (lambda d: d["parsers"][0]["parse_states"][0]["transitions"].__setitem__(0, "jump"), "'jump'"),
    (lambda d: assign(d)["parameters"].__setitem__(0, "dst"), "unsupported assignment target"),
    (lambda d: assign(d)["parameters"][0].pop("value"), "bad field reference"),
    # a counter of 2**62 cells: MemoryError (or gigabytes) before this bound
    (lambda d: array(d, "counter_arrays").__setitem__("size", 1 << 62), "bad size"),
    (lambda d: array(d, "counter_arrays").__setitem__("size", -1), "bad size"),
    (lambda d: d["meter_arrays"].append({"name": "m", "id": 9, "is_direct": False, "size": "many",
                                         "rate_count": 2, "type": "bytes"}), "bad size"),
    # found by fuzzing: a bit width of 2**62 (register, hash constant, action parameter) was a
    # MemoryError computing its mask; widths are bounded like header fields (1..4096)
    (lambda d: d["register_arrays"][0].__setitem__("bitwidth", 1 << 62), "bad bitwidth"),
    (lambda d: d["register_arrays"][0].__setitem__("bitwidth", 0), "bad bitwidth"),
    (lambda d: calc_hexstr(d).__setitem__("bitwidth", 1 << 62), "bad bitwidth"),
    (lambda d: next(a for a in d["actions"] if a["runtime_data"])["runtime_data"][0].__setitem__(
        "bitwidth", 1 << 62), "bad bitwidth"),
    (lambda d: lookahead(d).__setitem__("value", [0, 1 << 62]), "bad lookahead"),
    (lambda d: lookahead(d).__setitem__("value", [0, -8]), "bad lookahead"),
    # each array under the bound, together over it: gigabytes of cells (a peak RSS of 221 MB in the fuzzer)
    (lambda d: d["register_arrays"][0].__setitem__("size", (1 << 24) - 4), "cells together"),
    # found by fuzzing: const entries a table cannot hold were the table's own errors
    # (RESOURCE_EXHAUSTED, ALREADY_EXISTS) instead of a malformed program
    (lambda d: const_table(d).__setitem__("max_size", 1), "full"),
    (lambda d: const_table(d)["entries"].__setitem__(1, const_table(d)["entries"][0]), "already exists"),
])
def test_malformed_json_names_the_fault(doc: dict, mutate, needle: str) -> None:
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(PipelineLoadError) as ei:
        load(bad)
    assert needle in str(ei.value)


@pytest.mark.parametrize("blob", [b"", b"[]", b"{", b"\xff\xfe", b'{"headers": 3}'])
def test_garbage_is_refused(blob: bytes) -> None:
    with pytest.raises(PipelineLoadError):
        Program(blob)


def _info() -> "p4i.P4Info":
    info = p4i.P4Info()
    text_format.Parse(FEATURES_P4INFO.read_text(), info)
    return info


def test_p4info_mismatch_names_the_object(doc: dict) -> None:
    prog = load(doc)
    info = _info()
    info.tables[0].preamble.name = "FeatIngress.nope"
    with pytest.raises(PipelineLoadError, match="FeatIngress.nope"):
        P4InfoMap(info, prog)
    info = _info()
    info.tables[0].match_fields[0].bitwidth += 1
    with pytest.raises(PipelineLoadError, match="bits"):
        P4InfoMap(info, prog)
    info = _info()
    info.actions[-1].preamble.name = "FeatIngress.ghost"
    with pytest.raises(PipelineLoadError, match="ghost"):
        P4InfoMap(info, prog)


@pytest.mark.parametrize("width", [0, (1 << 31) - 1])
def test_p4info_packet_metadata_width_is_bounded(doc: dict, width: int) -> None:
    """A packet_out header of 2**31 bits would make every packet-out a 256 MiB frame."""
    info = _info()
    cpm = info.controller_packet_metadata.add()
    cpm.preamble.name = "packet_out"
    cpm.metadata.add(id=1, name="egress_port", bitwidth=width)
    with pytest.raises(PipelineLoadError, match="bad bitwidth"):
        P4InfoMap(info, load(doc))


def test_reloading_shares_code_not_state(doc: dict) -> None:
    """Generated code is compiled once per source text (a reload of the same JSON reuses
    it); each load still binds it to its own tables, counters and registers."""
    a, b = load(doc), load(doc)
    fa, fb = a.actions_by_id, b.actions_by_id
    assert fa.keys() == fb.keys()
    for aid in fa:
        assert fa[aid].fn.__code__ is fb[aid].fn.__code__
        assert fa[aid].fn.__globals__ is not fb[aid].fn.__globals__
    assert a.tables.keys() == b.tables.keys()
    assert all(a.tables[n] is not b.tables[n] for n in a.tables)


def test_a_control_graph_that_loops_is_refused_not_run_forever(doc):
    """A hostile JSON whose conditional leads back to itself would loop on every packet."""
    pipe, cond = next((p, c) for p in doc["pipelines"] for c in p["conditionals"])
    cond["true_next"] = cond["name"]
    with pytest.raises(PipelineLoadError, match=rf"{pipe['name']}.*loops back to {cond['name']}"):
        load(doc)


def test_a_table_whose_next_is_an_earlier_node_is_refused(doc):
    pipe = next(p for p in doc["pipelines"] if p["init_table"] and p["tables"])
    t = next(t for t in pipe["tables"] if t["name"] != pipe["init_table"])
    t["base_default_next"] = pipe["init_table"]
    t["next_tables"] = {}
    with pytest.raises(PipelineLoadError, match="loops back to"):
        load(doc)
