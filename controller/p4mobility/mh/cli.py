"""`p4mob mh decode|encode` (work in progress)."""
from __future__ import annotations


def add_mh_commands(subparsers) -> None:
    p = subparsers.add_parser("mh", help="decode/encode Mobility Header messages")
    p.set_defaults(func=lambda args: p.print_help() or 0)
