"""`p4mob-switch`: command line that mirrors simple_switch_grpc.

Rule: the same invocation that starts bmv2 starts this target:
    p4mob-switch -i 1@veth0 -i 2@veth1 --device-id 1 --no-p4 -- \
        --grpc-server-addr 127.0.0.1:9559 --cpu-port 255
Target options may come before or after the `--` separator. bmv2 options that
have no meaning here (--thrift-port, --log-console, ...) are accepted and
ignored, so harnesses need no special case.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from .device import Device, load_p4info
from .errors import PipelineLoadError
from .pcap import PcapDumper
from .ports import MAX_FRAME, AfPacketPort
from .mmsg import MmsgBatch
from .runtime import serve
from .tls import TlsConfigError, add_tls_options, server_tls

log = logging.getLogger("p4mob_switch")

_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL, "off": 100}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="p4mob-switch",
                                description="Embedded P4 target: P4Runtime server executing bmv2 JSON (v1model)")
    p.add_argument("-i", "--interface", action="append", default=[], metavar="PORT@IFNAME",
                   help="attach a Linux interface as a switch port (repeatable)")
    p.add_argument("--device-id", type=int, default=0)
    p.add_argument("--grpc-server-addr", default="0.0.0.0:9559")
    p.add_argument("--cpu-port", type=int, default=None)
    p.add_argument("-L", "--log-level", default="info", choices=sorted(_LEVELS))
    p.add_argument("--pcap", nargs="?", const=".", default=None, metavar="DIR",
                   help="dump per-interface pcap files into DIR")
    p.add_argument("--no-p4", action="store_true", help="start without a program (wait for P4Runtime)")
    p.add_argument("--p4info", default=None, help="P4Info (text or binary) to load with the JSON file")
    add_tls_options(p)
    # accepted for simple_switch_grpc compatibility, ignored
    for opt in ("--thrift-port", "--notifications-addr", "--log-file", "--dp-grpc-server-addr",
                "--drop-port", "--max-port-count", "--priority-queues", "--restore-state",
                "--nanolog", "--debugger-addr", "--packet-in"):
        p.add_argument(opt, default=None, help=argparse.SUPPRESS)
    for flag in ("--log-console", "--debugger", "--use-files", "--dump-packet-data",
                 "--enable-swap", "--no-queueing"):
        p.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    p.add_argument("json", nargs="?", default=None, help="bmv2 JSON to load at start")
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    argv = [a for a in argv if a != "--"]
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        logging.getLogger("p4mob_switch").warning("ignoring unknown options: %s", " ".join(unknown))
    ports = {}
    for spec in args.interface:
        num, sep, ifname = spec.partition("@")
        if not sep or not num.isdigit() or not ifname:
            raise SystemExit(f"p4mob-switch: bad interface {spec!r}, expected PORT@IFNAME")
        if int(num) in ports:
            raise SystemExit(f"p4mob-switch: port {num} given twice")
        ports[int(num)] = ifname
    args.ports = ports
    return args


async def run(args: argparse.Namespace) -> int:
    try:
        tls = server_tls(args)
    except TlsConfigError as exc:
        print(f"p4mob-switch: {exc}", file=sys.stderr)
        return 2
    device = Device(args.device_id, args.cpu_port)
    if args.json and not args.no_p4:
        try:
            with open(args.json, "rb") as f:
                data = f.read()
            info = None
            if args.p4info:
                with open(args.p4info, "rb") as f:
                    info = load_p4info(f.read())
            device.load(data, info)
        except (OSError, PipelineLoadError) as exc:
            print(f"p4mob-switch: cannot load {args.json}: {exc}", file=sys.stderr)
            return 2
    loop = asyncio.get_running_loop()
    dumper = PcapDumper(args.pcap) if args.pcap else None
    ports = []
    mmsg_batch = MmsgBatch(rx_bufsize=MAX_FRAME + 1)
    for num, ifname in sorted(args.ports.items()):
        try:
            port = AfPacketPort(num, ifname, device.receive, mmsg_batch)
        except OSError as exc:
            print(f"p4mob-switch: cannot open {ifname}: {exc}", file=sys.stderr)
            return 2
        if dumper:
            port.tap = dumper.dump
        device.ports[num] = port.send
        port.start(loop)
        ports.append(port)
    try:
        server = await serve(device, args.grpc_server_addr, tls)
    except (OSError, RuntimeError) as exc:
        print(f"p4mob-switch: cannot serve P4Runtime on {args.grpc_server_addr}: {exc}", file=sys.stderr)
        return 2
    log.info("P4Runtime server listening on %s%s (device %d, cpu port %s, %d ports)",
             args.grpc_server_addr, "" if tls is None else " with TLS" + (", client auth" if tls.client_auth else ""),
             args.device_id, args.cpu_port, len(ports))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0.5)
    for p in ports:
        p.close()
    if dumper:
        dumper.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=_LEVELS[args.log_level], format="%(asctime)s p4mob-switch %(levelname)s %(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
