"""Run every benchmark in bench/ (files named bench_*.py) one after another.

Each benchmark prints its own ratios against a baseline measured in the same run
and writes a JSON result under bench/results/. A benchmark whose tool is missing
(bmv2, root) says so and is skipped; the others still run.
"""
from __future__ import annotations

import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    (HERE / "results").mkdir(exist_ok=True)
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        if rc != 0:
            failed.append(script.name)
    if failed:
        print("failed:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
