"""The home agent core is a core: importing it (or its persistence) loads no adapter, CLI,
switch or PMIPv6 code, and persistence does not load the core (style guide; BRIEF)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("p4mobility.runtime", "p4mobility.lab", "p4mobility.cli", "p4mobility.p4rt", "p4mobility.pmip",
             "finsy", "grpc", "asyncio")


def loaded_after(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    return set(out.split())


def test_importing_the_home_agent_loads_no_adapter_cli_switch_or_pmip_code():
    mods = loaded_after("import p4mobility.ha")
    assert "p4mobility.ha.ha" in mods
    assert not [m for m in mods if m.startswith(FORBIDDEN)]


def test_persistence_does_not_import_the_core():
    """ha_persist.py reads records and config only (the package __init__ loads everything)."""
    import p4mobility.ha.ha_persist as persist
    tree = ast.parse(Path(persist.__file__).read_text())
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "ha" not in names and "p4mobility.ha.ha" not in names and "ha_other" not in names
    assert names <= {"__future__", "typing", "p4mobility.binding.statejson", "config", "ha_state", "records"}
