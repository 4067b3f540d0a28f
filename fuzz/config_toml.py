"""Target config_toml: the TOML config loaders an operator feeds: the LMA and MAG node
files (runtime/nodeconfig.py), the home agent's (runtime/haconfig.py), the mobile
node's (runtime/mn_config.py) and the crypto path's IPsec file (ipsec/config.py).

Oracle: the loader (the real entry point, reading a file) returns a config or
raises its typed error (ConfigError, the home agent's ConfigError, IpsecConfigError),
nothing else. The first input byte picks the loader; the file sits in a temporary
copy of examples/ with key files, so references to other files resolve.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

MAX_LEN = 8192
INSTRUMENT = ("p4mobility.runtime.nodeconfig", "p4mobility.runtime.haconfig",
              "p4mobility.runtime.mn_config", "p4mobility.ipsec.config", "p4mobility.pmip.config",
              "p4mobility.pmip.policy", "p4mobility.ha.config", "p4mobility.binding")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LOADERS = ("lma", "mag", "ha", "mn", "ipsec")


def loader_of(example: str) -> int:
    """Which loader reads an example file (the seed's first byte)."""
    if "ipsec" in example:
        return LOADERS.index("ipsec")
    for i, kind in enumerate(LOADERS):
        if example.startswith(kind):
            return i
    raise ValueError(example)


def make_base() -> Path:
    """examples/*.toml and the key files they name (0600), in a temporary directory."""
    work = os.environ.get("P4MOB_FUZZ_WORK")  # the runner's <out>/work/<target>
    base = Path(work) if work else Path(tempfile.mkdtemp(prefix="p4mob-fuzz-config-"))
    base.mkdir(parents=True, exist_ok=True)
    for f in EXAMPLES.glob("*.toml"):
        shutil.copy(f, base / f.name)
        for key in re.findall(r'"(keys/[^"]+\.key)"', f.read_text()):
            p = base / key
            p.parent.mkdir(exist_ok=True)
            p.write_text("00" * 36 + "\n")
            os.chmod(p, 0o600)
    return base


def setup():
    from p4mobility.binding.errors import ConfigError
    from p4mobility.ha.config import ConfigError as HaConfigError
    from p4mobility.ipsec.errors import IpsecConfigError
    from p4mobility.ipsec.config import load_config
    from p4mobility.runtime import haconfig, mn_config, nodeconfig

    base = make_base()
    path = base / "fuzz-input.toml"
    load = (lambda p: nodeconfig.load(p, "lma"), lambda p: nodeconfig.load(p, "mag"),
            haconfig.load_ha, mn_config.load, load_config)
    typed = (ConfigError, HaConfigError, IpsecConfigError)

    def check(data: bytes) -> None:
        if not data:
            return
        path.write_bytes(data[1:])
        try:
            load[data[0] % len(load)](path)
        except typed:
            pass

    return check
