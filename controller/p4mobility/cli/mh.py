"""`p4mob mh decode|encode`: Mobility Header messages from/to hex, JSON, pcap.

Rule: an adapter only. Bytes go through decode_mh/encode_mh and the JSON form
of jsonfmt.py; each decoded message prints as one JSON object per line, each
undecodable input as one {"error": ...} object carrying the RFC 6275 §9.2
action. Exit status: 0 all decoded, 1 some did not, 2 unusable input
(CliError). Never a traceback for bad input.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from ipaddress import IPv6Address

from p4mobility.mh.codec import decode_mh, encode_mh
from p4mobility.mh.errors import MhDecodeError, MhEncodeError
from p4mobility.mh.extract import PacketError, find_in_frame
from p4mobility.mh.jsonfmt import MhJsonError, message_from_json, message_to_json
from p4mobility.mh.pcap import PcapError, read_frames

from .errors import CliError

_SEPARATORS = re.compile(r"[\s:]+")


def add_mh_commands(subparsers) -> None:
    mh = subparsers.add_parser("mh", help="decode/encode Mobility Header (RFC 6275) messages",
                               description=__doc__.split("\n\n")[0])
    sub = mh.add_subparsers(dest="mh_command", metavar="{decode,encode}", required=True)
    dec = sub.add_parser("decode", help="hex or pcap -> one JSON object per message")
    dec.add_argument("hex", nargs="?", help="MH bytes as hex (default: one message per line on stdin)")
    dec.add_argument("--pcap", metavar="FILE", help="read a pcap/pcapng capture instead")
    dec.add_argument("--src", help="IPv6 source for checksum verification of hex input")
    dec.add_argument("--dst", help="IPv6 destination for checksum verification of hex input")
    dec.set_defaults(func=_decode)
    enc = sub.add_parser("encode", help="JSON (docs/mh-json.md) -> hex")
    enc.add_argument("json", nargs="?", help="message as JSON (default: stdin, one per line or one document)")
    enc.add_argument("--src", help="IPv6 source for the checksum pseudo-header (default ::)")
    enc.add_argument("--dst", help="IPv6 destination for the checksum pseudo-header (default ::)")
    enc.set_defaults(func=_encode)


def _address(text: str | None, what: str) -> IPv6Address | None:
    if text is None:
        return None
    try:
        return IPv6Address(text)
    except ValueError:
        raise CliError(f"{what}: not an IPv6 address: {text!r}") from None


def _error_obj(exc: Exception, **where) -> dict:
    out = {"error": type(exc).__name__, "detail": str(exc), **where}
    if isinstance(exc, MhDecodeError):
        out["action"] = exc.action
        if exc.be_status is not None:
            out["be_status"] = exc.be_status
        if exc.icmp_pointer is not None:
            out.update(icmp_type=exc.icmp_type, icmp_code=exc.icmp_code, icmp_pointer=exc.icmp_pointer)
    return out


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")


def _parse_hex(text: str) -> bytes:
    t = _SEPARATORS.sub("", text)
    if t[:2].lower() == "0x":
        t = t[2:]
    return bytes.fromhex(t)


def _decode(args: argparse.Namespace) -> int:
    if args.pcap is not None:
        if args.hex is not None:
            raise CliError("give either HEX or --pcap, not both")
        return _decode_pcap(args.pcap)
    src, dst = _address(args.src, "--src"), _address(args.dst, "--dst")
    if (src is None) != (dst is None):
        raise CliError("checksum verification needs both --src and --dst")
    if args.hex is not None:
        try:
            lines = [(1, _parse_hex(args.hex))]
        except ValueError:
            raise CliError(f"not hex: {args.hex[:60]!r}") from None
    else:
        lines = []
        for n, line in enumerate(sys.stdin, 1):
            if line.strip():
                try:
                    lines.append((n, _parse_hex(line)))
                except ValueError:
                    lines.append((n, None))
    failed = False
    for n, data in lines:
        if data is None:
            _emit({"error": "bad hex", "line": n})
            failed = True
            continue
        try:
            _emit(message_to_json(decode_mh(data, src, dst)))
        except MhDecodeError as exc:
            _emit(_error_obj(exc, line=n))
            failed = True
    return 1 if failed else 0


def _decode_pcap(path: str) -> int:
    failed = False
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise CliError(f"cannot open {path}: {exc.strerror}") from None
    with f:
        try:
            for frame in read_frames(f):
                try:
                    found = find_in_frame(frame.data, frame.linktype)
                except PacketError as exc:
                    if frame.orig_len > len(frame.data):
                        continue  # snaplen cut the packet: nothing to say
                    _emit(_error_obj(exc, frame=frame.index))
                    failed = True
                    continue
                if found is None:
                    continue
                where = {"frame": frame.index, "ip_src": str(found.ip_src), "ip_dst": str(found.ip_dst),
                         "encapsulation": found.encapsulation}
                if found.home_address is not None:
                    where["home_address"] = str(found.home_address)
                try:
                    msg = decode_mh(found.mh, found.checksum_src, found.checksum_dst)
                except MhDecodeError as exc:
                    _emit(_error_obj(exc, **where))
                    failed = True
                    continue
                _emit({**where, "message": message_to_json(msg)})
        except PcapError as exc:
            sys.stdout.flush()
            raise CliError(f"{path}: {exc}") from None
    return 1 if failed else 0


def _encode(args: argparse.Namespace) -> int:
    src, dst = _address(args.src, "--src"), _address(args.dst, "--dst")
    note = src is None or dst is None
    src, dst = src or IPv6Address("::"), dst or IPv6Address("::")
    text = args.json if args.json is not None else sys.stdin.read()
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    docs.append(json.loads(line))
                except ValueError as exc:
                    raise CliError(f"line {n}: not JSON: {exc}") from None
    if not docs:
        raise CliError("no JSON message given")
    out = []
    for doc in docs:
        try:
            out.append(encode_mh(message_from_json(doc), src, dst).hex())
        except (MhJsonError, MhEncodeError) as exc:
            raise CliError(str(exc)) from None
    print("\n".join(out))
    if note:
        print("p4mob: note: checksum computed with :: for the missing --src/--dst", file=sys.stderr)
    return 0
