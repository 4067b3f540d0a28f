"""`p4mob`: the operator's command line.

Rule: this package is the only place with argparse and printing for the
operator; the cores (mh/, ipsec/, pmip/, nd/) never import it. Each module
registers one subcommand group (``add_*_commands(subparsers)``): mh, demo,
show, ipsec, node (lma/mag run), mn (mn run), lab. A handler takes the parsed arguments and
returns the process exit status. Bad input is reported on stderr with exit
status 2 (``CliError``, errors.py), never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from .demo import add_demo_command
from .errors import CliError
from .ipsec import add_ipsec_commands
from .lab import add_lab_commands
from .mh import add_mh_commands
from .mn import add_mn_commands
from .node import add_node_commands
from .show import add_show_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="p4mob", description="IP mobility with a P4 data plane")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_mh_commands(sub)
    add_demo_command(sub)
    add_show_commands(sub)
    add_ipsec_commands(sub)
    add_node_commands(sub)
    add_mn_commands(sub)
    add_lab_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"p4mob: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


__all__ = ["CliError", "build_parser", "main"]
