"""Run one fuzz target under atheris in this process (the runner starts one per target).

Rule: a target module defines ``MAX_LEN``, ``INSTRUMENT`` (packages to instrument for
coverage) and ``setup() -> check(data)``; ``check`` returns for every input the code
handles as designed (accepted, or refused with the module's typed error) and raises
anything else: that is a crash. A crash is counted, its input saved once per distinct
signature (exception type + innermost frame) and fuzzing goes on. A hang past
``--hang-seconds`` or RSS past ``--rss-mb`` is reported by libFuzzer, which then stops.
Status (inputs, crashes, RSS at start and now, RSS samples over the run) goes to
``--status`` as JSON.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
import time
import traceback

import atheris


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def signature(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f"{os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else "?"
    return f"{type(exc).__name__}@{where}"


class Stats:
    def __init__(self, name: str, status_path: str, crash_dir: str) -> None:
        self.name, self.status_path, self.crash_dir = name, status_path, crash_dir
        self.inputs = self.crashes = 0
        self.signatures: dict[str, dict] = {}
        self.t0 = time.monotonic()
        self.rss_start_kb = rss_kb()
        self.last_write = 0.0
        self.samples: list[tuple[float, int]] = []  # (seconds, RSS kB), about every 5 % of the run
        self.sample_every = 1.0

    def crash(self, exc: BaseException, data: bytes) -> None:
        self.crashes += 1
        sig = signature(exc)
        if sig not in self.signatures:
            os.makedirs(self.crash_dir, exist_ok=True)
            path = os.path.join(self.crash_dir, f"{self.name}-{hashlib.sha1(data).hexdigest()[:16]}")
            with open(path, "wb") as f:
                f.write(data)
            self.signatures[sig] = {"input": path, "count": 0,
                                    "traceback": "".join(traceback.format_exception(exc))[-4000:]}
            self.write(force=True)
        self.signatures[sig]["count"] += 1

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < 0.5:
            return
        self.last_write = now
        rss = rss_kb()
        if not self.samples or now - self.t0 - self.samples[-1][0] >= self.sample_every:
            self.samples.append((round(now - self.t0, 1), rss))
        tmp = self.status_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"target": self.name, "inputs": self.inputs, "crashes": self.crashes,
                       "seconds": round(now - self.t0, 3), "rss_start_kb": self.rss_start_kb,
                       "rss_end_kb": rss, "rss_samples": self.samples, "signatures": self.signatures}, f)
        os.replace(tmp, self.status_path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--corpus", action="append", default=[], help="seed/corpus directories")
    ap.add_argument("--crash-dir", default="fuzz/results/crashes")
    ap.add_argument("--status", help="status JSON file (required to fuzz)")
    ap.add_argument("--hang-seconds", type=int, default=10)
    ap.add_argument("--rss-mb", type=int, default=2048)
    ap.add_argument("--reproduce", nargs="+", metavar="FILE", help="run these inputs once, tracebacks shown")
    args = ap.parse_args(argv)
    mod = importlib.import_module(f"fuzz.{args.target}")
    if args.reproduce:
        check = mod.setup()
        for path in args.reproduce:
            with open(path, "rb") as f:
                check(f.read())  # a crash raises here, with its traceback
            print(f"{path}: no crash")
        return
    if not args.status:
        ap.error("--status is required to fuzz")
    with atheris.instrument_imports(include=list(mod.INSTRUMENT)):
        for pkg in mod.INSTRUMENT:
            importlib.import_module(pkg)
        check = mod.setup()
    stats = Stats(args.target, args.status, args.crash_dir)
    stats.sample_every = max(1.0, args.seconds / 20)

    def one(data: bytes) -> None:
        stats.inputs += 1
        try:
            check(data)
        except Exception as exc:  # the oracle said: crash
            stats.crash(exc, data)
        if not stats.inputs & 0xFF:
            stats.write()

    lib_args = [sys.argv[0], f"-max_total_time={args.seconds}", f"-timeout={args.hang_seconds}",
                f"-rss_limit_mb={args.rss_mb}", f"-max_len={mod.MAX_LEN}", "-print_final_stats=1",
                f"-artifact_prefix={args.crash_dir.rstrip('/')}/{args.target}-", *args.corpus]
    os.makedirs(args.crash_dir, exist_ok=True)
    stats.write(force=True)
    mutator = getattr(mod, "custom_mutator", None)
    atheris.Setup(lib_args, one, **({"custom_mutator": mutator} if mutator else {}))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
