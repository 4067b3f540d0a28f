"""`p4mob lab [--scenario NAME] [--target embedded|bmv2] [--out DIR] [--no-ipsec]`.

Rule: run one scenario under the lab supervisor; whatever happens (error,
Ctrl-C, SIGTERM) the namespaces and processes are gone when it returns.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from .errors import CliError

SCENARIO_NAMES = ("pmip-handover", "mip-nat", "mcoa", "lma-cluster")  # lab/scenario.py SCENARIOS


def add_lab_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("lab", help="run a lab scenario in network namespaces (root)")
    p.add_argument("--scenario", default="pmip-handover", choices=SCENARIO_NAMES)
    p.add_argument("--target", default=os.environ.get("TARGET", "embedded"), choices=("embedded", "bmv2"),
                   help="switch target (default embedded; env TARGET)")
    p.add_argument("--out", default="lab-out", help="output directory (default lab-out)")
    p.add_argument("--no-ipsec", dest="ipsec", action="store_false",
                   help="PBU/PBA in the clear (default: ESP between MAGs and LMA, RFC 5213 §4)")
    p.set_defaults(func=_lab)


def _lab(args: argparse.Namespace) -> int:
    from p4mobility.lab.lab import LabError
    from p4mobility.lab.scenario import SCENARIOS

    try:
        SCENARIOS[args.scenario](Path(args.out), target=args.target, ipsec=args.ipsec)
    except LabError as exc:
        raise CliError(f"lab: {exc}") from None
    except KeyboardInterrupt:
        print("\nlab: interrupted; cleaned up")
        return 130
    return 0


__all__ = ["add_lab_commands"]
