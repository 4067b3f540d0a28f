"""The committed P4 build outputs are fresh and agree with docs/dataplane.md.

- p4src/build/SOURCES.sha256 equals the hash of the current P4 sources
  (p4src/hash_sources.py), so sources changed without `make p4` fail here;
- with p4c-bm2-ss available, recompiling gives the committed outputs exactly;
- every table / action / counter / action profile named in docs/dataplane.md
  exists in the p4info, and the documented enum values equal define.p4's.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from google.protobuf import text_format

from finsy.proto.p4.config.v1 import p4info_pb2

from tests.tooling import require_tool

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "p4src" / "build"
P4INFO = BUILD / "mobility.p4info.txtpb"
P4JSON = BUILD / "mobility.json"
HASHFILE = BUILD / "SOURCES.sha256"
DOCS = REPO / "docs" / "dataplane.md"


def _hash_module():
    spec = importlib.util.spec_from_file_location("hash_sources", REPO / "p4src" / "hash_sources.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _p4info() -> p4info_pb2.P4Info:
    return text_format.Parse(P4INFO.read_text(), p4info_pb2.P4Info())


def test_committed_outputs_exist():
    for path in (P4INFO, P4JSON, HASHFILE):
        assert path.is_file() and path.stat().st_size > 0, f"{path} missing: run `make p4`"


def test_committed_outputs_built_from_current_sources():
    committed = HASHFILE.read_text().split()[0]
    assert committed == _hash_module().sources_sha256(), (
        "P4 sources changed since p4src/build was generated: run `make p4` and commit "
        "the sources and p4src/build together")


def test_hash_changes_when_a_source_changes(tmp_path):
    mod = _hash_module()
    src = tmp_path / "p4src"
    shutil.copytree(REPO / "p4src", src, ignore=shutil.ignore_patterns("build", "*.py"))
    before = mod.sources_sha256(src)
    (src / "include" / "size.p4").write_text((src / "include" / "size.p4").read_text() + "\n")
    assert mod.sources_sha256(src) != before


# bmv2's backend warns for every table with an action profile or selector
# (bindings, uplink_sources, binding_peers) that it ignores the default action
# p4c's front end adds; --Werror does not reach it and it cannot be disabled.
# These are the only diagnostics allowed.
KNOWN_WARNINGS = tuple(f"Target does not support default_action for MobilityIngress.{t}"
                       for t in ("bindings.bindings", "source_check.uplink_sources",
                                 "bindings.binding_peers"))


def _unexpected_diagnostics(stderr: str) -> list[str]:
    lines = [ln for ln in stderr.splitlines() if "warning" in ln or "error" in ln]
    return [ln for ln in lines if not any(w in ln for w in KNOWN_WARNINGS)]


def test_recompiling_gives_the_committed_outputs(tmp_path):
    p4c = require_tool("p4c-bm2-ss")
    out_info, out_json = tmp_path / "mobility.p4info.txtpb", tmp_path / "mobility.json"
    proc = subprocess.run(
        [p4c, "--arch", "v1model", "--std", "p4-16", "--Werror",
         "--p4runtime-files", str(out_info), "-o", str(out_json), "p4src/mobility.p4"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert _unexpected_diagnostics(proc.stderr) == [], proc.stderr
    assert out_info.read_text() == P4INFO.read_text(), "p4info is stale: run `make p4`"
    assert out_json.read_text() == P4JSON.read_text(), "bmv2 JSON is stale: run `make p4`"


# ---- docs/dataplane.md agrees with the program ----
_ROW = re.compile(r"^\|\s*(table|action|counter|direct counter|action profile)\s*\|\s*`([^`]+)`",
                  re.M)


def _documented_names() -> list[tuple[str, str]]:
    return _ROW.findall(DOCS.read_text())


def _p4info_names(kind: str) -> set[str]:
    info = _p4info()
    objs = {
        "table": info.tables, "action": info.actions, "counter": info.counters,
        "direct counter": info.direct_counters, "action profile": info.action_profiles,
    }[kind]
    names = set()
    for obj in objs:
        names.add(obj.preamble.name)
        names.add(obj.preamble.alias)
        names.add(obj.preamble.name.rsplit(".", 1)[-1])
    return names


def test_docs_lists_names_that_exist_in_p4info():
    documented = _documented_names()
    assert len(documented) > 30, "docs/dataplane.md P4Runtime names table not found"
    missing = [(k, n) for k, n in documented if n not in _p4info_names(k)]
    assert not missing, f"documented but not in p4info: {missing}"


def test_every_table_is_documented():
    documented = {n for k, n in _documented_names() if k == "table"}
    tables = {t.preamble.name.rsplit(".", 1)[-1] for t in _p4info().tables}
    assert tables == documented


def test_table_aliases_are_the_short_names():
    """Controllers use short names; p4c must not need to qualify them."""
    for table in _p4info().tables:
        assert table.preamble.alias == table.preamble.name.rsplit(".", 1)[-1]


def _doc_enum(heading: str) -> dict[str, int]:
    text = DOCS.read_text()
    start = text.index(heading)
    block = text[start:].split("\n\n", 2)[1]
    return {m.group(2): int(m.group(1))
            for m in re.finditer(r"^\|\s*(\d+)\s*\|\s*`(\w+)`", block, re.M)}


@pytest.mark.parametrize("heading,enum", [
    ("Punt reasons", "PuntReason"), ("Drop reasons", "DropReason"),
    ("Encapsulation kinds", "EncapKind"), ("Crypto directions", "CryptoDirection"),
])
def test_docs_enum_values_equal_define_p4(heading, enum):
    text = (REPO / "p4src" / "include" / "define.p4").read_text()
    body = re.search(r"enum\s+bit<8>\s+" + enum + r"\s*\{(.*?)\}", text, re.S).group(1)
    body = re.sub(r"//[^\n]*", "", body)
    values = {n: int(v) for n, v in re.findall(r"(\w+)\s*=\s*(\d+)", body)}
    values.pop("NONE", None)
    assert _doc_enum(heading) == values


def test_packet_in_and_out_layouts_are_byte_aligned_as_documented():
    meta = {m.preamble.name: [(x.name, x.bitwidth) for x in m.metadata]
            for m in _p4info().controller_packet_metadata}
    assert meta["packet_in"] == [("ingress_port", 9), ("_pad0", 7), ("punt_reason", 8),
                                 ("outer_ipv4_src", 32), ("udp_src_port", 16), ("spi", 32),
                                 ("sa_index", 32)]
    assert meta["packet_out"] == [("egress_port", 9), ("through_pipeline", 1), ("_pad0", 6)]
    for fields in meta.values():
        assert sum(w for _, w in fields) % 8 == 0
