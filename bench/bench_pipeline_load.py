"""Time the embedded target's loader (what SetForwardingPipelineConfig does with the bmv2 JSON).

For p4src/build/*.json and the test programs: CPU time of the first load in this
process and the median of --reloads more loads of the same JSON (a controller
reconnecting and pushing its pipeline again). Prints one line per program and writes
bench/results/pipeline_load.json.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
PROGRAMS = sorted((REPO / "p4src/build").glob("*.json")) + sorted((REPO / "tests/target/p4/build").glob("*.json"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reloads", type=int, default=15)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "pipeline_load.json"))
    args = ap.parse_args(argv)
    from p4mob_switch.program import Program
    rows = []
    for path in PROGRAMS:
        blob = path.read_bytes()
        t = time.process_time()
        Program(blob)
        first = time.process_time() - t
        again = []
        for _ in range(args.reloads):
            t = time.process_time()
            Program(blob)
            again.append(time.process_time() - t)
        row = {"program": path.name, "bytes": len(blob), "first_ms": round(first * 1000, 2),
               "reload_median_ms": round(statistics.median(again) * 1000, 2)}
        rows.append(row)
        print(f"{path.name}: {len(blob)} B, first load {row['first_ms']} ms, reload {row['reload_median_ms']} ms")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"reloads": args.reloads, "programs": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
