"""The mobile-node daemon's file (runtime/mn_config.py), its state file
(runtime/mn_state.py) and `p4mob mn run` on bad input: every problem is one
ConfigError naming the key, one line on stderr, exit status 2."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from p4mobility.binding.errors import ConfigError
from p4mobility.runtime.mn_config import config_from_dict
from p4mobility.runtime.mn_state import SequenceFile, StateFileError
from tests.mn.mnlab import HA, HOA, SPI, _ipsec_toml


@pytest.fixture
def files(tmp_path):
    """A valid configuration as a dict, with its IPsec file and keys in tmp_path."""
    (tmp_path / "keys").mkdir()
    for key in SPI:
        p = tmp_path / "keys" / f"{key}.key"
        p.write_text("00" * 20)
        p.chmod(0o600)

    def make(payload: bool = True) -> dict:
        (tmp_path / "ipsec-mn.toml").write_text(_ipsec_toml("mn", payload))
        return {"node": {"state_file": "mn.state"},
                "mn": {"home_address": str(HOA), "home_agent": str(HA)},
                "access": {"interfaces": ["eth0", "wlan0"]},
                "ipsec": {"config": "ipsec-mn.toml"}}

    make.base = tmp_path
    return make


def test_a_valid_file(files):
    for payload in (True, False):
        cfg = config_from_dict(files(payload), files.base)
        assert cfg.interfaces == ("eth0", "wlan0") and cfg.mn.interfaces == ("eth0", "wlan0")  # BID order
        assert cfg.node.state_file == str(files.base / "mn.state")
        assert cfg.node.esp_state_file == str(files.base / "mn.state.esp")
        assert (cfg.tunnel.name, cfg.tunnel.mtu) == ("mip6tun0", 1280)


@pytest.mark.parametrize("change,key", [
    (lambda d: d.pop("ipsec"), "ipsec"),
    (lambda d: d["node"].pop("state_file"), "node.state_file"),
    (lambda d: d["node"].update(colour="blue"), "node.colour"),
    (lambda d: d.update(extra={}), "extra"),
    (lambda d: d["mn"].update(home_agent="nope"), "mn.home_agent"),
    (lambda d: d["mn"].update(interfaces=["wlan0"]), "mn.interfaces"),
    (lambda d: d["access"].update(interfaces=[]), "access.interfaces"),
    (lambda d: d["access"].update(interfaces=["eth0", "eth0"]), "access.interfaces"),
    (lambda d: d["access"].update(interfaces=["a" * 16]), "access.interfaces[0]"),
    (lambda d: d["access"].update(interfaces=["mip6tun0"]), "access.interfaces"),
    (lambda d: d.update(tunnel={"mtu": 1000}), "tunnel.mtu"),  # RFC 8200 §5
    (lambda d: d["ipsec"].update(config="missing.toml"), "ipsec.config"),
])
def test_every_problem_names_its_key(files, change, key):
    data = files()
    change(data)
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, files.base)
    assert err.value.key == key


def test_rfc3776_4_1_the_ipsec_file_must_protect_bus_with_a_transport_sa_from_the_home_address(files):
    data = files()
    text = (files.base / "ipsec-mn.toml").read_text()
    # the BU SA named by a care-of address instead of the home address
    (files.base / "ipsec-mn.toml").write_text(text.replace(f'src = "{HOA}"', 'src = "2001:db8:a::2"', 1))
    with pytest.raises(ConfigError, match="home address and the HA, never a CoA"):
        config_from_dict(data, files.base)
    # no entry for the BU at all: the SPD would discard it
    policies = text.split("[[policy]]")
    (files.base / "ipsec-mn.toml").write_text("[[policy]]".join(p for p in policies if "local-mh-type = 5" not in p))
    with pytest.raises(ConfigError, match="BU"):
        config_from_dict(data, files.base)


def test_cli_reports_one_line_and_exit_status_2(files, tmp_path):
    data = files()
    data["mn"]["requested_lifetime"] = -1
    path = tmp_path / "mn.toml"
    path.write_text("\n".join(
        f"[{t}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in body.items()) for t, body in data.items()))
    run = subprocess.run([sys.executable, "-m", "p4mobility.cli", "mn", "run", "-c", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [f"p4mob: error: {path}: mn.requested_lifetime: must be > 0"]
    data["mn"]["requested_lifetime"] = 600
    path.write_text("\n".join(
        f"[{t}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in body.items()) for t, body in data.items()))
    run = subprocess.run([sys.executable, "-m", "p4mobility.cli", "mn", "run", "-c", str(path), "--check"],
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout.strip()) == (0, f"{path}: ok")


def test_rfc6275_9_5_1_sequence_file(tmp_path):
    f = SequenceFile(tmp_path / "state")
    assert f.load() == 0  # first start
    f.save(41)
    assert SequenceFile(tmp_path / "state").load() == 41
    (tmp_path / "state").write_text('{"sequence": 70000}')
    with pytest.raises(StateFileError, match="0..65535"):
        SequenceFile(tmp_path / "state").load()
    (tmp_path / "state").write_text("garbage")
    with pytest.raises(StateFileError):
        SequenceFile(tmp_path / "state").load()


def test_the_example_files_validate_with_genkey_keys(tmp_path):
    """examples/mn.toml and mn-ipsec.toml with keys from `p4mob ipsec genkey`: `p4mob mn run --check`."""
    import re
    import shutil
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples"
    for name in ("mn.toml", "mn-ipsec.toml"):
        shutil.copy(examples / name, tmp_path / name)
    (tmp_path / "keys").mkdir()
    for key in set(re.findall(r'key-file = "keys/([\w-]+)\.key"', (examples / "mn-ipsec.toml").read_text())):
        subprocess.run([sys.executable, "-m", "p4mobility.cli", "ipsec", "genkey", str(tmp_path / "keys" / f"{key}.key")],
                       check=True, timeout=60)
    run = subprocess.run([sys.executable, "-m", "p4mobility.cli", "mn", "run", "-c", str(tmp_path / "mn.toml"), "--check"],
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stderr) == (0, "")
