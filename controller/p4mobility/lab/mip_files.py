"""The host-mobility lab's files: keys, every side's IPsec file, ha.toml, mn.toml, esp_sa.

Rule: pure values come from mip_topology.py; this module only writes them
under the output directory (keys fresh per run, mode 0600, RFC 3776 §5.3
manual keying) and returns the command lines of the HA node's processes. The
home agent's file and the MN's name the same SAs with mirrored directions,
and `esp_sa` (tshark's UAT) lists every SA so the pcaps decrypt.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable

from p4mobility.lab import mip_topology as M
from p4mobility.lab.launch import GRPC_PORT, METRICS_PORT
from p4mobility.lab.topology import to_toml
from p4mobility.runtime.nodeconfig import DEFAULT_P4BLOB, DEFAULT_P4INFO

HA_NODE = "ha"


def node_settings(out: Path) -> dict:
    """[node] of ha.toml: the switch in the HA namespace, files under ``out``."""
    return {"name": HA_NODE, "switch_address": f"127.0.0.1:{GRPC_PORT}", "device_id": 1, "election_id": 10,
            "p4info": str(DEFAULT_P4INFO), "p4blob": str(DEFAULT_P4BLOB), "control_socket": str(out / "ha.sock"),
            "state_db": str(out / "ha.db"), "counters_interval": 1.0, "metrics_port": METRICS_PORT,
            "log_level": "debug"}  # the lab's timeline reads every registration's lines


def write_keys(out: Path, sas: Iterable[M.MipSa] | None = None) -> None:
    """A fresh key file (0600) under ``out``/keys for each of ``sas`` (default: the lab's MNs')."""
    keys = out / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    for sa in sas if sas is not None else (sa for mn in M.LAB_MNS for sa in M.mip_sas(mn)):
        path = keys / f"{sa.name}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(M.KEY_BYTES).hex() + "\n")


def write_files(out: Path, opts: M.MipLabOptions, new_keys: bool = True) -> None:
    """keys/, ipsec-ha.toml, ipsec-mn.toml, ha.toml, mn.toml and esp_sa under ``out``."""
    from p4mobility.ipsec.config import load_config
    from p4mobility.ipsec.wireshark import export_wireshark_esp_sa

    if new_keys:
        write_keys(out)
    (out / "ipsec-ha.toml").write_text(to_toml(M.ipsec_config("ha")))
    for mn in M.HOME_ADDRESSES:  # the second MN's file is for tests that play it
        (out / f"ipsec-{mn}.toml").write_text(to_toml(M.ipsec_config(mn)))
    ha = M.ha_config(node_settings(out), opts)
    ha["ipsec"] = {"config": "ipsec-ha.toml", "crypto_socket": str(crypto_sock(out))}
    (out / "ha.toml").write_text(to_toml(ha))
    (out / "mn.toml").write_text(to_toml(M.mn_config(str(out), opts)))
    (out / "esp_sa").write_text(export_wireshark_esp_sa(load_config(out / "ipsec-ha.toml").sas))


def crypto_sock(out: Path) -> Path:
    return out / "ha-crypto.sock"


def crypto_argv(out: Path) -> list[str]:
    """The HA switch's crypto path (`p4mob ipsec run`) on the crypto veth's far end."""
    return [sys.executable, "-m", "p4mobility.cli", "ipsec", "run", "-c", str(out / "ipsec-ha.toml"),
            "-i", M.CRYPTO_IFACES[1], "--control-socket", str(crypto_sock(out)),
            "--log", str(out / "ha-crypto.log"), "--state", str(out / "ha-crypto.state")]


def ha_argv(out: Path) -> list[str]:
    return [sys.executable, "-m", "p4mobility.cli", "ha", "run", "-c", str(out / "ha.toml")]


def mn_argv(out: Path) -> list[str]:
    return [sys.executable, "-m", "p4mobility.cli", "mn", "run", "-c", str(out / "mn.toml")]


__all__ = ["HA_NODE", "node_settings", "write_keys", "write_files", "crypto_sock", "crypto_argv", "ha_argv",
           "mn_argv"]
