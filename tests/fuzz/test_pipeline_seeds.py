"""The switch_pipeline fuzz target's helpers, without atheris: the small programs cut
from the full ones load, and the structure-aware mutator always hands back JSON."""
from __future__ import annotations

import json
import random

import pytest

from fuzz import pipeline_seeds, switch_pipeline
from p4mob_switch.errors import PipelineLoadError
from p4mob_switch.program import Program

PROGRAMS = switch_pipeline.json_paths()


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_small_programs_load_and_are_smaller(path):
    full = json.loads(path.read_bytes())
    small = pipeline_seeds.small_programs(full)
    assert len(small) > 1  # the stripped program and at least one slice
    whole = len(json.dumps(full))
    for doc in small:
        prog = Program(json.dumps(doc).encode())
        assert len(prog.tables) <= len(Program(path.read_bytes()).tables)
        assert len(json.dumps(doc)) < whole


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_mutated_tree_is_json_the_loader_answers(path):
    seed = pipeline_seeds.strip_source_info(json.loads(path.read_bytes()))
    for n in range(30):
        tree = switch_pipeline._mutate_tree(json.loads(json.dumps(seed)), random.Random(n), 1 + n % 3)
        blob = json.dumps(tree).encode()
        try:
            Program(blob)
        except PipelineLoadError:
            pass
