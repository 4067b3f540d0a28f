"""The lab benchmarks import and build their inputs (they are never run here:
a full run needs root and minutes)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from scapy.layers.inet6 import IPv6, MIP6MH_BU
from scapy.layers.l2 import Ether

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_registrations_pbu_frames_are_real_pbus():
    mod, rig = load("bench_registrations"), load("lma_rig")
    pkt = Ether(mod.pbu_frame(7, 8))
    assert pkt[IPv6].src == str(rig.MAG) and pkt[IPv6].dst == str(rig.LMA)
    assert pkt[MIP6MH_BU].seq == 8 and "P" in str(pkt[MIP6MH_BU].flags)
    assert pkt[MIP6MH_BU].mhtime == 100 and Ether(rig.pbu_frame(7, 8, 900))[MIP6MH_BU].mhtime == 900
    assert callable(mod.main)


def test_bench_bindings_imports():
    assert callable(load("bench_bindings").main)


def test_bench_handover_imports():
    assert callable(load("bench_handover").main)


def test_bench_registrations_node_alone_and_cpu_accounting_smoke(tmp_path):
    import os

    from p4mobility.runtime.nodeconfig import DEFAULT_P4BLOB, DEFAULT_P4INFO

    mod, rig = load("bench_registrations"), load("lma_rig")
    n = 20
    cfg = {"node": {"name": "lma", "switch_address": "127.0.0.1:1", "p4info": str(DEFAULT_P4INFO),
                    "p4blob": str(DEFAULT_P4BLOB), "control_socket": str(tmp_path / "s")},
           "lma": {"lma_address": str(rig.LMA), "max_bindings": n + 1, "max_tunnel_peers": 2},
           "policy": {"trusted_mags": [str(rig.MAG)],
                      "pools": {"home": {"network": "2001:db8:100::/40", "prefix_length": 64}},
                      "profiles": {f"mn{i}": {"pool": "home"} for i in range(n)}},
           "routes": []}
    assert mod.node_alone_rate(cfg, n, batch=7) > 0
    before = mod.cpu_seconds(os.getpid())
    sum(i * i for i in range(200_000))
    assert mod.cpu_seconds(os.getpid()) >= before > 0
    assert mod.cpu_seconds(2 ** 30) == 0.0  # no such process
