"""p4mob-switch takes simple_switch_grpc's TLS flags; a bad or missing file, or a
flag combination bmv2 would not serve, is one clear error and exit status 2,
before anything listens."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from p4mob_switch.cli import parse_args, run
from tests.runtime.tlscerts import make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _exit(argv, capsys) -> tuple[int, str]:
    rc = asyncio.run(run(parse_args(["--grpc-server-addr", "127.0.0.1:0", *argv])))
    return rc, capsys.readouterr().err


def test_bmv2_tls_flags_parse(pki) -> None:
    a = parse_args(["--no-p4", "--", "--grpc-server-ssl", "--grpc-server-cert", str(pki.server_cert),
                    "--grpc-server-key", str(pki.server_key), "--grpc-server-cacert", str(pki.ca),
                    "--grpc-server-with-client-auth"])
    assert (a.grpc_server_ssl, a.grpc_server_with_client_auth) == (True, True)
    assert (a.grpc_server_cert, a.grpc_server_key, a.grpc_server_cacert) == (
        str(pki.server_cert), str(pki.server_key), str(pki.ca))


def test_tls_bad_inputs_exit_2_naming_the_problem(pki, tmp_path, capsys) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    garbled = tmp_path / "garbled.pem"
    garbled.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    srv = ["--grpc-server-cert", str(pki.server_cert), "--grpc-server-key", str(pki.server_key)]
    cases = [
        (["--grpc-server-ssl"], "needs --grpc-server-cert and --grpc-server-key"),
        (srv, "--grpc-server-cert needs --grpc-server-ssl"),
        (["--grpc-server-ssl", "--grpc-server-cert", str(tmp_path / "nope.pem"), "--grpc-server-key",
          str(pki.server_key)], "nope.pem: No such file"),
        (["--grpc-server-ssl", "--grpc-server-cert", str(junk), "--grpc-server-key", str(pki.server_key)],
         "junk.pem: not a PEM file"),
        (["--grpc-server-ssl", "--grpc-server-cert", str(pki.server_cert), "--grpc-server-key",
          str(pki.client_key)], "not a certificate and its private key"),
        (["--grpc-server-ssl", *srv[2:], "--grpc-server-cert", str(garbled)], "not a certificate"),
        (["--grpc-server-ssl", *srv, "--grpc-server-with-client-auth"], "needs --grpc-server-cacert"),
        (["--grpc-server-ssl", *srv, "--grpc-server-cacert", str(garbled)], "no CA certificate"),
    ]
    for argv, needle in cases:
        rc, err = _exit(argv, capsys)
        assert rc == 2, argv
        assert needle in err and "Traceback" not in err, (argv, err)


def test_tls_bad_key_from_the_command_line_exits_2(pki) -> None:
    r = subprocess.run([sys.executable, "-m", "p4mob_switch.cli", "--no-p4", "--", "--grpc-server-addr",
                        "127.0.0.1:0", "--grpc-server-ssl", "--grpc-server-cert", str(pki.server_cert),
                        "--grpc-server-key", str(pki.ca)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "--grpc-server-key" in r.stderr and "Traceback" not in r.stderr
