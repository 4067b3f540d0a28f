"""Every key of every node file, given a value of the wrong TOML type, is refused with an
error naming the key and what it expects (never iterated, never a Python TypeError).

The files are the examples/ ones (LMA, MAG, HA, MN, and the IPsec files they name),
read with tomllib; each leaf is swapped in turn for a string, an integer, a boolean,
an array and a table (those of another type than the original)."""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from copy import deepcopy
from pathlib import Path

import pytest

from p4mobility.ha import ConfigError as HaConfigError
from p4mobility.ipsec.config import parse_config
from p4mobility.ipsec.errors import IpsecConfigError
from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.haconfig import ha_from_dict
from p4mobility.runtime.mn_config import config_from_dict
from p4mobility.runtime.nodeconfig import REPO, lma_from_dict, mag_from_dict

EXAMPLES = REPO / "examples"
P4MOB = str(Path(sys.executable).with_name("p4mob"))
SAMPLES = {"string": "2001:db8:a::1", "integer": 5, "boolean": True, "array": ["2001:db8:a::1"],
           "table": {"x": 1}}
# keys that take either of two TOML types by design: SPI and reqid as "0x.." or an integer, proto by name or number
BOTH = {("ipsec", k): {"string", "integer"} for k in ("spi", "reqid", "proto")}


def kind(v) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(v), "other")


def make_keydir(d: Path) -> Path:
    (d / "keys").mkdir(exist_ok=True)
    for f in EXAMPLES.glob("*.toml"):
        for line in f.read_text().splitlines():
            if "key-file" in line and '"' in line:
                key = d / line.split('"')[1]
                if not key.exists():
                    fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
                    os.write(fd, os.urandom(20).hex().encode())
                    os.close(fd)
        (d / f.name).write_text(f.read_text())
    return d


_KEYS = make_keydir(Path(tempfile.mkdtemp(prefix="p4mob-conf-")))  # the examples' key files, at collection
atexit.register(shutil.rmtree, _KEYS, True)


@pytest.fixture(scope="module")
def keydir() -> Path:
    return _KEYS


def _node_fix(data: dict) -> dict:
    for k in ("p4info", "p4blob"):
        if k in data.get("node", {}):
            data["node"][k] = str(REPO / data["node"][k])
    return data


LOADERS = {
    "lma": ("lma.toml", lambda d, base: lma_from_dict(d, base)),
    "lma-switches": ("lma-switches.toml", lambda d, base: lma_from_dict(d, base)),
    "mag": ("mag1.toml", lambda d, base: mag_from_dict(d, base)),
    "ha": ("ha.toml", lambda d, base: ha_from_dict(d, base)),
    "mn": ("mn.toml", lambda d, base: config_from_dict(d, base)),
    "ipsec": ("ha-ipsec.toml", lambda d, base: parse_config(d, base)),
}
ERRORS = (ConfigError, HaConfigError, IpsecConfigError)


def full(name: str, data: dict, base: Path) -> dict:
    """The example with every optional key written out (the loaded config's own values),
    so that keys the example leaves out are tried too."""
    cfg = LOADERS[name][1](deepcopy(_node_fix(data)), base)
    node = {"device_id": 1, "election_id": 10, "metrics_port": 9100, "counters_interval": 5.0,
            "state_db": "x.db", "control_socket": "x.sock"}
    if name in ("lma", "mag", "ha"):
        data["node"] = {**node, **data["node"]}
    section = {"lma": "lma", "mag": "mag", "ha": "home_agent", "mn": "mn"}.get(name)
    if section:
        own = getattr(cfg, section).to_dict()
        if name == "mag" and not own.get("fixed_mag_link_layer_address_on_all_access_links"):
            own.pop("fixed_mag_link_layer_address_on_all_access_links")
        data[section] = {k: v for k, v in own.items() if v is not None and v != []} | data[section]
    if name == "lma":
        data["policy"]["profiles"]["full"] = {
            "allowed_mags": ["2001:db8:a::1"], "static_hnps": ["2001:db8:300::/64"], "pool": "home",
            "prefixes_per_session": 1, "max_lifetime": 600.0, "proxy_registration_enabled": True}
    if name == "mag":
        data["mobile_nodes"]["full@x"] = {"mac": "02:00:00:00:00:99", "lma_address": "2001:db8:ffff::1",
                                          "hnps": ["2001:db8:300::/64"], "att": 4, "lifetime": 600.0}
        data["detach_timeout"] = 10.0
    if name == "ipsec":
        data["state"][0] |= {"esn": False, "replay-window": 32, "replay-oseq": 0,
                             "limit": {"packet-soft": 100, "packet-hard": 200}}
        data["policy"][0] |= {"action": "protect"}
    if name == "mn":
        data["tunnel"] = {"name": "mip6tun0", "mtu": 1400, "route_metric": 10} | data.get("tunnel", {})
    return data


