"""A steady TCP transfer for the lab: `python -m p4mobility.lab.tcpflow server|client ...`.

Rule: measurement only. The server (on the CN) accepts connections and
counts the bytes of each; the client (on the MN) connects once and sends a
fixed-size chunk every interval until SIGTERM/SIGINT, then closes. Each side
writes one JSON result file when it ends: bytes, whether the connection
survived (no reset, no error), and the longest time a send blocked. A
connection that breaks ends the client with `"survived": false` and the error.
"""
from __future__ import annotations

import json
import signal
import socket
import sys
import time
from pathlib import Path

CHUNK = 1024
INTERVAL = 0.01


def server(port: int, result: Path) -> int:
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    srv.listen(4)
    conn, peer = srv.accept()
    total, error = 0, None
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            total += len(data)
            result.write_text(json.dumps({"peer": peer[0], "bytes": total, "closed": False}))
    except OSError as exc:
        error = exc.strerror or str(exc)
    result.write_text(json.dumps({"peer": peer[0], "bytes": total, "closed": error is None, "error": error}))
    return 0


def client(host: str, port: int, result: Path, interval: float = INTERVAL) -> int:
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sock = socket.create_connection((host, port), timeout=10)
    sock.settimeout(60)
    sent, worst, error = 0, 0.0, None
    chunk = bytes(range(256)) * (CHUNK // 256)
    try:
        while not stop:
            t = time.monotonic()
            sock.sendall(chunk)
            worst = max(worst, time.monotonic() - t)
            sent += len(chunk)
            time.sleep(interval)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        sock.recv(1)  # the server closes after reading everything
    except OSError as exc:
        error = exc.strerror or str(exc)
    finally:
        sock.close()
    result.write_text(json.dumps({"bytes": sent, "survived": error is None, "error": error,
                                  "max_send_block_ms": round(worst * 1000, 1)}))
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "server":
        return server(int(argv[1]), Path(argv[2]))
    if len(argv) >= 4 and argv[0] == "client":
        return client(argv[1], int(argv[2]), Path(argv[3]))
    print("usage: python -m p4mobility.lab.tcpflow server PORT RESULT | client HOST PORT RESULT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
