"""Several UDP flows for the lab: `python -m p4mobility.lab.udpflows send|sink ...`.

Rule: measurement only. `send HOST PORT SPORT... --count N --interval S` sends
N datagrams from each source port (one flow per port) to HOST:PORT, round
robin, each carrying "sport seq"; `sink ADDR PORT RESULT` counts what arrives
per source port and rewrites RESULT (JSON: {sport: count}) after every
datagram, until SIGTERM. Flows are told apart by their source port only: the
switch's per-flow choice (RFC 5648) hashes the ports.
"""
from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path


def send(host: str, port: int, sports: list[int], count: int, interval: float) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = {}
    for sp in sports:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sp))
        socks[sp] = s
    for seq in range(count):
        for sp, s in socks.items():
            s.sendto(f"{sp} {seq}".encode(), (host, port))
        time.sleep(interval)
    return 0


def sink(addr: str, port: int, result: Path) -> int:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    counts: dict[str, int] = {}
    result.write_text("{}")
    while True:
        data, peer = s.recvfrom(2048)
        key = str(peer[1])
        counts[key] = counts.get(key, 0) + 1
        tmp = result.with_suffix(".tmp")
        tmp.write_text(json.dumps(counts))
        tmp.replace(result)


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[0] == "send":
        args, count, interval = list(argv[1:]), 10, 0.05
        if "--count" in args:
            i = args.index("--count")
            count = int(args[i + 1])
            del args[i:i + 2]
        if "--interval" in args:
            i = args.index("--interval")
            interval = float(args[i + 1])
            del args[i:i + 2]
        return send(args[0], int(args[1]), [int(p) for p in args[2:]], count, interval)
    if len(argv) == 4 and argv[0] == "sink":
        return sink(argv[1], int(argv[2]), Path(argv[3]))
    print("usage: python -m p4mobility.lab.udpflows send HOST PORT SPORT... [--count N] [--interval S]"
          " | sink ADDR PORT RESULT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