def leaves(obj, path=()):
    """(path, value) of every scalar or array-of-scalars; arrays of tables are walked."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, path + (k,))
    elif isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        for i, v in enumerate(obj):
            yield from leaves(v, path + (i,))
    else:
        yield path, obj


def dotted(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def put(data, path, value):
    d = data
    for p in path[:-1]:
        d = d[p]
    d[path[-1]] = value


def mutations():
    for name, (fname, _fn) in LOADERS.items():
        data = full(name, tomllib.loads((EXAMPLES / fname).read_text()), _KEYS)
        for path, value in leaves(data):
            for sname, sample in SAMPLES.items():
                original = kind(value)
                if sname == original or (original == "float" and sname == "integer"):
                    continue
                if sname in BOTH.get((name, path[-1]), ()):
                    continue
                yield pytest.param(name, path, sname, id=f"{name}:{dotted(path)}={sname}")


@pytest.mark.parametrize("loader,path,sample", list(mutations()))
def test_wrong_type_is_refused_naming_the_key(keydir, loader, path, sample) -> None:
    fname, fn = LOADERS[loader]
    data = full(loader, _node_fix(tomllib.loads((keydir / fname).read_text())), keydir)
    fn(deepcopy(data), keydir)  # the example itself loads
    put(data, path, deepcopy(SAMPLES[sample]))
    with pytest.raises(ERRORS) as ei:
        fn(data, keydir)
    key = dotted(path)
    assert ei.value.key == key or ei.value.key.startswith(key) or key.endswith(ei.value.key), \
        f"{key}: error names {ei.value.key!r}: {ei.value.problem}"
    assert "expected" in ei.value.problem, f"{key}: {ei.value.problem}"


# -- the cases found by hand (issue 14), through the real CLI --------------------------------------

def check(role: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([P4MOB, role, "run", "-c", str(path), "--check"], capture_output=True,
                          text=True, timeout=60)


def lma_file(tmp_path: Path, old: str, new: str) -> Path:
    text = (EXAMPLES / "lma.toml").read_text().replace("p4src/", f"{REPO}/p4src/")
    assert old in text
    path = tmp_path / "lma.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize("old,new,message", [
    ('trusted_mags = ["2001:db8:a::1", "2001:db8:b::1"]', 'trusted_mags = "2001:db8:a::1"',
     "policy.trusted_mags: expected an array of IPv6 addresses, got a string '2001:db8:a::1'"),
    ('[policy.pools]\n\n[policy.pools.home]\nnetwork = "2001:db8:100::/48"\nprefix_length = 64\n', "pools = 5\n",
     "policy.pools: expected a table of pools, got an integer 5"),
    ('switch_address = "127.0.0.1:9559"', 'switch_address = "::::not-an-address"',
     "node.switch_address: expected host:port"),
    ('switch_address = "127.0.0.1:9559"', 'switch_address = "127.0.0.1:99999"',
     "node.switch_address: expected host:port"),
], ids=["trusted_mags string", "pools int", "switch_address garbage", "switch_address port"])
def test_cli_check_names_key_and_expected_type(tmp_path, old, new, message) -> None:
    out = check("lma", lma_file(tmp_path, old, new))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert message in out.stderr, out.stderr


@pytest.mark.parametrize("address", ["127.0.0.1:9559", "localhost:50001", "[::1]:9559",
                                     "switch.example:9559", "[2001:db8::5]:1"])
def test_cli_check_takes_valid_switch_addresses(tmp_path, address) -> None:
    out = check("lma", lma_file(tmp_path, 'switch_address = "127.0.0.1:9559"', f'switch_address = "{address}"'))
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("role", ["lma", "mag", "ha", "mn"])
def test_toml_syntax_error_names_the_file_once(tmp_path, role) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[node]\nname = \n")
    out = check(role, path)
    assert out.returncode == 2 and out.stderr.count(str(path)) == 1, out.stderr
    assert "not valid TOML" in out.stderr


def test_ipsec_check_syntax_error_names_the_file_once(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[state]\n")
    out = subprocess.run([P4MOB, "ipsec", "check", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count(str(path)) == 1, out.stderr
