"""What each P4 node of the lab runs: command lines and config files.

Rule: pure values plus writing files under the output directory; no process
is started here. `p4mob lab` (p4mobility.lab.lab) and the Mininet script
(mininet/pmip.py) both take their switch, crypto-path and controller command
lines and their node configs from here, so the two labs cannot drift apart.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from p4mobility.lab import topology as T
from p4mobility.lab.ipsec_setup import KEY_BYTES, ipsec_config, lab_sas
from p4mobility.lab.supervisor import LabError
from p4mobility.lab.tools import find_tool, tool_missing
from p4mobility.runtime.nodeconfig import DEFAULT_P4BLOB, DEFAULT_P4INFO

GRPC_PORT = 9559
METRICS_PORT = 9100  # Prometheus, per node namespace

# the MN is a stock host: SLAAC from the MAG's RA, RS right away and forever (net.ipv6.conf.mn0.*)
MN_SYSCTLS = (("accept_dad", 0), ("accept_ra", 1), ("autoconf", 1), ("addr_gen_mode", 0),
              ("router_solicitation_delay", 0), ("router_solicitations", -1),
              ("router_solicitation_interval", 1), ("router_solicitation_max_interval", 2),
              ("keep_addr_on_down", 1), ("dad_transmits", 0))


def find_switch(target: str) -> str:
    """The switch binary for ``target`` ("embedded" | "bmv2"), or LabError saying why not."""
    if target == "embedded":
        path = Path(sys.executable).with_name("p4mob-switch")
        if path.exists():
            return str(path)
        found = shutil.which("p4mob-switch")
        if found:
            return found
        raise LabError("embedded target p4mob-switch is not installed (pip install -e .)")
    if target == "bmv2":
        found = find_tool("simple_switch_grpc")
        if found:
            return found
        raise LabError(tool_missing("simple_switch_grpc") or "simple_switch_grpc not found")
    raise LabError(f"unknown target {target!r} (embedded | bmv2)")


def switch_argv(binary: str, target: str, node: str, ipsec: bool = False,
                ports: dict[str, int] | None = None, punt_ifname: str | None = None) -> list[str]:
    """The switch command line for ``node`` (simple_switch_grpc's, which p4mob-switch shares):
    one ``-i port@ifname`` per port of ``ports`` (default T.SWITCHES[node]; and the crypto
    port with IPsec), gRPC on 127.0.0.1 in its namespace. With ``punt_ifname`` that
    interface is the CPU port and there is no --cpu-port (runtime/punt_port.py)."""
    argv = [binary]
    for ifname, port in (T.SWITCHES[node] if ports is None else ports).items():
        argv += ["-i", f"{port}@{ifname}"]
    if ipsec:
        argv += ["-i", f"{T.CRYPTO_PORT}@{T.CRYPTO_IFACES[0]}"]
    if punt_ifname:
        argv += ["-i", f"{T.CPU_PORT}@{punt_ifname}"]
    argv += ["--device-id", "1", "--no-p4"]
    if target == "embedded":
        argv += ["-L", "warn"]
    argv += ["--", "--grpc-server-addr", f"127.0.0.1:{GRPC_PORT}"]
    return argv + ([] if punt_ifname else ["--cpu-port", str(T.CPU_PORT)])


def node_settings(out: Path, node: str) -> dict[str, Any]:
    """The [node] table of ``node``'s config, its files (socket, state) under ``out``."""
    return {"name": node, "switch_address": f"127.0.0.1:{GRPC_PORT}", "device_id": 1,
            "election_id": 10, "p4info": str(DEFAULT_P4INFO), "p4blob": str(DEFAULT_P4BLOB),
            "control_socket": str(out / f"{node}.sock"), "state_db": str(out / f"{node}.db"),
            "counters_interval": 2.0, "metrics_port": METRICS_PORT,
            "log_level": "debug"}  # the lab's timeline reads every registration's lines


def crypto_sock(out: Path, node: str) -> Path:
    return out / f"{node}-crypto.sock"


def write_configs(out: Path, opts: T.LabOptions, new_keys: bool = True) -> None:
    """`<node>.toml` for every P4 node (and the IPsec files when opts.ipsec; with
    ``new_keys`` False the running crypto paths' files stay as they are)."""
    if opts.ipsec and new_keys:
        write_ipsec(out)
    for node in T.SWITCHES:
        settings = node_settings(out, node)
        cfg = T.lma_config(settings, opts) if node == "lma" else T.mag_config(node, settings, opts)
        if opts.ipsec:
            cfg["ipsec"] = {"config": f"ipsec-{node}.toml", "crypto_socket": str(crypto_sock(out, node))}
        (out / f"{node}.toml").write_text(T.to_toml(cfg))


def write_ipsec(out: Path) -> None:
    """Fresh keys (0600) per run, one ip-xfrm style file per node, and
    `esp_sa` beside the pcaps so Wireshark/tshark decrypt them."""
    from p4mobility.ipsec.config import load_config
    from p4mobility.ipsec.wireshark import export_wireshark_esp_sa

    keys = out / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    for sa in lab_sas():
        path = keys / f"{sa.name}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(KEY_BYTES).hex() + "\n")
        os.chmod(path, 0o600)
    for node in T.SWITCHES:
        (out / f"ipsec-{node}.toml").write_text(T.to_toml(ipsec_config(node)))
    (out / "esp_sa").write_text(export_wireshark_esp_sa(load_config(out / "ipsec-lma.toml").sas))


def crypto_argv(out: Path, node: str) -> list[str]:
    """The host-side crypto path of ``node`` on the crypto veth's far end."""
    return [sys.executable, "-m", "p4mobility.cli", "ipsec", "run", "-c", str(out / f"ipsec-{node}.toml"),
            "-i", T.CRYPTO_IFACES[1], "--control-socket", str(crypto_sock(out, node)),
            "--log", str(out / f"{node}-crypto.log"), "--state", str(out / f"{node}-crypto.state")]


def controller_argv(out: Path, node: str) -> list[str]:
    role = "lma" if node == "lma" else "mag"
    return [sys.executable, "-m", "p4mobility.cli", role, "run", "-c", str(out / f"{node}.toml")]


__all__ = ["GRPC_PORT", "METRICS_PORT", "MN_SYSCTLS", "find_switch", "switch_argv", "node_settings",
           "crypto_sock", "write_configs", "write_ipsec", "crypto_argv", "controller_argv"]
