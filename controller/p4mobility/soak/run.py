"""`python -m p4mobility.soak`: the soak itself (setup, load, faults, samples, final check).

Rule: orchestration: the SoakLab runs the real processes; this process plays
the MAGs' load through the generator port (wire.PbuSocket, in the GEN
namespace), paced at ``rate`` PBUs/s with at most ``window`` in flight; a
thread injects the faults one after the other; every second a sample. At the
end the load stops, what is in flight is retransmitted until answered, and
the LMA (control socket `show bindings`), its SQLite store and its switch (a
P4Runtime Read by lab.inspect) are compared with what the load acknowledged.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv6Network
from pathlib import Path
from typing import Callable

from p4mobility.lab import topology as T
from p4mobility.mh import BindingAck, HomeNetworkPrefix, MnIdentifier
from p4mobility.soak.faults import KINDS, FaultRecord, inject
from p4mobility.soak.load import HI, LoadModel, Mix, Op
from p4mobility.soak.sample import rss_kib, store_bindings
from p4mobility.soak.esp import GenEsp
from p4mobility.soak.plan import GEN_MAC, GEN_MAGS, LMA_GEN_MAC, mn_id, mn_index
from p4mobility.soak.topo import SoakLab
from p4mobility.soak.wire import PbuSocket, pbu, pbu_frame

LIFETIME_UNITS = 900  # 3600 s (4 s units): nothing expires during a soak


@dataclass
class SoakOptions:
    seconds: float = 60.0
    rate: int = 200
    mns: int = 1000
    faults: tuple[str, ...] = KINDS
    fault_every: float = 20.0  # s between faults (after warm-up)
    fault_hold: float = 8.0  # s a loss or a full disk lasts
    rounds: int = 0  # times through the fault list (0: as long as the load runs)
    warmup: float = 0.0  # s before the first fault (0: when every MN registered once)
    window: int = 0  # PBUs in flight at most (0: 0.25 s of rate)
    target: str = "embedded"
    state_mb: int = 64
    drain: float = 90.0  # s to wait for the answers of what is in flight at the end
    seed: int = 1
    punt_port: bool = True  # the LMA's punts on a veth, not the P4Runtime stream (runtime/punt_port.py)


@dataclass
class Series:
    t: list = field(default_factory=list)
    offered: list = field(default_factory=list)  # cumulative first transmissions
    acked: list = field(default_factory=list)
    retransmitted: list = field(default_factory=list)
    in_flight: list = field(default_factory=list)
    bindings: list = field(default_factory=list)  # BCEs in the LMA's store
    rss: dict = field(default_factory=dict)  # process -> [KiB | None]
    pids: dict = field(default_factory=dict)  # process -> [pid | None]


class Soak:
    def __init__(self, out: Path, opts: SoakOptions, echo: Callable[[str], None] = print) -> None:
        self.out, self.opts, self.echo = Path(out), opts, echo
        self.model = LoadModel(opts.mns, Mix(), opts.seed)
        self.pbas: queue.SimpleQueue = queue.SimpleQueue()
        self.series = Series()
        self.faults: list[FaultRecord] = []
        self.fault_errors: list[str] = []
        self.unexpected_exits: list[dict] = []  # processes found dead outside a fault (restarted)
        self._fault_running = False
        self.lab: SoakLab | None = None
        self.esp: GenEsp | None = None

    # --- the load ---------------------------------------------------------------------
    def _on_pba(self, msg: BindingAck, t: float) -> None:
        self.pbas.put(msg)

    def _take_pbas(self) -> None:
        while True:
            try:
                msg = self.pbas.get_nowait()
            except queue.Empty:
                return
            mn, opt = msg.option(MnIdentifier), msg.option(HomeNetworkPrefix)
            i = mn_index(mn.identifier) if mn is not None else -1
            hnp = IPv6Network((opt.prefix, opt.prefix_length)) if opt is not None and opt.prefix_length else None
            self.model.on_pba(i, msg.sequence, int(msg.status), hnp)

    def _send(self, port: PbuSocket, op: Op, now: float) -> None:
        msg = pbu(mn_id(op.mn), op.seq, HI[op.kind], 0 if op.lifetime_zero else LIFETIME_UNITS, op.hnp, now)
        frame = pbu_frame(msg, GEN_MAGS[op.mag], T.LMA_ADDRESS, LMA_GEN_MAC, GEN_MAC)
        frame = self.esp.seal(frame) if self.esp is not None else frame
        if frame is not None:
            port.send(frame)

    def _sample(self, t0: float) -> None:
        s, m, lab = self.series, self.model, self.lab
        s.t.append(round(time.time() - t0, 2))
        s.offered.append(m.stats.offered)
        s.acked.append(m.stats.acked)
        s.retransmitted.append(m.stats.retransmitted)
        s.in_flight.append(m.in_flight)
        s.bindings.append(store_bindings(lab.state_dir / "lma.db"))
        import os
        procs = {name: p.popen.pid for name, p in list(lab.sup.procs.items()) if p.alive()}
        procs["generator"] = os.getpid()
        for name in set(procs) | set(s.rss):
            pid = procs.get(name)
            s.rss.setdefault(name, [None] * (len(s.t) - 1)).append(rss_kib(pid) if pid else None)
            s.pids.setdefault(name, [None] * (len(s.t) - 1)).append(pid)

    # --- faults -----------------------------------------------------------------------
    def _fault_thread(self, start_at: Callable[[], float | None], stop: threading.Event) -> None:
        counts: dict[str, int] = {}
        k = 0
        while not stop.is_set() and self.opts.faults:
            if self.opts.rounds and k >= self.opts.rounds * len(self.opts.faults):
                return
            first = start_at()
            if first is None:
                stop.wait(0.5)
                continue
            when = first + k * self.opts.fault_every
            if stop.wait(max(0.0, when - time.time())):
                return
            kind = self.opts.faults[k % len(self.opts.faults)]
            n = counts.get(kind, 0)
            self.echo(f"fault {k + 1}: {kind} #{n + 1}")
            self._fault_running = True
            try:
                rec = inject(self.lab, kind, n, self.opts.fault_hold)
                self.faults.append(rec)
                self._fault_running = False
                self._check_after(rec, stop)
            except Exception as exc:  # noqa: BLE001 - reported in the summary, the soak goes on
                self.fault_errors.append(f"{kind} #{n + 1}: {type(exc).__name__}: {str(exc)[-600:]}")
                self.echo(f"fault {kind} failed: {self.fault_errors[-1][:300]}")
            finally:
                self._fault_running = False
            counts[kind] = n + 1
            k += 1

    def _check_after(self, rec: FaultRecord, stop: threading.Event, timeout: float = 60.0) -> None:
        """Once the load recovered: acknowledged bindings in the switch and the store."""
        from p4mobility.soak.final import after_fault_check

        end = time.time() + timeout
        while rec.recovered is None and time.time() < end and not stop.is_set():
            time.sleep(0.2)
        if rec.recovered is not None:
            rec.detail["after"] = after_fault_check(self.lab, self.model)

    def _watchdog(self) -> None:
        """A process dead outside a fault: recorded with its log's tail, started again
        (what a supervisor does; the soak goes on and the summary says so)."""
        lab = self.lab
        if self._fault_running:
            return
        for name, proc in list(lab.sup.procs.items()):
            if proc.alive() or name == "ping":
                continue
            self.unexpected_exits.append({"process": name, "t": round(time.time(), 3), "code": proc.popen.returncode,
                                          "log_tail": _tail(proc.log)})
            self.echo(f"{name} exited unexpectedly (code {proc.popen.returncode}); starting it again")
            role, _, node = name.partition("-")
            try:
                {"ctl": lab.start_controller, "crypto": lab.start_crypto, "switch": lab.start_switch}[role](node)
            except Exception as exc:  # noqa: BLE001 - KeyError: nothing to start it with
                self.fault_errors.append(f"restart of {name}: {exc}")

    def _check_recovery(self) -> None:
        oldest = None
        for rec in self.faults:
            if rec.recovered is None and rec.restored:
                if oldest is None:
                    oldest = self.model.oldest_in_flight() or float("inf")
                if oldest > rec.restored:
                    rec.recovered = time.time()

    # --- the run ----------------------------------------------------------------------
    def run(self) -> dict:
        from p4mobility.soak.final import final_check
        from p4mobility.soak.report import write_report

        o = self.opts
        window = o.window or max(50, o.rate // 4)  # a queue under TimestampValidityWindow (0.3 s)
        opts = T.LabOptions(mn_lifetime=30.0)
        with SoakLab(self.out, o.mns, o.target, o.state_mb, opts, punt_port=o.punt_port) as lab:
            self.lab = lab
            lab.attach("mag1")
            lab.mn_address(timeout=60)
            ping_log = lab.start_ping(interval=0.05)
            self.esp = GenEsp(lab.out) if opts.ipsec else None
            with lab.in_namespace("gen"):
                port = PbuSocket("gen0", self._on_pba, self.esp.open if self.esp else None)
            stop = threading.Event()
            filled: list[float] = []
            t0 = time.time()
            ft = threading.Thread(target=self._fault_thread, daemon=True, args=(
                lambda: (t0 + o.warmup) if o.warmup else (filled[0] + 5.0 if filled else None), stop))
            ft.start()
            self.echo(f"load: {o.rate} PBU/s over {o.mns} MNs for {o.seconds:.0f} s, faults {', '.join(o.faults)}")
            next_sample, next_check, sent = t0, t0, 0
            try:
                while (now := time.time()) < t0 + o.seconds:
                    self._take_pbas()
                    for op in self.model.due(now):
                        self._send(port, op, now)
                    budget = int((now - t0) * o.rate) - sent
                    while budget > 0 and self.model.in_flight < window:
                        op = self.model.next_op(now)
                        if op is None:
                            break
                        self._send(port, op, now)
                        sent += 1
                        budget -= 1
                    if budget > 0 and self.model.in_flight >= window:
                        sent += budget  # not offered: over the window (counted as the shortfall)
                    if not filled and self.model.stats.acked >= o.mns:
                        filled.append(now)
                    if now >= next_check:
                        self._check_recovery()
                        next_check = now + 0.25
                    if now >= next_sample:
                        self._sample(t0)
                        self._watchdog()
                        next_sample += 1.0
                        self._progress()
                    time.sleep(0.005)
                stop.set()
                self.echo("load stopped; draining what is in flight")
                ft.join(timeout=600)
                end = time.time() + o.drain
                while self.model.in_flight and time.time() < end:
                    self._take_pbas()
                    for op in self.model.due(time.time()):
                        self._send(port, op, time.time())
                    self._check_recovery()
                    if time.time() >= next_sample:
                        self._sample(t0)
                        next_sample += 1.0
                    time.sleep(0.01)
                self._take_pbas()
                self._check_recovery()
                time.sleep(2.0)  # MinDelayBeforeBCEDelete of the last de-registrations
                self._sample(t0)
            finally:
                stop.set()
                port.close()
            lab.stop_ping()
            final = final_check(lab, self.model)
            final["not_running_at_end"] = sorted(n for n, p in lab.sup.procs.items() if not p.alive() and n != "ping")
            summary = write_report(self, final, ping_log, t0)
        return summary

    def _progress(self) -> None:
        s = self.series
        if len(s.t) % 10 == 1 or len(s.t) < 3:
            rss = {k: v[-1] for k, v in s.rss.items() if v and v[-1]}
            self.echo(f"t={s.t[-1]:6.0f}s offered {s.offered[-1]} acked {s.acked[-1]} retx {s.retransmitted[-1]} "
                      f"in flight {s.in_flight[-1]} bindings {s.bindings[-1]} "
                      f"rss MiB {' '.join(f'{k}={v / 1024:.0f}' for k, v in sorted(rss.items()))}")


def _tail(path: Path, n: int = 1200) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


__all__ = ["Soak", "SoakOptions", "Series"]
