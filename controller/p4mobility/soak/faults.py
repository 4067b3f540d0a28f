"""The faults the soak injects while the load runs, and what each must leave in the logs.

Rule: each fault is one function of the SoakLab: it breaks something, restores
it as a supervisor would (a killed process is started again after
RESTART_DELAY: systemd's Restart=always), and returns when the restart is
done (the switch's gRPC port open, the controller's `reconciled` line). The
runner measures recovery from the load itself and checks the logs.
"""
from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from typing import Callable

from p4mobility.lab.supervisor import LabError
from p4mobility.soak.logscan import LogFollower
from p4mobility.soak.topo import SoakLab

RESTART_DELAY = 0.5  # s: a supervisor's restart delay
KINDS = ("lma_controller", "mag_controller", "crypto_path", "switch", "link_loss", "disk_full")


@dataclass
class FaultRecord:
    kind: str
    target: str
    started: float  # time.time()
    restored: float = 0.0  # the process is back / the knob is reset
    ready: float | None = None  # the restarted node reconciled (controllers, switches)
    recovered: float | None = None  # every PBU sent before `restored` answered
    ping_gap_ms: float | None = None  # the sample MN's longest reply gap around the fault
    logs: dict[str, bool] = field(default_factory=dict)  # expected log events seen
    detail: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        def rel(t: float | None, since: float = self.started) -> float | None:
            return None if t is None else round(t - since, 3)

        return {"kind": self.kind, "target": self.target, "started": round(self.started, 3),
                "restored_s": rel(self.restored), "ready_s": rel(self.ready), "recovery_s": rel(self.recovered),
                "recovery_after_restore_s": rel(self.recovered, self.restored),
                "ping_gap_ms": self.ping_gap_ms, "logs": self.logs, **self.detail}


def _kill_restart(lab: SoakLab, name: str, start: Callable[[], None]) -> None:
    lab.sup.stop(name, sig=signal.SIGKILL)  # kill -9 of the process group
    time.sleep(RESTART_DELAY)
    start()


def _wait(lab: SoakLab, follower: LogFollower, name: str, proc: str, timeout: float = 300.0,
          seen: list | None = None) -> dict:
    """The next ``name`` event in the follower's log (LabError if ``proc`` dies or time runs out);
    events named in ``seen`` (a list of names) on the way are replaced by the events found."""
    deadline = time.monotonic() + timeout
    also = list(seen or ())
    if seen is not None:
        seen.clear()
    while True:
        for e in follower.new_events(name, *also):
            if e.get("event") == name:
                return e
            if seen is not None:
                seen.append(e)
        p = lab.sup.procs.get(proc)
        if p is not None and not p.alive():
            raise LabError(f"{proc} exited while waiting for {name!r}")
        if time.monotonic() > deadline:
            raise LabError(f"{proc}: no {name!r} within {timeout} s")
        time.sleep(0.1)


def inject(lab: SoakLab, kind: str, n: int, hold: float) -> FaultRecord:
    """The ``n``-th fault of ``kind`` (targets alternate between LMA and MAG1 where both have one)."""
    t0 = time.time()
    logs = {node: LogFollower(lab.log_path(node)) for node in ("lma", "mag1")}
    if kind in ("lma_controller", "mag_controller"):
        node = "lma" if kind == "lma_controller" else "mag1"
        rec = FaultRecord(kind, f"ctl-{node}", t0)
        _kill_restart(lab, f"ctl-{node}", lambda: lab.start_controller(node))
        rec.restored = time.time()
        before = ["state_restored"]
        rec.ready = _wait(lab, logs[node], "reconciled", f"ctl-{node}", seen=before)["ts"]
        rec.logs = {"state_restored": bool(before)}
    elif kind == "crypto_path":
        node = ("lma", "mag1")[n % 2]
        rec = FaultRecord(kind, f"crypto-{node}", t0)
        crypto_log = LogFollower(lab.out / f"{node}-crypto.log")
        _kill_restart(lab, f"crypto-{node}", lambda: lab.start_crypto(node))
        rec.restored = time.time()
        rec.ready = _wait(lab, crypto_log, "crypto_start", f"crypto-{node}", timeout=60)["ts"]
        rec.logs = {"crypto_start": True}
    elif kind == "switch":
        node = ("lma", "mag1")[n % 2]
        rec = FaultRecord(kind, f"switch-{node}", t0)
        lab.restart_switch(node)  # kill -9, start again, gRPC port open
        rec.restored = time.time()
        before = ["switch_down"]
        rec.ready = _wait(lab, logs[node], "reconciled", f"ctl-{node}", seen=before)["ts"]
        rec.logs = {"switch_down": bool(before)}
    elif kind == "link_loss":
        rate = 0.3
        rec = FaultRecord(kind, "gen-lma link", t0, detail={"loss_rate": rate})
        try:
            lab.set_loss(rate)
            time.sleep(hold)
        finally:
            lab.set_loss(0.0)
        rec.restored = time.time()
    elif kind == "disk_full":
        rec = FaultRecord(kind, "lma state tmpfs", t0)
        try:
            lab.fill_state_disk()
            time.sleep(hold)
        finally:
            lab.free_state_disk()
        rec.restored = time.time()
        failed = logs["lma"].new_events("store_write_failed")
        rec.logs = {"store_write_failed": bool(failed), "store_recovered": None}  # the runner looks later
        rec.detail = {"write_failures_logged": len(failed), "lma_log": logs["lma"]}
    else:
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
    return rec


__all__ = ["KINDS", "FaultRecord", "inject", "RESTART_DELAY"]
