"""`p4mob mn run -c mn.toml`: the mobile-node daemon (docs/mobile-node.md, "The daemon");
`p4mob mn prefixes --socket S [--solicit]`: the home prefixes it learned (RFC 6275 §11.4).

Rule: validate the whole file first (errors name the key, exit status 2),
then run until the core has de-registered after SIGTERM/SIGINT (a second
signal exits at once). A start-up failure (no root, no tun driver, a bad
state file) is one line on stderr, exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse

from p4mobility.binding.confread import located
from p4mobility.binding.errors import ConfigError

from .errors import CliError


def add_mn_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("mn", help="run a mobile node (RFC 6275 §11, RFC 5555, RFC 5648)")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run the mobile-node daemon (tunnel interface, BUs, movement detection)")
    run.add_argument("-c", "--config", required=True, help="mobile node TOML file")
    run.add_argument("--check", action="store_true", help="validate the file and exit")
    run.set_defaults(func=_run)
    pfx = sub.add_parser("prefixes", help="the home prefixes the home agent advertised (RFC 6275 §11.4)")
    pfx.add_argument("--socket", required=True, help="the daemon's control socket ([node] control_socket)")
    pfx.add_argument("--solicit", action="store_true",
                     help="send a Mobile Prefix Solicitation first (the answer arrives later: ask again)")
    pfx.add_argument("--json", action="store_true", help="print the answer as JSON")
    pfx.set_defaults(func=_prefixes)


def _prefixes(args: argparse.Namespace) -> int:
    import json

    from p4mobility.runtime.control import ControlError, request

    from .show import render_table

    try:
        answer = request(args.socket, {"cmd": "prefixes", "solicit": bool(args.solicit)})
    except ControlError as exc:
        raise CliError(str(exc)) from None
    if not answer.get("ok"):
        raise CliError(f"mobile node: {answer.get('error', 'unknown error')}")
    if args.json:
        print(json.dumps(answer, indent=2, default=str))
        return 0
    print(render_table(answer.get("columns", []), answer.get("rows", [])))
    if answer.get("pending") is not None:
        print(f"solicitation {answer['pending']} outstanding")
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from p4mobility.runtime.logs import EventLog
    from p4mobility.runtime.mn_config import load
    from p4mobility.runtime.mn_state import StateFileError
    from p4mobility.runtime.seqstore import SeqStoreError

    try:
        cfg = load(args.config)
    except ConfigError as exc:
        raise CliError(located(args.config, exc)) from None
    if args.check:
        print(f"{args.config}: ok")
        return 0
    from p4mobility.runtime.mn_node import MnNode

    stream = None
    try:
        if cfg.node.log_file:
            try:
                stream = open(cfg.node.log_file, "a", encoding="utf-8")
            except OSError as exc:
                raise CliError(f"{cfg.node.log_file}: cannot open log: {exc.strerror}") from None
        try:
            node = MnNode(cfg, EventLog(cfg.node.name, stream))
            asyncio.run(node.run())
        except (StateFileError, SeqStoreError) as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:  # TUN, sockets, rtnetlink: the operating system said no
            raise CliError(f"cannot start: {exc.strerror or exc}") from None
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        if stream is not None:
            stream.close()


__all__ = ["add_mn_commands"]
