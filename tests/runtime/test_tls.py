"""TLS between a node and its switch (issue: "connects to its switch with finsy
(device id, election id, optional TLS)"). Real processes: `p4mob-switch` (and
bmv2 simple_switch_grpc when installed) serving P4Runtime with bmv2's TLS flags,
`p4mob lma run` with [node] tls_ca/tls_cert/tls_key, certificates made here with
`cryptography`. The switch's state is read back over our own TLS channel."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from finsy.proto import p4r, p4r_grpc

from p4mobility.lab import topology as T
from p4mobility.runtime.logs import read_events
from tests.dataplane.targets import find_binary, free_tcp_port
from tests.runtime.tlscerts import Pki, make_pki

WAIT = 60.0  # bound on start-up waits (a loaded machine), never an assertion about speed


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    p = make_pki(tmp_path_factory.mktemp("pki"))
    assert oct(p.server_key.stat().st_mode & 0o777) == "0o600"
    return p


class Proc:
    def __init__(self, argv: list[str], out: Path) -> None:
        self.out, self.err = out.with_suffix(".out"), out.with_suffix(".err")
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.proc = subprocess.Popen(argv, stdout=o, stderr=e, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def text(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")


def start_switch(target: str, tmp: Path, tls_args: list[str]) -> tuple[Proc, str]:
    binary, reason = find_binary(target)
    if binary is None:
        pytest.skip(reason)
    if target == "bmv2":
        helptext = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=WAIT).stdout
        if "--grpc-server-ssl" not in helptext:
            pytest.skip("this simple_switch_grpc was built without --grpc-server-ssl")
    port = free_tcp_port()
    argv = [binary, "--device-id", "1", "--no-p4", "--thrift-port", str(free_tcp_port()), "--",
            "--grpc-server-addr", f"127.0.0.1:{port}", "--cpu-port", str(T.CPU_PORT), *tls_args]
    sw = Proc(argv, tmp / f"switch-{target}")
    deadline = time.monotonic() + WAIT
    while True:
        assert sw.proc.poll() is None, f"{target} exited: {sw.text()[-2000:]}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return sw, f"127.0.0.1:{port}"
        except OSError:
            assert time.monotonic() < deadline, f"{target} did not listen: {sw.text()[-2000:]}"
            time.sleep(0.1)


def server_args(pki: Pki, client_auth: bool) -> list[str]:
    a = ["--grpc-server-ssl", "--grpc-server-cert", str(pki.server_cert), "--grpc-server-key", str(pki.server_key)]
    if client_auth:
        a += ["--grpc-server-cacert", str(pki.ca), "--grpc-server-with-client-auth"]
    return a


def start_lma(tmp: Path, addr: str, **tls: Path) -> Proc:
    node = {"name": "lma", "switch_address": addr, "control_socket": str(tmp / "lma.sock"),
            **{k: str(v) for k, v in tls.items()}}
    cfg = tmp / "lma.toml"
    cfg.write_text(T.to_toml(T.lma_config(node, T.LabOptions())))
    return Proc([sys.executable, "-m", "p4mobility.cli", "lma", "run", "-c", str(cfg)], tmp / "lma")


def wait_event(node: Proc, name: str) -> dict:
    deadline = time.monotonic() + WAIT
    while True:
        for ev in read_events(str(node.out)):
            if ev.get("event") == name:
                return ev
        assert node.proc.poll() is None, f"node exited: {node.text()[-2000:]}"
        assert time.monotonic() < deadline, f"no {name!r} event: {node.text()[-2000:]}"
        time.sleep(0.1)


def read_switch(addr: str, pki: Pki) -> tuple[int, int]:
    """(entries in the node's tables and members of its profiles, has a pipeline) read with our own TLS client."""
    creds = grpc.ssl_channel_credentials(pki.ca.read_bytes(), pki.client_key.read_bytes(),
                                         pki.client_cert.read_bytes())
    with grpc.secure_channel(addr, creds) as ch:
        stub = p4r_grpc.P4RuntimeStub(ch)
        cfg = stub.GetForwardingPipelineConfig(p4r.GetForwardingPipelineConfigRequest(
            device_id=1, response_type=p4r.GetForwardingPipelineConfigRequest.P4INFO_AND_COOKIE), timeout=10)
        req = p4r.ReadRequest(device_id=1, entities=[p4r.Entity(table_entry=p4r.TableEntry()), p4r.Entity(
            action_profile_member=p4r.ActionProfileMember())])  # (the LMA's free ids have members)
        n = sum(len(r.entities) for r in stub.Read(req, timeout=10))
    return n, len(cfg.config.p4info.tables)


def assert_refused(node: Proc, *needles: str) -> None:
    ev = wait_event(node, "switch_unreachable")
    assert any(n in ev["error"] for n in needles), ev
    assert not [e for e in read_events(str(node.out)) if e.get("event") == "reconciled"]
    node.stop()
    assert "Traceback" not in node.text()


@pytest.mark.parametrize("target", ["embedded", "bmv2"])
def test_tls_node_pushes_pipeline_and_reconciles_with_client_auth(target, pki, tmp_path):
    sw, addr = start_switch(target, tmp_path, server_args(pki, client_auth=True))
    node = start_lma(tmp_path, addr, tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=pki.client_key)
    try:
        ev = wait_event(node, "reconciled")
        entries, tables = read_switch(addr, pki)
        assert tables > 0  # the pipeline the node pushed
        assert ev["inserted"] == ev["desired"] == entries > 0
        assert not [e for e in read_events(str(node.out)) if e.get("event") == "switch_unreachable"]
    finally:
        node.stop()
        sw.stop()
    assert "Traceback" not in node.text()


def test_tls_server_only_node_with_ca_connects(pki, tmp_path):
    sw, addr = start_switch("embedded", tmp_path, server_args(pki, client_auth=False))
    node = start_lma(tmp_path, addr, tls_ca=pki.ca)
    try:
        ev = wait_event(node, "reconciled")
        assert ev["inserted"] == ev["desired"] > 0
    finally:
        node.stop()
        sw.stop()


def test_tls_wrong_ca_is_refused_with_a_clear_error(pki, tmp_path):
    sw, addr = start_switch("embedded", tmp_path, server_args(pki, client_auth=False))
    node = start_lma(tmp_path, addr, tls_ca=pki.other_ca)
    try:
        assert_refused(node, "CERTIFICATE_VERIFY_FAILED")
    finally:
        node.stop()
        sw.stop()


def test_tls_plaintext_node_is_refused_by_a_tls_switch(pki, tmp_path):
    sw, addr = start_switch("embedded", tmp_path, server_args(pki, client_auth=False))
    node = start_lma(tmp_path, addr)
    try:
        assert_refused(node, "may require TLS")
    finally:
        node.stop()
        sw.stop()


def test_tls_client_auth_refuses_a_node_without_certificate(pki, tmp_path):
    sw, addr = start_switch("embedded", tmp_path, server_args(pki, client_auth=True))
    node = start_lma(tmp_path, addr, tls_ca=pki.ca)
    try:
        assert_refused(node, "client certificate")
        assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in sw.text()  # the server's side of the refusal
    finally:
        node.stop()
        sw.stop()


def test_tls_node_config_refuses_missing_or_non_pem_files(pki, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    for tls, key in (({"tls_ca": tmp_path / "missing.pem"}, "node.tls_ca"), ({"tls_ca": bad}, "node.tls_ca"),
                     ({"tls_cert": pki.client_cert}, "node.tls_cert")):
        node = start_lma(tmp_path, "127.0.0.1:1", **tls)
        assert node.proc.wait(timeout=WAIT) == 2
        assert key in node.text() and "Traceback" not in node.text()


def test_tls_key_files_are_private(pki):
    for key in (pki.server_key, pki.client_key):
        assert os.stat(key).st_mode & 0o077 == 0
