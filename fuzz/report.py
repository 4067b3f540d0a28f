"""Print the Markdown table of a fuzz result (``python -m fuzz.report fuzz/results/fuzz.json``),
as docs/fuzzing.md records it."""
from __future__ import annotations

import json
import sys


def _mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.0f}"


def table(result: dict) -> str:
    rows = ["| target | seconds | inputs | exec/s | crashes | RSS MB start / after warm-up / end |",
            "|---|---:|---:|---:|---:|---|"]
    for t in result["targets"]:
        rows.append(f"| {t['target']} | {t['seconds'] or '-'} | {t['inputs']:,} | {t['exec_per_sec'] or '-'} | "
                    f"{t['crashes']} | {_mb(t['rss_start_kb'])} / {_mb(t.get('rss_after_warmup_kb'))} / "
                    f"{_mb(t['rss_end_kb'])} |")
    return "\n".join(rows)


if __name__ == "__main__":
    res = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "fuzz/results/fuzz.json"))
    print(f"Started {res['started']}, {res['jobs']} target(s) at a time on {res['cpu_count']} CPUs.\n")
    print(table(res))
