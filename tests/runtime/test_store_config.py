"""[store] in a node file: SQLite stays the default, etcd is chosen with its endpoints (and
TLS); every mistake is a ConfigError naming the key (the CLI prints it, exit status 2)."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.haconfig import ha_from_dict
from p4mobility.runtime.nodeconfig import REPO, lma_from_dict, mag_from_dict
from p4mobility.runtime.stores import open_store
from p4mobility.runtime.storeconfig import StoreSettings

EXAMPLES = REPO / "examples"
P4MOB = str(Path(sys.executable).with_name("p4mob"))


def lma_doc(store=None, drop_state_db=True) -> dict:
    doc = tomllib.loads((EXAMPLES / "lma.toml").read_text())
    doc["node"]["p4info"] = str(REPO / doc["node"]["p4info"])
    doc["node"]["p4blob"] = str(REPO / doc["node"]["p4blob"])
    doc["node"].pop("ipsec", None)
    doc.pop("ipsec", None)
    if drop_state_db:
        doc["node"].pop("state_db")
    if store is not None:
        doc["store"] = store
    return doc


def test_without_store_the_node_keeps_sqlite_at_state_db(tmp_path):
    doc = lma_doc(drop_state_db=False)
    doc["node"]["state_db"] = str(tmp_path / "lma.db")
    node = lma_from_dict(doc).node
    assert node.store == StoreSettings()
    store = open_store(node)
    assert store.kind == "sqlite" and store.describe() == f"sqlite {tmp_path / 'lma.db'}"


def test_etcd_with_endpoints_prefix_and_timeout():
    node = lma_from_dict(lma_doc({"kind": "etcd", "endpoints": ["127.0.0.1:2379", "[::1]:2379"],
                                  "timeout": 1})).node
    assert node.store == StoreSettings("etcd", ("127.0.0.1:2379", "[::1]:2379"), None, 1.0)
    store = open_store(node)  # no call to etcd yet
    assert store.describe() == "etcd 127.0.0.1:2379,[::1]:2379 /p4mob/lma/"
    assert lma_from_dict(lma_doc({"kind": "etcd", "endpoints": ["e:2379"], "prefix": "/x/lma1"})).node.store.prefix \
        == "/x/lma1"


def test_election_and_its_lease():
    store = lma_from_dict(lma_doc({"kind": "etcd", "endpoints": ["a:1"], "election": "lma-sw1",
                                   "lease_ttl": 3})).node.store
    assert (store.election, store.lease_ttl) == ("lma-sw1", 3)
    assert lma_from_dict(lma_doc({"kind": "etcd", "endpoints": ["a:1"]})).node.store.election is None


def test_mag_and_ha_files_take_store_too():
    mag = tomllib.loads((EXAMPLES / "mag1.toml").read_text())
    ha = tomllib.loads((EXAMPLES / "ha.toml").read_text())
    for doc in (mag, ha):
        for k in ("p4info", "p4blob"):
            if k in doc["node"]:
                doc["node"][k] = str(REPO / doc["node"][k])
        doc.pop("ipsec", None)
        doc["node"].pop("state_db", None)
        doc["store"] = {"kind": "etcd", "endpoints": ["127.0.0.1:2379"]}
    assert mag_from_dict(mag).node.store.kind == "etcd"
    assert ha_from_dict(ha).node.store.kind == "etcd"


@pytest.mark.parametrize("store, key, says", [
    ({"kind": "zookeeper"}, "store.kind", 'expected "sqlite" or "etcd"'),
    ({"kind": "etcd"}, "store.endpoints", "required"),
    ({"kind": "etcd", "endpoints": []}, "store.endpoints", "at least one"),
    ({"kind": "etcd", "endpoints": "127.0.0.1:2379"}, "store.endpoints", "expected an array of host:port"),
    ({"kind": "etcd", "endpoints": ["http://127.0.0.1:2379"]}, "store.endpoints[0]", "expected host:port"),
    ({"kind": "etcd", "endpoints": ["a:1"], "prefix": "p4mob"}, "store.prefix", "like \"/p4mob/lma1\""),
    ({"kind": "etcd", "endpoints": ["a:1"], "timeout": 0}, "store.timeout", "a number in"),
    ({"kind": "etcd", "endpoints": ["a:1"], "tls_ca": "/nonexistent.pem"}, "store.tls_ca", "cannot read"),
    ({"kind": "etcd", "endpoints": ["a:1"], "hosts": ["a:1"]}, "store.hosts", "unknown key"),
    ({"kind": "sqlite", "endpoints": ["a:1"]}, "store.endpoints", "only with kind = \"etcd\""),
    ("etcd", "store", "expected a table"),
    ({"kind": "etcd", "endpoints": ["a:1"], "election": "sw 1"}, "store.election", "letters, digits"),
    ({"kind": "etcd", "endpoints": ["a:1"], "election": "sw1", "lease_ttl": 1}, "store.lease_ttl", "2..60"),
    ({"kind": "sqlite", "election": "sw1"}, "store.election", "only with kind = \"etcd\""),
])
def test_mistakes_name_the_key(store, key, says):
    with pytest.raises(ConfigError) as info:
        lma_from_dict(lma_doc(store))
    assert info.value.key == key and says in info.value.problem


def test_state_db_with_etcd_is_refused():
    with pytest.raises(ConfigError) as info:
        lma_from_dict(lma_doc({"kind": "etcd", "endpoints": ["a:1"]}, drop_state_db=False))
    assert info.value.key == "node.state_db" and "leave it out" in info.value.problem


def test_tls_cert_without_key_is_refused(tmp_path):
    pem = tmp_path / "c.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError) as info:
        lma_from_dict(lma_doc({"kind": "etcd", "endpoints": ["a:1"], "tls_ca": str(pem), "tls_cert": str(pem)}))
    assert info.value.key == "store.tls_cert"


def test_the_cli_says_which_key(tmp_path):
    from p4mobility.lab.topology import to_toml
    f = tmp_path / "lma.toml"
    f.write_text(to_toml(lma_doc({"kind": "etcd", "endpoints": ["127.0.0.1:99999"]})))
    res = subprocess.run([P4MOB, "lma", "run", "-c", str(f), "--check"], capture_output=True, text=True)
    assert res.returncode == 2 and "store.endpoints[0]: expected host:port" in res.stderr
    assert "Traceback" not in res.stderr


def test_the_node_refuses_to_start_when_etcd_cannot_be_read(tmp_path):
    # its state is in etcd: starting empty would forget every binding, so it does not start
    from p4mobility.lab.topology import to_toml
    from tests.dataplane.targets import free_tcp_port
    dead = f"127.0.0.1:{free_tcp_port()}"
    doc = lma_doc({"kind": "etcd", "endpoints": [dead], "timeout": 1})
    doc["node"].update(control_socket=str(tmp_path / "lma.sock"), switch_address="127.0.0.1:1")
    doc["node"].pop("metrics_port", None)
    f = tmp_path / "lma.toml"
    f.write_text(to_toml(doc))
    res = subprocess.run([P4MOB, "lma", "run", "-c", str(f)], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert f"cannot start: store: etcd {dead}: UNAVAILABLE" in res.stderr
    assert '"event": "store_unreachable"' in res.stdout + res.stderr
