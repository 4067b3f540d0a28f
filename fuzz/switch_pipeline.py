"""Target switch_pipeline: SetForwardingPipelineConfig's bmv2 JSON and P4Info as the
embedded target loads them (``Device.build``: loader.py, program.py, parser.py,
p4info.py compile the JSON into the pipeline).

Oracle: a config loads or raises PipelineLoadError (reported as INVALID_ARGUMENT),
nothing else. Input: one byte picking the P4Info (none, or one of the programs'),
then the JSON. A structure-aware mutator edits the parsed JSON (replaces, drops or
copies a value somewhere in the tree) so most mutants are JSON that reaches the
loader; one in five mutations is libFuzzer's byte mutation.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

MAX_LEN = 1 << 20
INSTRUMENT = ("p4mob_switch",)
REPO = Path(__file__).resolve().parent.parent
PROGRAMS = (REPO / "tests/target/p4/build/stacks", REPO / "tests/target/p4/build/shared_profile",
            REPO / "tests/target/p4/build/features", REPO / "p4src/build/mobility")


def p4info_paths() -> list[Path]:
    return [p.with_suffix(".p4info.txtpb") for p in PROGRAMS if p.with_suffix(".json").exists()]


def json_paths() -> list[Path]:
    return [p.with_suffix(".json") for p in PROGRAMS if p.with_suffix(".json").exists()]


_SCALARS = (0, 1, -1, 2, 7, 8, 9, 16, 31, 32, 33, 48, 64, 128, 255, 256, 65535, 1 << 32, 1 << 64, -(1 << 63),
            0.5, True, False, None, "", "0", "0x", "0xff", "0x1g", "-0x1", "a", "ingress", "egress",
            "field", "hexstr", "header", "expression", "lookahead", "exact", "lpm", "ternary", "range",
            "default", "drop", "$valid$", "[]", [], {}, [None], {"type": "field"})


def _slots(tree) -> list:
    """(container, key) of every value below the root: one walk, no paths built."""
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        for k, v in (node.items() if isinstance(node, dict) else enumerate(node)):
            out.append((node, k))
            if isinstance(v, (dict, list)):
                stack.append(v)
    return out


def _mutate_tree(tree, rng: random.Random, count: int = 1):
    """Apply `count` edits at slots picked from one walk of the tree. An edit may land in a
    subtree an earlier edit replaced (then it changes nothing) or at a list index an earlier
    delete moved (then it is skipped): walking once is what makes big programs cheap."""
    slots = _slots(tree)
    if not slots:
        return tree
    for _ in range(count):
        parent, key = slots[rng.randrange(len(slots))]
        if key not in parent if isinstance(parent, dict) else key >= len(parent):
            continue
        node = parent[key]
        op = rng.randrange(5)
        if op == 0:
            del parent[key]
        elif op == 1:
            src, k = slots[rng.randrange(len(slots))]
            if k in src if isinstance(src, dict) else k < len(src):
                parent[key] = json.loads(json.dumps(src[k]))
        elif op == 2 and isinstance(node, int) and not isinstance(node, bool):
            parent[key] = node + rng.choice((-1, 1, -node - 1, 1 << rng.randrange(70)))
        elif op == 3 and isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(node)))
        else:
            parent[key] = rng.choice(_SCALARS)
    return tree


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    import atheris
    rng = random.Random(seed)
    if len(data) > 1 and rng.randrange(5):
        try:
            tree = json.loads(data[1:])
        except (ValueError, RecursionError):
            tree = None
        if isinstance(tree, (dict, list)):
            tree = _mutate_tree(tree, rng, 1 + rng.randrange(3))
            out = data[:1] + json.dumps(tree, separators=(",", ":")).encode()
            if len(out) <= max_size:
                return out
    return atheris.Mutate(data, max_size)


def setup():
    from p4mob_switch.device import Device, load_p4info
    from p4mob_switch.errors import PipelineLoadError

    infos = [None] + [load_p4info(p.read_bytes()) for p in p4info_paths()]
    dev = Device(1, 255)

    def check(data: bytes) -> None:
        if not data:
            return
        try:
            dev.build(data[1:], infos[data[0] % len(infos)])
        except PipelineLoadError:
            pass

    return check
