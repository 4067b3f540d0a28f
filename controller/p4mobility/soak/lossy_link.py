"""`python -m p4mobility.soak.lossy_link IF_A IF_B --rate-file F`: a wire that drops a share.

Rule: the kernel here has no netem, so the soak's MAG-LMA link runs through
this small forwarder in a namespace of its own: every Ethernet frame read on
one interface leaves on the other, except a share ``rate`` (0.0-1.0) of them,
drawn from a seeded random.Random (both directions). ``rate`` is read from
the rate file whenever it changes (an absent or empty file: 0.0), so a fault
can start and end while the load runs. Counters (forwarded, dropped, per
direction) go to ``--stats`` as JSON on every change of rate and at exit.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_IGNORE_OUTGOING = 23


def read_rate(path: str) -> float:
    try:
        text = open(path).read().strip()
    except OSError:
        return 0.0
    try:
        return min(1.0, max(0.0, float(text))) if text else 0.0
    except ValueError:
        return 0.0


def open_port(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    s.setsockopt(263, PACKET_IGNORE_OUTGOING, 1)  # not the frames we send ourselves
    s.setblocking(False)
    return s


class LossyLink:
    def __init__(self, a: str, b: str, rate_file: str, stats: str | None, seed: int = 1) -> None:
        self.ports = {a: open_port(a), b: open_port(b)}
        self.peer = {a: b, b: a}
        self.rate_file, self.stats_path = rate_file, stats
        self.rng = random.Random(seed)
        self.rate = read_rate(rate_file)
        self.counts = {f"{x}>{self.peer[x]}": {"forwarded": 0, "dropped": 0} for x in (a, b)}
        self.send_errors = 0
        self._mtime = None

    def check_rate(self) -> None:
        try:
            m = os.stat(self.rate_file).st_mtime_ns
        except OSError:
            m = None
        if m != self._mtime:
            self._mtime = m
            self.rate = read_rate(self.rate_file)
            self.write_stats()

    def write_stats(self) -> None:
        if self.stats_path:
            tmp = self.stats_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"rate": self.rate, "directions": self.counts, "send_errors": self.send_errors}, f)
            os.replace(tmp, self.stats_path)

    def pump(self, ifname: str) -> None:
        s, out = self.ports[ifname], self.ports[self.peer[ifname]]
        c = self.counts[f"{ifname}>{self.peer[ifname]}"]
        for _ in range(256):
            try:
                frame = s.recv(65535)
            except BlockingIOError:
                return
            if self.rate and self.rng.random() < self.rate:
                c["dropped"] += 1
                continue
            try:
                out.send(frame)
                c["forwarded"] += 1
            except OSError:
                self.send_errors += 1

    def run(self, stop: list) -> None:
        by_fd = {s.fileno(): name for name, s in self.ports.items()}
        next_check = 0.0
        while not stop:
            ready, _, _ = select.select(list(by_fd), [], [], 0.2)
            for fd in ready:
                self.pump(by_fd[fd])
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 0.1
                self.check_rate()
        self.write_stats()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rate-file", required=True)
    ap.add_argument("--stats")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    try:
        link = LossyLink(args.a, args.b, args.rate_file, args.stats, args.seed)
    except OSError as exc:
        print(f"lossy_link: {exc}", file=sys.stderr)
        return 2
    stop: list = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    link.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
