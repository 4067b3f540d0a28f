"""TLS for the P4Runtime server, with simple_switch_grpc's flags.

Rule: `--grpc-server-ssl --grpc-server-cert F --grpc-server-key F
[--grpc-server-cacert F] [--grpc-server-with-client-auth]`, as bmv2's
targets/simple_switch_grpc/main.cpp names them. Every file is read and checked
(PEM, the key matches the certificate, the CA parses) before the server
starts, so a bad file is one clear `TlsConfigError` naming it, not a gRPC
failure later. Client auth needs the CA the client certificates chain to.
"""

from __future__ import annotations

import argparse
import ssl
from dataclasses import dataclass

import grpc

MAX_PEM = 1 << 20  # a certificate chain or key larger than 1 MiB is not a PEM file we accept


class TlsConfigError(Exception):
    """A TLS option or file is wrong; the message names the option and the file."""


@dataclass(frozen=True)
class ServerTls:
    cert: bytes
    key: bytes
    cacert: bytes | None
    client_auth: bool

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.key, self.cert)], root_certificates=self.cacert,
                                           require_client_auth=self.client_auth)


def _read(option: str, path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PEM + 1)
    except OSError as exc:
        raise TlsConfigError(f"{option} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_PEM:
        raise TlsConfigError(f"{option} {path}: larger than {MAX_PEM} bytes")
    if b"-----BEGIN " not in data:
        raise TlsConfigError(f"{option} {path}: not a PEM file")
    return data


def server_tls(args: argparse.Namespace) -> ServerTls | None:
    """The server's TLS settings from the parsed command line; None = plaintext."""
    given = [o for o, v in (("--grpc-server-cert", args.grpc_server_cert), ("--grpc-server-key", args.grpc_server_key),
                            ("--grpc-server-cacert", args.grpc_server_cacert),
                            ("--grpc-server-with-client-auth", args.grpc_server_with_client_auth)) if v]
    if not args.grpc_server_ssl:
        if given:
            raise TlsConfigError(f"{given[0]} needs --grpc-server-ssl")
        return None
    if not args.grpc_server_cert or not args.grpc_server_key:
        raise TlsConfigError("--grpc-server-ssl needs --grpc-server-cert and --grpc-server-key")
    if args.grpc_server_with_client_auth and not args.grpc_server_cacert:
        raise TlsConfigError("--grpc-server-with-client-auth needs --grpc-server-cacert (the clients' CA)")
    cert = _read("--grpc-server-cert", args.grpc_server_cert)
    key = _read("--grpc-server-key", args.grpc_server_key)
    cacert = _read("--grpc-server-cacert", args.grpc_server_cacert) if args.grpc_server_cacert else None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(args.grpc_server_cert, args.grpc_server_key)
    except (ssl.SSLError, OSError) as exc:
        raise TlsConfigError(f"--grpc-server-cert {args.grpc_server_cert} / --grpc-server-key "
                             f"{args.grpc_server_key}: not a certificate and its private key ({exc})") from None
    if cacert is not None:
        try:
            ctx.load_verify_locations(cadata=cacert.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
            raise TlsConfigError(f"--grpc-server-cacert {args.grpc_server_cacert}: no CA certificate ({exc})") \
                from None
    return ServerTls(cert, key, cacert, bool(args.grpc_server_with_client_auth))


def add_tls_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--grpc-server-ssl", action="store_true", help="serve P4Runtime over TLS")
    p.add_argument("--grpc-server-cert", default=None, metavar="PEM", help="server certificate (chain)")
    p.add_argument("--grpc-server-key", default=None, metavar="PEM", help="server private key")
    p.add_argument("--grpc-server-cacert", default=None, metavar="PEM", help="CA that client certificates chain to")
    p.add_argument("--grpc-server-with-client-auth", action="store_true",
                   help="require a client certificate signed by --grpc-server-cacert")


__all__ = ["ServerTls", "TlsConfigError", "server_tls", "add_tls_options", "MAX_PEM"]
