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
    mod = load("bench_registrations")
    pkt = Ether(mod.pbu_frame(7, 8))
    assert pkt[IPv6].src == str(mod.MAG) and pkt[IPv6].dst == str(mod.LMA)
    assert pkt[MIP6MH_BU].seq == 8 and "P" in str(pkt[MIP6MH_BU].flags)
    assert callable(mod.main)


def test_bench_handover_imports():
    assert callable(load("bench_handover").main)
