"""Return routability signalling for the lab: `python -m p4mobility.lab.rrpeer cn|mn ...`.

Rule: a test stand-in, not a correspondent node (RFC 6275 §9.4 is out of scope
here: the home agent forwards HoTI and HoT, it does not answer them).
- `cn ADDR RESULT` answers each Home Test Init (MH type 1, RFC 6275 §6.1.3)
  addressed to ADDR with a Home Test (type 3, §6.1.5) to its source, echoing
  the Home Init Cookie (nonce index 1, a fixed keygen token), and rewrites
  RESULT (JSON) after each: the HoTIs seen (source, cookie), the HoTs sent.
- `mn HOA CN COUNT COOKIE RESULT [TIMEOUT]` is an application on the mobile
  node: it sends COUNT HoTIs from HOA to CN (cookies COOKIE, COOKIE+1, ...)
  on a raw socket, which the kernel routes into the tunnel interface while a
  binding exists, and records each HoT that comes back with the interface it
  arrived on (IPV6_PKTINFO), until every one came or TIMEOUT seconds passed.
Both use raw IPv6 sockets for the Mobility Header (protocol 135) with the
kernel's checksum off: the project's MH codec computes and checks it (RFC
6275 §6.1.1). A raw socket for the protocol also keeps the kernel from
answering each message with an ICMPv6 Parameter Problem.
"""
from __future__ import annotations

import json
import select
import socket
import struct
import sys
import time
from ipaddress import IPv6Address
from pathlib import Path

from p4mobility.mh import HomeTest, HomeTestInit, MhDecodeError, decode_mh, encode_mh

IPPROTO_MH = 135
IPV6_CHECKSUM = getattr(socket, "IPV6_CHECKSUM", 7)
KEYGEN_TOKEN = bytes.fromhex("0102030405060708")  # fixed: no correspondent state here
_PKTINFO = struct.Struct("16sI")


def mh_socket(bind: IPv6Address | None = None) -> socket.socket:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_MH)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, -1)  # ours, over the right addresses
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    if bind is not None:
        s.bind((str(bind), 0))
    return s


def receive(s: socket.socket, timeout: float) -> tuple[object, IPv6Address, IPv6Address, str] | None:
    """One MH: (message or the decode error, source, destination, interface), or None on timeout."""
    if not select.select([s], [], [], timeout)[0]:
        return None
    data, anc, _, peer = s.recvmsg(4096, socket.CMSG_SPACE(_PKTINFO.size))
    dst, ifname = None, "?"
    for level, kind, value in anc:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(value) >= _PKTINFO.size:
            addr, index = _PKTINFO.unpack_from(value)
            dst = IPv6Address(addr)
            try:
                ifname = socket.if_indextoname(index)
            except OSError:
                ifname = str(index)
    src = IPv6Address(peer[0].split("%")[0])
    try:
        msg: object = decode_mh(data, src, dst) if dst is not None else None
    except MhDecodeError as exc:
        msg = exc
    return msg, src, dst, ifname


def _write(result: Path, doc: dict) -> None:
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    tmp.replace(result)


def cn(addr: IPv6Address, result: Path) -> int:
    s = mh_socket()
    doc: dict = {"hoti": [], "hot_sent": []}
    _write(result, doc)
    while True:
        got = receive(s, 3600.0)
        if got is None:
            continue
        msg, src, dst, ifname = got
        if dst != addr or not isinstance(msg, HomeTestInit):
            continue
        doc["hoti"].append({"src": str(src), "cookie": msg.init_cookie.hex(), "ifname": ifname, "t": time.time()})
        hot = HomeTest(1, msg.init_cookie, KEYGEN_TOKEN)  # RFC 6275 §6.1.5: the cookie echoed
        s.sendto(encode_mh(hot, addr, src), (str(src), 0))
        doc["hot_sent"].append({"dst": str(src), "cookie": msg.init_cookie.hex(), "t": time.time()})
        _write(result, doc)


def mn(hoa: IPv6Address, peer: IPv6Address, count: int, cookie: int, result: Path, timeout: float) -> int:
    s = mh_socket(hoa)
    cookies = [(cookie + i).to_bytes(8, "big") for i in range(count)]
    doc: dict = {"sent": [], "hot": []}
    for c in cookies:  # RFC 6275 §6.1.3: from the home address, to the correspondent
        s.sendto(encode_mh(HomeTestInit(c), hoa, peer), (str(peer), 0))
        doc["sent"].append({"cookie": c.hex(), "t": time.time()})
    _write(result, doc)
    deadline = time.monotonic() + timeout
    while len(doc["hot"]) < count and time.monotonic() < deadline:
        got = receive(s, max(0.0, deadline - time.monotonic()))
        if got is None:
            break
        msg, src, dst, ifname = got
        if isinstance(msg, HomeTest) and dst == hoa:
            doc["hot"].append({"src": str(src), "cookie": msg.init_cookie.hex(), "nonce_index": msg.nonce_index,
                               "ifname": ifname, "t": time.time()})
            _write(result, doc)
    return 0 if len(doc["hot"]) == count else 1


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 3 and argv[0] == "cn":
            return cn(IPv6Address(argv[1]), Path(argv[2]))
        if len(argv) in (6, 7) and argv[0] == "mn":
            return mn(IPv6Address(argv[1]), IPv6Address(argv[2]), int(argv[3]), int(argv[4], 0), Path(argv[5]),
                      float(argv[6]) if len(argv) == 7 else 10.0)
    except (ValueError, OSError) as exc:
        print(f"rrpeer: {exc}", file=sys.stderr)
        return 2
    print("usage: python -m p4mobility.lab.rrpeer cn ADDR RESULT | mn HOA CN COUNT COOKIE RESULT [TIMEOUT]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
