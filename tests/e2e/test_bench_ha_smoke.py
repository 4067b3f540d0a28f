"""bench/bench_ha.py: the generator's mobile nodes speak RFC 3776 ESP with the HA's generated
IPsec file (checked with the IPsec core on the HA side and scapy), the movement arithmetic on
hand-made timelines, and a run of the whole bench with tiny counts on each target (root)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import tomllib
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BU, HAO, IPv6ExtHdrDestOpt

from p4mobility.ipsec import Accepted, CryptoPath, Protected
from p4mobility.ipsec.config import load_config
from p4mobility.lab import mip_topology as M
from p4mobility.mip.events import BaReceived

from .mip_states import mip_unavailable, targets

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return load("bench_ha")


def ha_path(out: Path) -> CryptoPath:
    cfg = load_config(out / "ipsec-ha.toml")
    return CryptoPath(cfg.build_sad(0.0), cfg.spd)


def test_rfc3776_each_generated_mn_has_its_own_bu_ba_pair_in_the_ha_file_keys_0600(bench, tmp_path):
    bench.write_ha_files(tmp_path, [0, 1, 2])
    cfg = load_config(tmp_path / "ipsec-ha.toml")
    assert len(cfg.sas) == 6 and len({sa.spi for sa in cfg.sas}) == 6
    for i in range(3):
        hoa = str(bench.bench_keys(i).home_address)
        mine = [sa for sa in cfg.sas if hoa in (sa.src, sa.dst)]
        assert sorted((sa.dir.value, sa.mode.value) for sa in mine) == [("in", "transport"), ("out", "transport")]
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "keys").iterdir()} == {0o600}
    ha = tomllib.loads((tmp_path / "ha.toml").read_text())
    assert ha["home_agent"]["mobile_nodes"] == []  # the SA bound to the home address authorizes (RFC 3776 §4.1)


@pytest.mark.parametrize("dsmip", [False, True], ids=["ipv6-coa", "dsmipv6-ipv4-coa"])
def test_generated_bu_decrypts_at_the_ha_and_the_mn_reads_the_has_ba(bench, tmp_path, dsmip):
    bench.write_ha_files(tmp_path, [4, 5])
    mn = bench.make_mn(tmp_path, 5, dsmip)
    ha = ha_path(tmp_path)
    keys = bench.bench_keys(5)
    frame = bench.bu_frame(mn, 77)
    got = ha.process_inbound(frame[14:], None, time.time())
    assert isinstance(got, Accepted) and ha.sad.get(got.sa_index).spi == keys.spi + 1
    if dsmip:  # RFC 5555 §4.1: IPv4{CoA -> HA4} UDP{4191 -> 4191} IPv6{HoA -> HA} MH BU
        outer = IP(got.packet)
        assert (outer.src, outer.dst, outer[UDP].dport) == (str(mn.coa), str(M.HA_ADDRESS_V4), 4191)
        pkt = IPv6(bytes(outer[UDP].payload))
        assert pkt.src == str(keys.home_address) and HAO not in pkt
    else:  # RFC 6275 §11.7.1: IPv6{CoA -> HA} DestOpt{HAO = HoA} MH BU
        pkt = IPv6(got.packet)
        assert (pkt.src, pkt.dst) == (str(mn.coa), str(M.HA_ADDRESS))
        assert pkt[IPv6ExtHdrDestOpt][HAO].hoa == str(keys.home_address)
    bu = pkt[MIP6MH_BU]
    assert bu.seq == 77 and "A" in str(bu.flags) and "H" in str(bu.flags)
    # the HA's BA (scapy), sealed by the HA's crypto path with the MN's BA SA
    ba = IPv6(src=str(M.HA_ADDRESS), dst=str(keys.home_address)) / MIP6MH_BA(status=0, seq=77, mhtime=900)
    if dsmip:
        clear = bytes(IP(src=str(M.HA_ADDRESS_V4), dst=str(mn.coa)) / UDP(sport=4191, dport=4191) / ba)
    else:
        clear = bytes(IPv6(src=str(M.HA_ADDRESS), dst=str(mn.coa))
                      / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(keys.home_address)]) / ba[MIP6MH_BA])
    sa = next(sa for sa in ha.sad if sa.spi == keys.spi + 2)
    sealed = ha.process_outbound(clear, sa.index, time.time())
    assert isinstance(sealed, Protected)
    ev = mn.datapath.from_access(sealed.packet, {mn.coa}, time.time())
    assert isinstance(ev, BaReceived) and (ev.message.status, ev.message.sequence) == (0, 77)
    assert isinstance(mn.coa, IPv4Address if dsmip else IPv6Address)


def test_movement_gaps_per_move_and_against_the_steady_state():
    mv = load("ha_moves")
    moves = [{"from": "acca", "to": "accb", "at": 10.0}, {"from": "accb", "to": "acca", "at": 20.0}]
    # every 10 ms on A until 10.020, on B from 10.035 until 20.025, on A again from 20.012 (overlap)
    a = [9.0 + 0.01 * k for k in range(103)] + [20.012 + 0.01 * k for k in range(50)]
    b = [10.035 + 0.01 * k for k in range(1000)]
    a.remove(9.0 + 0.01 * 50)  # one 20 ms hole in the steady state
    up_a = [9.0 + 0.02 * k for k in range(51)] + [20.05]  # uplink every 20 ms until 10.00
    up_b = [10.05 + 0.02 * k for k in range(400)]
    esp = {"acca": {"downlink": a, "uplink": up_a}, "accb": {"downlink": b, "uplink": up_b}}
    # echo replies every 10 ms until 10.99, seq 200-204 lost, then from 12.00
    replies = [(9.0 + 0.01 * s, s, 1.0) for s in range(200)] + [(12.0 + 0.01 * (s - 205), s, 1.0)
                                                                for s in range(205, 300)]
    res = mv.analyse(moves, esp, replies, 9.0, 30.0)
    assert res["moves"] == 2
    assert res["baseline_steady_state"]["downlink_gap_ms"] == pytest.approx(20.0)
    assert res["baseline_steady_state"]["ping_gap_ms"] == pytest.approx(10.0)
    assert res["downlink_gap_ms"]["values"] == [pytest.approx(15.0), pytest.approx(-13.0)]
    assert res["uplink_gap_ms"]["values"] == [pytest.approx(50.0), pytest.approx(2020.0)]  # 18.03 -> 20.05
    assert res["baseline_steady_state"]["uplink_gap_ms"] == pytest.approx(20.0)
    assert res["lost"]["values"] == [5, 0] and res["lost_total"] == 5
    assert res["ping_gap_ms"]["values"] == [pytest.approx(1010.0), None]  # 10.99 -> 12.00; none after 2
    assert res["ping_gap_ms"]["median_vs_steady_state"] == pytest.approx(101.0)


def test_bench_ha_runs_with_tiny_counts_and_writes_its_figures(tmp_path):
    reason = mip_unavailable()
    if reason:
        pytest.skip(reason)
    from p4mobility.lab.lab import LabError, find_switch
    for target in targets():
        try:
            find_switch(target)
        except LabError:
            continue
        res_file = tmp_path / f"ha-{target}.json"
        proc = subprocess.run([sys.executable, str(BENCH / "bench_ha.py"), "--target", target, "--mns", "3",
                               "--count", "9", "--rate", "20", "--moves", "2", "--settle", "0.5", "--steady", "0.5",
                               "--out", str(tmp_path / target), "--results", str(res_file)],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        doc = json.loads(res_file.read_text())
        regs = doc["registrations"]
        for variant in ("ipv6", "dsmip"):
            assert regs[variant]["first"]["accepted"] == regs[variant]["first"]["sent"] == 3
            assert regs[variant]["refresh"]["accepted"] == regs[variant]["refresh"]["sent"] == 9
            assert regs[variant]["first"]["table_updates_per_registration"] > 0
        assert regs["baseline_raw_write_entries_per_s"] > 0 and "x the raw write rate" in proc.stdout
        mov = doc["movement"]
        assert mov["moves"] == 2 and len(mov["downlink_gap_ms"]["values"]) == 2
        assert mov["received"] > 0 and mov["baseline_steady_state"]["ping_gap_ms"] is not None
