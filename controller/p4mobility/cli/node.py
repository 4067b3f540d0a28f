"""`p4mob lma run -c lma.toml`, `p4mob mag run -c mag.toml` and `p4mob ha run -c ha.toml`.

Rule: validate the whole file first (errors name the key, exit status 2),
then run the node until SIGINT/SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import logging

from p4mobility.binding.confread import located
from p4mobility.pmip.config import ConfigError

from .errors import CliError


def add_node_commands(subparsers: argparse._SubParsersAction) -> None:
    for role, what in (("lma", "local mobility anchor (RFC 5213 §5)"),
                       ("mag", "mobile access gateway (RFC 5213 §6)"),
                       ("ha", "MIPv6 / DSMIPv6 home agent (RFC 6275 §10, RFC 5555, RFC 5648)")):
        p = subparsers.add_parser(role, help=f"run a {what} node")
        sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
        run = sub.add_parser("run", help=f"run the {role.upper()} controller for one switch")
        run.add_argument("-c", "--config", required=True, help="node TOML file")
        run.add_argument("--check", action="store_true", help="validate the file and exit")
        run.add_argument("--log-level", choices=("info", "debug"),
                         help="event lines: info (default, or [node] log_level), debug adds one per "
                              "accepted registration")
        run.set_defaults(func=_run, role=role)


def _run(args: argparse.Namespace) -> int:
    from p4mobility.runtime.haconfig import load_ha
    from p4mobility.runtime.nodeconfig import load

    try:
        cfg = load_ha(args.config) if args.role == "ha" else load(args.config, args.role)
    except ConfigError as exc:
        raise CliError(located(args.config, exc)) from None
    if args.check:
        print(f"{args.config}: ok")
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("finsy").setLevel(logging.ERROR)
    if args.role == "lma":
        from p4mobility.runtime.lma_node import LmaNode as Node
    elif args.role == "ha":
        from p4mobility.runtime.ha_node import HaNode as Node
    else:
        from p4mobility.runtime.mag_node import MagNode as Node
    from p4mobility.runtime.logs import EventLog
    level = args.log_level or cfg.node.log_level
    from p4mobility.runtime.election import OwnershipLost
    from p4mobility.runtime.store import StoreError
    try:
        node = Node(cfg, EventLog(cfg.node.name, level=level))
        asyncio.run(node.run())
    except OSError as exc:  # the control socket, sockets: the operating system said no
        raise CliError(f"cannot start: {exc.strerror or exc}") from None
    except StoreError as exc:  # the state could not be read at start (etcd unreachable)
        raise CliError(f"cannot start: store: {exc}") from None
    except OwnershipLost as exc:  # another instance may own the switch now: stop, be restarted, wait
        raise CliError(f"ownership lost: {exc}") from None
    except KeyboardInterrupt:
        pass
    return 0


__all__ = ["add_node_commands"]
