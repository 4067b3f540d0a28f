"""Binding store benchmark: one `apply` per PBU batch (what the node does before its PBAs
leave), SQLite (WAL) against etcd (one Txn), in the same run on the same machine.

etcd is a single member started here in a temp dir on a loopback port (Debian's
etcd-server; skipped with the reason when absent). Documents are LMA BCE documents
of the usual size. Prints applies/s and p50/p99 per batch size and the etcd/SQLite
ratio; writes bench/results/store.json. Not run by the test suite.
"""
from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import RESULTS, percentiles

from p4mobility.runtime.store import BindingStore
from p4mobility.runtime.store_etcd import EtcdBindingStore


def doc(i: int) -> dict:  # the shape and size of lma_persist.binding_to_json
    return {"binding_id": i, "mn_id": f"mn{i}@bench".encode().hex(), "mn_id_subtype": 1, "mn_ll_id": None,
            "hnps": [f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::/64"], "att": 4, "handoff_indicator": 1,
            "paths": [{"bid": 0, "coa": "2001:db8:a::1", "local": "2001:db8:ffff::1", "tunnel_peer_id": 1}],
            "mag_link_local": None, "timestamp": 1.0e9, "sequence": 1, "lifetime": 400, "registered_at": 1.0e9,
            "refreshed_at": 1.0e9, "expires_at": 1.0e9 + 400, "state": "active", "delete_at": None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_etcd(work: Path) -> tuple[subprocess.Popen, str]:
    client, peer = f"127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([shutil.which("etcd"), "--name", "b", "--data-dir", str(work / "etcd"),
                             "--listen-client-urls", f"http://{client}", "--advertise-client-urls", f"http://{client}",
                             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                             "--initial-cluster", f"b={peer}", "--max-txn-ops", "4096"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = EtcdBindingStore([client], "/probe", timeout=1.0)
    for _ in range(600):
        try:
            probe.load("x")
            return proc, client
        except Exception:  # noqa: BLE001 - still starting
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("etcd did not start")


def run(store, batch: int, count: int) -> dict:
    ms = []
    t0 = time.perf_counter()
    for n in range(count):
        puts = [("bce", str(n * batch + i), doc(n * batch + i)) for i in range(batch)]
        t = time.perf_counter()
        store.apply(puts)
        ms.append((time.perf_counter() - t) * 1000)
    dt = time.perf_counter() - t0
    return {"batch": batch, "applies": count, "applies_per_s": count / dt, "docs_per_s": count * batch / dt,
            **percentiles(ms)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=500, help="applies per batch size")
    args = ap.parse_args()
    if shutil.which("etcd") is None:
        print("skipped: etcd not found on PATH (apt-get install etcd-server)")
        return 0
    out: dict = {"sqlite": [], "etcd": []}
    with tempfile.TemporaryDirectory() as tmp:
        proc, endpoint = start_etcd(Path(tmp))
        try:
            stores = {"sqlite": BindingStore(f"{tmp}/state.db"), "etcd": EtcdBindingStore([endpoint], "/bench")}
            for batch in (1, 64):
                for kind, store in stores.items():
                    out[kind].append(run(store, batch, args.count if batch == 1 else max(1, args.count // 8)))
        finally:
            proc.kill()
    for s, e in zip(out["sqlite"], out["etcd"]):
        print(f"batch {s['batch']:>3}: sqlite {s['applies_per_s']:8.0f} applies/s (p50 {s['p50_ms']:.2f} ms), "
              f"etcd {e['applies_per_s']:8.0f} applies/s (p50 {e['p50_ms']:.2f} ms, p99 {e['p99_ms']:.2f} ms); "
              f"etcd/sqlite {e['applies_per_s'] / s['applies_per_s']:.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
