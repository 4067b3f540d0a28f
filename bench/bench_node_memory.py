"""The LMA node's memory per binding in process, by where it was allocated (issue 15).

No switch, no root: an `LmaNode` with a profile per MN (bench/lma_rig.py's configuration),
registrations mn0..mn<count-1> through `on_item`, `persist` (SQLite) and `plan`, in batches
of 256; tracemalloc compares before and after, grouped by package. Printed as JSON.
Usage: python bench/bench_node_memory.py [--count 20000]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lma_rig import lma_config, pbu_frame  # noqa: E402

GROUPS = ("p4rt", "pmip", "binding", "runtime", "finsy")


class Punted:
    """A punt as the node reads it: the frame, an MH punt reason, port 1."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def __getitem__(self, key: str) -> int:
        return {"punt_reason": 1, "ingress_port": 1}[key]


def group(filename: str) -> str:
    for g in GROUPS:
        if f"/{g}/" in filename or (g == "finsy" and "finsy" in filename):
            return g
    return "other"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20_000)
    args = ap.parse_args()
    from p4mobility.runtime.items import PacketIn
    from p4mobility.runtime.lma_node import LmaNode
    from p4mobility.runtime.logs import EventLog
    from p4mobility.runtime.nodeconfig import lma_from_dict

    n = args.count
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as devnull:
        cfg = lma_config(Path(tmp), n, "info", False, state_db=f"{tmp}/lma.db")
        cfg["lma"]["timestamp_validity_window"] = 1e9
        node = LmaNode(lma_from_dict(cfg), EventLog("lma", devnull))
        node.entries.load(node.restore())
        frames = [pbu_frame(i, 1) for i in range(n)]
        gc.collect()
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
        t = time.process_time()
        for k in range(0, n, 256):
            now = time.time()
            acts = [a for f in frames[k:k + 256] for a in node.on_item(PacketIn(Punted(f)), now)]
            node.persist(acts)
            node.entries.plan([c for a in acts for c in node.changes_for(a)])
        cpu = time.process_time() - t
        del frames, acts
        gc.collect()
        after = tracemalloc.take_snapshot()
        by: dict[str, int] = {}
        for st in after.compare_to(before, "filename"):
            g = group(st.traceback[0].filename)
            by[g] = by.get(g, 0) + st.size_diff
        print(json.dumps({"bindings": node.core.binding_count(), "desired_entries": len(node.entries),
                          "bytes_per_binding": round(sum(by.values()) / n),
                          "by_package": {g: round(v / n) for g, v in sorted(by.items(), key=lambda kv: -kv[1])},
                          "cpu_us_per_registration_traced": round(cpu * 1e6 / n)}))
        node.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
