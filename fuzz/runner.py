"""Run every fuzz target for N seconds, each in its own process (`make fuzz FUZZ_SECONDS=N`).

Prints one line per target on stdout, ``mh_decode: 1234567 inputs, 0 crashes``, and
writes the figures (inputs, crashes and their signatures, exec/s, RSS at start and
end) to ``<out>/fuzz.json``. A target that crashes, hangs or dies does not stop the
others. Seeds are built first (seeds.py); crash inputs land in ``<out>/crashes/``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS = ("mh_decode", "mh_packet", "esp_frame", "nd_decode", "switch_packet", "switch_p4rt",
           "switch_pipeline", "config_toml", "control_request")
SETUP_GRACE = 120  # seconds on top of the run for imports, setup and the final stats
_LIBFUZZER_DEATHS = (("timeout", "ERROR: libFuzzer: timeout"), ("out-of-memory", "ERROR: libFuzzer: out-of-memory"),
                     ("deadly-signal", "ERROR: libFuzzer: deadly signal"),
                     ("uncaught", "=== Uncaught Python exception: ==="))


def _stat(log: str, name: str) -> int | None:
    m = re.search(rf"stat::{name}:\s+(\d+)", log)
    return int(m.group(1)) if m else None


def _after_warmup(samples: list, seconds: float) -> int | None:
    """RSS at the first sample past a quarter of the run (the corpus has grown in by then)."""
    later = [kb for t, kb in samples if t >= seconds / 4]
    return later[0] if later else None


def run_target(target: str, seconds: int, out: Path, hang: int, python: str) -> dict:
    status = out / "status" / f"{target}.json"
    logf = out / "logs" / f"{target}.log"
    for p in (status, logf):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.unlink(missing_ok=True)
    argv = [python, "-m", "fuzz.harness", target, "--seconds", str(seconds), "--status", str(status),
            "--crash-dir", str(out / "crashes"), "--hang-seconds", str(hang),
            "--corpus", str(out / "corpus" / target)]
    work = out / "work" / target  # scratch files of the target (config_toml's TOML files)
    shutil.rmtree(work, ignore_errors=True)
    env = dict(os.environ, P4MOB_FUZZ_WORK=str(work))
    t0 = time.monotonic()
    with open(logf, "w") as log:
        try:
            proc = subprocess.run(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  timeout=seconds + SETUP_GRACE + hang)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = "killed"
    wall = time.monotonic() - t0
    text = logf.read_text(errors="replace")
    try:
        st = json.loads(status.read_text())
    except (OSError, ValueError):
        st = {}
    inputs = _stat(text, "number_of_executed_units") or st.get("inputs", 0)
    res = {"target": target, "inputs": inputs, "crashes": st.get("crashes", 0),
           "signatures": st.get("signatures", {}), "seconds": st.get("seconds"), "wall_seconds": round(wall, 1),
           "exec_per_sec": _stat(text, "average_exec_per_sec"), "peak_rss_mb": _stat(text, "peak_rss_mb"),
           "rss_start_kb": st.get("rss_start_kb"), "rss_end_kb": st.get("rss_end_kb"),
           "rss_after_warmup_kb": _after_warmup(st.get("rss_samples") or [], st.get("seconds") or 0),
           "rss_samples": st.get("rss_samples"),
           "exit": rc, "log": str(logf)}
    if rc != 0:  # libFuzzer stopped it (hang, memory, signal) or it never started
        kind = next((k for k, needle in _LIBFUZZER_DEATHS if needle in text), f"exit {rc}")
        res["crashes"] += 1
        res["signatures"][kind] = {"count": 1, "log": str(logf), "tail": text[-3000:]}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60, help="per target")
    ap.add_argument("--seconds-for", action="append", default=[], metavar="TARGET=N",
                    help="another duration for one target (repeatable)")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--out", type=Path, default=REPO / "fuzz" / "results")
    ap.add_argument("--pcaps", type=Path, action="append", default=None,
                    help="directories searched for *.pcap* seeds (default: lab-out)")
    ap.add_argument("--hang-seconds", type=int, default=10, help="an input running longer is a hang")
    ap.add_argument("--jobs", type=int, default=1, help="targets run at the same time")
    args = ap.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        ap.error(f"unknown targets {sorted(unknown)}; known: {', '.join(TARGETS)}")
    try:
        seconds = {t: args.seconds for t in targets} | {k: int(v) for k, v in
                                                        (x.split("=", 1) for x in args.seconds_for)}
    except ValueError:
        ap.error("--seconds-for takes TARGET=SECONDS")
    sys.path.insert(0, str(REPO))
    from fuzz import seeds
    args.out.mkdir(parents=True, exist_ok=True)
    counts = seeds.build(args.out / "corpus", args.pcaps or [REPO / "lab-out"])
    print(f"seeds: {json.dumps(counts)}", file=sys.stderr)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(run_target, t, seconds[t], args.out, args.hang_seconds, sys.executable)
                   for t in targets]
        results = []
        for f in futures:
            r = f.result()
            results.append(r)
            print(f"{r['target']}: {r['inputs']} inputs, {r['crashes']} crashes", flush=True)
    summary = {"started": started, "seconds_per_target": {t: seconds[t] for t in targets}, "jobs": args.jobs,
               "cpu_count": os.cpu_count(), "seeds": counts, "targets": results}
    (args.out / "fuzz.json").write_text(json.dumps(summary, indent=1))
    print(f"results: {args.out / 'fuzz.json'}", file=sys.stderr)
    return 1 if any(r["crashes"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
