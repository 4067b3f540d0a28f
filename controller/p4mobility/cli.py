"""`p4mob`: the operator's command line.

Each feature registers its own subcommands (``add_*_commands(subparsers)``); a
subcommand handler takes the parsed arguments and returns the process exit
status. Bad input is reported on stderr with exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="p4mob", description="IP mobility with a P4 data plane")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from p4mobility.mh.cli import add_mh_commands
    from p4mobility.pmip.demo import add_demo_command
    from p4mobility.runtime.show_cli import add_show_commands
    from p4mobility.ipsec.cli import add_ipsec_commands
    from p4mobility.runtime.node_cli import add_node_commands
    from p4mobility.lab.cli import add_lab_commands

    add_mh_commands(sub)
    add_demo_command(sub)
    add_show_commands(sub)
    add_ipsec_commands(sub)
    add_node_commands(sub)
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


if __name__ == "__main__":
    # Re-enter through the package so CliError is one class, not __main__.CliError.
    from p4mobility.cli import main as _main

    sys.exit(_main())
