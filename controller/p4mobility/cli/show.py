"""`p4mob show bindings|peers|counters|sas|cluster|switches`: ask a running node over its control socket.

The node answers ``{"ok": true, "columns": [...], "rows": [[...], ...]}``; this
module only renders it (a table, or the JSON with ``--json``).
"""
from __future__ import annotations

import argparse
import json

from p4mobility.runtime.control import ControlError, request

from .errors import CliError

DEFAULT_SOCKET = "/run/p4mob/node.sock"
SHOW_WHAT = ("bindings", "peers", "counters", "sas", "cluster", "switches")


def add_show_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("show", help="show a running node's state")
    p.add_argument("what", choices=SHOW_WHAT)
    p.add_argument("--socket", default=DEFAULT_SOCKET, help=f"node control socket (default {DEFAULT_SOCKET})")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    try:
        answer = request(args.socket, {"cmd": "show", "what": args.what})
    except ControlError as exc:
        raise CliError(str(exc)) from None
    if not answer.get("ok"):
        raise CliError(f"node: {answer.get('error', 'unknown error')}")
    if args.json:
        print(json.dumps(answer, indent=2, default=str))
        return 0
    print(render_table(answer.get("columns", []), answer.get("rows", [])))
    members = answer.get("members")  # show cluster: the etcd cluster's members
    if members:
        print("\netcd members:")
        print(render_table(members.get("columns", []), members.get("rows", [])))
    if answer.get("note"):
        print(f"note: {answer['note']}")
    return 0


def render_table(columns: list[str], rows: list[list]) -> str:
    """Fixed-width table, like a router's show command."""
    cells = [[str(c) for c in columns]] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if not rows:
        lines.append("(none)")
    return "\n".join(lines)
