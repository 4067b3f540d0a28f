"""`p4mob ipsec ...`: operator commands for the IPsec configuration.

Rule: an adapter only. ``export-wireshark`` loads the TOML SA configuration
and prints the tshark `esp_sa` UAT records (or writes them to a file created
mode 0600, since they hold keys); ``check`` validates the file and lists the
SAs and the ordered SPD in ip-xfrm words, without keys; ``genkey`` writes a
random hex key file (0600, never over an existing one); ``run`` is the
host-side crypto path on the switch's crypto port (runtime/crypto_port.py)
until SIGINT/SIGTERM. Configuration errors are reported as a CliError (exit
status 2), never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys

from p4mobility.ipsec.config import load_config
from p4mobility.binding.confread import located
from p4mobility.ipsec.errors import IpsecConfigError
from p4mobility.ipsec.wireshark import export_wireshark_esp_sa

from .errors import CliError


def add_ipsec_commands(subparsers: argparse._SubParsersAction) -> None:
    ipsec = subparsers.add_parser("ipsec", help="IPsec SA/SPD configuration tools")
    sub = ipsec.add_subparsers(dest="ipsec_command", metavar="ACTION", required=True)

    exp = sub.add_parser("export-wireshark", help="write tshark/Wireshark esp_sa UAT records")
    exp.add_argument("config", help="SA configuration file (TOML)")
    exp.add_argument("-o", "--output", help="write here (mode 0600) instead of stdout, "
                                           "e.g. ~/.config/wireshark/esp_sa")
    exp.set_defaults(func=_export_wireshark)

    chk = sub.add_parser("check", help="validate a configuration and list SAs and policies")
    chk.add_argument("config", help="SA configuration file (TOML)")
    chk.set_defaults(func=_check)

    gen = sub.add_parser("genkey", help="write a random key file (hex, mode 0600) for a key-file setting")
    gen.add_argument("output", help="key file to create (refused if it exists)")
    gen.add_argument("--bytes", type=int, default=20,
                     help="key length: 20 for rfc4106(gcm(aes)) 128-bit + salt (default), 36 for 256-bit, "
                          "16/32 for cbc(aes), 32 for hmac(sha256)")
    gen.set_defaults(func=_genkey)

    run = sub.add_parser("run", help="run the crypto path on the switch's crypto port veth")
    run.add_argument("-c", "--config", required=True, help="SA configuration file (TOML)")
    run.add_argument("-i", "--interface", required=True, metavar="IFNAME",
                     help="crypto-side veth of CRYPTO_PORT (e.g. cry1)")
    run.add_argument("--control-socket", metavar="PATH", help="Unix socket for status / show sas")
    run.add_argument("--log", metavar="PATH", help="append JSON event lines here (default stdout)")
    run.add_argument("--state", metavar="PATH",
                     help="keep outbound sequence numbers here across restarts (RFC 4303 §3.3.3; "
                          "needed for anti-replay with manual keys)")
    run.add_argument("--io", choices=("ring", "socket"), default="ring",
                     help="ring: PACKET_MMAP RX/TX rings, one send() per batch (default; falls back to "
                          "socket with a crypto_io log line when the kernel refuses); socket: one "
                          "recv()/send() per frame")
    run.add_argument("--no-shortcut", dest="shortcut", action="store_false",
                     help="every frame through the reference path (ipsec/portpath.py is the shortcut)")
    run.set_defaults(func=_run)


def _genkey(args: argparse.Namespace) -> int:
    if not 4 <= args.bytes <= 64:
        raise CliError("--bytes: expected 4..64")
    try:  # O_EXCL: never overwrite a key in use
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{args.output}: exists; remove it first to replace the key") from None
    except OSError as exc:
        raise CliError(f"{args.output}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(os.urandom(args.bytes).hex() + "\n")
    return 0


def _load(path: str):
    try:
        return load_config(path)
    except IpsecConfigError as exc:
        raise CliError(located(path, exc)) from None


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from p4mobility.runtime.crypto_port import CryptoPortError, CryptoPortNode
    from p4mobility.runtime.logs import EventLog
    from p4mobility.runtime.seqstore import SeqStoreError

    stream = None
    try:
        if args.log:
            try:
                stream = open(args.log, "a", encoding="utf-8")
            except OSError as exc:
                raise CliError(f"{args.log}: cannot open log: {exc.strerror}") from None
        try:
            node = CryptoPortNode(args.config, args.interface, args.control_socket,
                                  EventLog("crypto", stream), state=args.state, shortcut=args.shortcut,
                                  io=args.io)
        except SeqStoreError as exc:
            raise CliError(str(exc)) from None
        except IpsecConfigError as exc:
            raise CliError(located(args.config, exc)) from None
        try:
            asyncio.run(node.run())
        except CryptoPortError as exc:
            raise CliError(str(exc)) from None
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        if stream is not None:
            stream.close()


def _export_wireshark(args: argparse.Namespace) -> int:
    text = export_wireshark_esp_sa(_load(args.config).sas)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
    return 0


def _check(args: argparse.Namespace) -> int:
    cfg = _load(args.config)
    cfg.build_sad(0.0)  # duplicate SPI/dst/src is an error too
    for sa in cfg.sas:
        algo = "aead " + sa.aead.name if sa.aead else " ".join(
            f"{k} {a.name}" for k, a in (("enc", sa.enc), ("auth-trunc", sa.auth)) if a)
        print(f"state src {sa.src} dst {sa.dst} proto {sa.proto} spi 0x{sa.spi:08x} reqid {sa.reqid} "
              f"mode {sa.mode} dir {sa.dir} replay-window {sa.replay_window}"
              f"{' flag esn' if sa.esn else ''} {algo}")
    for entry in cfg.spd.entries:
        s = entry.selector
        words = [f"policy dir {entry.dir}"]
        words += [f"{k} {v}" for k, v in (("local", s.local), ("remote", s.remote), ("proto", s.proto),
                                           ("local-mh-type", s.local_mh_type),
                                           ("remote-mh-type", s.remote_mh_type)) if v is not None]
        words.append(f"action {entry.action}")
        if entry.tmpl:
            words.append(f"tmpl reqid {entry.tmpl.reqid} mode {entry.tmpl.mode}")
        print(" ".join(words))
    return 0
