"""`p4mob demo`: print the in-memory PMIPv6 call flow of pmip/demo.py.

Rule: an adapter only. ``play()`` runs the flow and returns its timeline and
summary; this module prints the timeline (``--json``: one JSON object per
line) and the summary. Exit status 0 only if the summary says the flow ended
as RFC 5213 says it should.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from p4mobility.pmip.demo import describe_action, play
from p4mobility.pmip.sim import Record


def _line(r: Record) -> str:
    if r.kind in ("PBU", "PBA"):
        return f"t={r.t:.3f}s  {r.node} -> {r.peer}  {r.kind} {r.text}"
    if r.kind == "RA":
        return f"t={r.t:.3f}s  {r.node} -> {r.peer}  {r.text}"
    if r.kind == "action":
        return f"t={r.t:.3f}s  {r.node}  {describe_action(r.obj)}"
    if r.kind == "event":
        return f"t={r.t:.3f}s  {r.node}  <- {_event_text(r.obj)}"
    return f"t={r.t:.3f}s  {r.node}  {r.text}"


def _event_text(ev: Any) -> str:
    name = type(ev).__name__
    mn = getattr(ev, "mn_id", None)
    port = getattr(ev, "access_port", None)
    return f"{name}" + (f" MN-ID={mn.decode()}" if mn else "") + (f" port={port}" if port is not None else "")


def run(args: argparse.Namespace) -> int:
    sim, summary = play()
    if args.json:
        for r in sim.timeline:
            print(json.dumps({"t": round(r.t, 6), "node": r.node, "peer": r.peer, "kind": r.kind,
                              "text": describe_action(r.obj) if r.kind == "action" else r.text}))
        print(json.dumps({"summary": summary}))
    else:
        for r in sim.timeline:
            if r.kind != "log":
                print(_line(r))
        print()
        print("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0 if summary["ok"] else 1


def add_demo_command(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="PMIPv6 attach/handoff/refresh/detach call flow, in memory")
    p.add_argument("--json", action="store_true", help="timeline as JSON lines")
    p.set_defaults(func=run)


__all__ = ["add_demo_command"]
