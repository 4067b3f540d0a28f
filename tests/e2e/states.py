"""The state an end-to-end test starts from, reached from whatever ran before.

Rule: tests of a module-scoped lab share its processes, never each other's
results. Each test asks for its starting state here (the nodes' options, the
MN detached and fresh, or registered at a MAG) and these helpers get there
from any state by acting and then waiting on conditions with a deadline (the
LMA's binding cache, the MAG's Binding Update List, the MN's address, echo
replies); a process an earlier test stopped and did not restart is started
again first. So any single test runs alone (`pytest path::test`) and in any
order.
"""
from __future__ import annotations

import signal
import time
from ipaddress import IPv6Address
from pathlib import Path
from typing import Callable, TypeVar

from p4mobility.lab import topology as T
from p4mobility.lab.lab import Lab
from p4mobility.lab.report import PingResult, parse_ping
from p4mobility.lab.supervisor import sh

V = TypeVar("V")


def wait_for(probe: Callable[[], V], what: str, timeout: float = 30.0, poll: float = 0.1) -> V:
    """The first truthy value of ``probe()``; AssertionError naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(poll)


def wait_replies(log: Path, count: int, after: float = 0.0, timeout: float = 30.0) -> PingResult:
    """Until ``log`` (ping -D) shows ``count`` echo replies received after ``after``."""
    def enough() -> PingResult | None:
        res = parse_ping(log.read_text() if log.exists() else "")
        return res if sum(t > after for t, _, _ in res.replies) >= count else None
    return wait_for(enough, f"{count} echo replies after {after:.3f} in {log.name}", timeout)


def lma_rows(lab: Lab) -> list[list]:
    ans = lab.control("lma", {"cmd": "show", "what": "bindings"})
    assert ans["ok"], ans
    return ans["rows"]


def bul_rows(lab: Lab, mag: str) -> list[list]:
    ans = lab.control(mag, {"cmd": "show", "what": "bindings"})
    assert ans["ok"], ans
    return ans["rows"]


def revive(lab: Lab) -> None:
    """Start again every switch, crypto path and controller that is not running."""
    for node in T.SWITCHES:
        t = time.time()
        restarted = False
        if not lab.sup.procs[f"switch-{node}"].alive():
            lab.start_switch(node)
            restarted = True
        crypto = lab.sup.procs.get(f"crypto-{node}")
        if crypto is not None and not crypto.alive():
            lab.start_crypto(node)
        if not lab.sup.procs[f"ctl-{node}"].alive():
            lab.start_controller(node)
            restarted = True
        if restarted:
            lab.wait_event(node, "reconciled", since=t, timeout=120)


def configured(lab: Lab, opts: T.LabOptions) -> None:
    """The lab's nodes run the configuration of ``opts``: the controllers whose
    config file changes are restarted with it (the crypto paths keep their keys)."""
    revive(lab)
    if lab.opts == opts:
        return
    files = {node: lab.out / f"{node}.toml" for node in T.SWITCHES}
    before = {node: f.read_text() for node, f in files.items()}
    lab.opts = opts
    lab.write_configs(new_keys=False)
    for node, f in files.items():
        if f.read_text() != before[node]:
            lab.kill_controller(node, signal.SIGTERM)
            t = time.time()
            lab.start_controller(node)
            lab.wait_event(node, "reconciled", since=t, timeout=60)


def detached(lab: Lab) -> None:
    """The MN attached nowhere, known to no node, its interface down without a
    global address: the next attach is a first attachment (RS, PBU, RA, SLAAC)."""
    revive(lab)
    if lab.attached is not None:
        lab.detach()
    # the LMA deletes the binding MinDelayBeforeBCEDelete after the de-registration
    wait_for(lambda: lma_rows(lab) == [], "the LMA has no binding", timeout=60)
    for mag in ("mag1", "mag2"):  # (a MAG may still retransmit a de-registration the LMA discards)
        wait_for(lambda: all(r[2] == "deregistering" for r in bul_rows(lab, mag)),
                 f"{mag} holds no binding for the MN", timeout=30)
    fresh_mn(lab)


def fresh_mn(lab: Lab) -> None:
    """The MN's interface down, without global addresses (as before the lab's first attach:
    bringing it up sends an RS, and SLAAC configures what the next RA says)."""
    mn = lab.ns("mn")
    sh("ip", "link", "set", "mn0", "down", ns=mn)
    sh("ip", "-6", "addr", "flush", "dev", "mn0", "scope", "global", ns=mn)


def registered_at(lab: Lab, mag: str | None = None) -> IPv6Address:
    """The MN registered at ``mag`` (None: where it is, else mag1): the LMA's
    binding points at that MAG's Proxy-CoA, the MAG's BUL entry is bound, the MN
    has its global address and reaches the CN. Returns that address. (The MAG
    it left may still be retransmitting a de-registration the LMA discards.)"""
    revive(lab)
    mag = mag or lab.attached or "mag1"
    if lab.attached is None:
        fresh_mn(lab)  # no address left from an earlier binding
        lab.attach(mag)
    elif lab.attached != mag:
        lab.move(mag)  # a link-layer move: the MN's next packet is the new MAG's attach trigger
    coa = str(T.MAG_COA[mag])

    def registered() -> bool:
        rows = lma_rows(lab)
        if len(rows) == 1 and rows[0][3] == coa and [r[2] for r in bul_rows(lab, mag)] == ["bound"]:
            return True
        lab.ping_once(count=1, timeout=1)  # traffic from the MN (an attach trigger), if it has an address
        return False

    wait_for(registered, f"the MN registered at {mag} ({coa})", timeout=60, poll=0.2)
    addr = IPv6Address(lab.mn_address(timeout=30))
    wait_for(lambda: lab.ping_once(count=1, timeout=2), f"the MN at {mag} reaches the CN", timeout=30, poll=0)
    return addr


__all__ = ["bul_rows", "configured", "detached", "fresh_mn", "lma_rows", "registered_at", "revive", "wait_for",
           "wait_replies"]
