"""Config files that are not UTF-8 get the loader's ConfigError, not a traceback.

Found by fuzzing (fuzz/config_toml.py, docs/fuzzing.md): tomllib.load decodes the
bytes itself and raises UnicodeDecodeError, which the loaders did not catch.
TOML files are UTF-8 (toml.io v1.0.0, "Spec").
"""
from __future__ import annotations

import pytest

from p4mobility.binding.errors import ConfigError
from p4mobility.runtime import haconfig, mn_config, nodeconfig

LOADERS = {
    "lma": lambda p: nodeconfig.load(p, "lma"),
    "mag": lambda p: nodeconfig.load(p, "mag"),
    "ha": haconfig.load_ha,
    "mn": mn_config.load,
}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_non_utf8_file_is_a_config_error(tmp_path, kind):
    path = tmp_path / f"{kind}.toml"
    path.write_bytes(b'[node]\nname = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        LOADERS[kind](path)
