"""A mobile node namespace with two access links to a peer namespace, the
daemon's files, and the daemon as a process (`p4mob mn run`).

Rule: the test makes everything (namespaces with unique names, veths
acc1/acc2 <-> p1/p2 created directly inside them, keys, TOML files) and
removes it; the peer namespace only answers Neighbor Discovery/ARP for the
gateways (its kernel forwards nothing: the home agent's addresses are not
configured there, the test peer (peer.py) plays them on the wire). Waiting
is always on a condition with a deadline.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from p4mobility.runtime.control import ControlError, request
from p4mobility.runtime.logs import read_events

HOA = IPv6Address("2001:db8:1::100")
HA = IPv6Address("2001:db8:1::1")
HA4 = IPv4Address("192.0.2.1")
CN = IPv6Address("2001:db8:c::2")
CN4 = IPv4Address("198.51.100.9")
COA_A = IPv6Address("2001:db8:a::2")
COA_B = IPv6Address("2001:db8:b::2")
COA4 = IPv4Address("10.1.0.2")
GW = {"acc1": ("2001:db8:a::1", "10.1.0.1"), "acc2": ("2001:db8:b::1", "10.2.0.1")}
MAC = {"acc1": "02:00:00:00:01:01", "p1": "02:00:00:00:01:02",
       "acc2": "02:00:00:00:02:01", "p2": "02:00:00:00:02:02"}
PEER_OF = {"acc1": "p1", "acc2": "p2"}
MN_PORT = 40000
SPI = {"bu": 0x1001, "ba": 0x1002, "data_out": 0x2001, "data_in": 0x2002}
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def sh(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=30)


@contextlib.contextmanager
def in_netns(name: str):
    """Run the calling thread in namespace ``name`` (sockets opened inside stay there)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            yield
        finally:
            _libc.setns(own, CLONE_NEWNET)
    finally:
        os.close(own)
        os.close(target)


def wait_for(what: str, fn, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``fn`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _ipsec_toml(side: str, payload: bool) -> str:
    """The MN's file, or the HA's mirror of it (same keys, directions swapped)."""
    mn = side == "mn"
    d = lambda out: "out" if out == mn else "in"  # noqa: E731 - out on the MN is in on the HA
    states = [("bu", HOA, HA, d(True), "transport", 1), ("ba", HA, HOA, d(False), "transport", 2)]
    if payload:
        states += [("data_out", HOA, HA, d(True), "tunnel", 3), ("data_in", HA, HOA, d(False), "tunnel", 4)]
    text = ""
    for key, src, dst, direction, mode, reqid in states:
        text += (f'[[state]]\nsrc = "{src}"\ndst = "{dst}"\nspi = {SPI[key]}\nreqid = {reqid}\nmode = "{mode}"\n'
                 f'dir = "{direction}"\n[state.aead]\nname = "rfc4106(gcm(aes))"\nkey-file = "keys/{key}.key"\n\n')
    me, peer = (HOA, HA) if mn else (HA, HOA)
    # RFC 3776 §5.2: BUs by MH type 5 on the BU SA; the HA's BA, BRR and BE (any MH type) on the BA SA
    pol = [("out", "local-mh-type = 5\n" if mn else "", 1 if mn else 2),
           ("in", "" if mn else "remote-mh-type = 5\n", 2 if mn else 1)]
    for direction, mh, reqid in pol:
        text += (f'[[policy]]\ndir = "{direction}"\nlocal = "{me}/128"\nremote = "{peer}/128"\nproto = "mh"\n'
                 f'{mh}action = "protect"\n[policy.tmpl]\nreqid = {reqid}\nmode = "transport"\n\n')
    for direction, reqid in (("out", 3 if mn else 4), ("in", 4 if mn else 3)):  # last, host-wide (req. 2)
        sel = f'local = "{HOA}/128"' if mn else f'remote = "{HOA}/128"'
        if payload:
            text += (f'[[policy]]\ndir = "{direction}"\n{sel}\naction = "protect"\n'
                     f'[policy.tmpl]\nreqid = {reqid}\nmode = "tunnel"\n\n')
        else:
            text += f'[[policy]]\ndir = "{direction}"\naction = "bypass"\n\n'
    return text


@dataclass
class MnLab:
    """Two namespaces, two links, the daemon's files under ``root``."""

    root: Path
    payload_sa: bool = True
    mn_extra: dict = field(default_factory=dict)
    tag: str = field(default_factory=lambda: f"{os.getpid() % 10000}{int(time.monotonic() * 1000) % 10000}")
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.mn_ns, self.peer_ns = f"mnd-{self.tag}", f"mnp-{self.tag}"
        self.control = str(self.root / "mn.sock")
        self.log_file = self.root / "mn.log"
        self.config = self.root / "mn.toml"
        sh("ip", "netns", "add", self.mn_ns)
        try:
            sh("ip", "netns", "add", self.peer_ns)
            for acc, peer in PEER_OF.items():
                sh("ip", "link", "add", acc, "netns", self.mn_ns, "address", MAC[acc], "type", "veth",
                   "peer", "name", peer, "netns", self.peer_ns, "address", MAC[peer])
                v6, v4 = GW[acc]
                sh("ip", "link", "set", peer, "up", ns=self.peer_ns)
                sh("ip", "addr", "add", f"{v6}/64", "dev", peer, "nodad", ns=self.peer_ns)
                sh("ip", "addr", "add", f"{v4}/24", "dev", peer, ns=self.peer_ns)
                sh("sysctl", "-qw", f"net.ipv6.conf.{acc}.accept_ra=0", ns=self.mn_ns)
                sh("ip", "link", "set", acc, "up", ns=self.mn_ns)
            sh("ip", "link", "set", "lo", "up", ns=self.mn_ns)
            # the peer's kernel drops what the test peer answers for, without ICMP errors
            sh("ip", "-6", "route", "add", "blackhole", f"{HA}/128", ns=self.peer_ns)
            sh("ip", "-4", "route", "add", "blackhole", f"{HA4}/32", ns=self.peer_ns)
            self.write_files()
        except BaseException:
            self.close()
            raise

    def write_files(self) -> None:
        keys = self.root / "keys"
        keys.mkdir(exist_ok=True)
        for key in SPI:
            path = keys / f"{key}.key"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:  # AES-128 key + 4-byte salt (RFC 4106 §8.1)
                f.write(bytes((SPI[key] + i) & 0xFF for i in range(20)).hex())
        (self.root / "ipsec-mn.toml").write_text(_ipsec_toml("mn", self.payload_sa))
        (self.root / "ipsec-ha.toml").write_text(_ipsec_toml("ha", self.payload_sa))
        mn = {"home_address": str(HOA), "home_agent": str(HA), "home_agent_ipv4": str(HA4),
              "mn_udp_port": MN_PORT, **self.mn_extra}
        body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in mn.items())
        self.config.write_text(
            f'[node]\nname = "mn-test"\ncontrol_socket = "mn.sock"\nlog_file = "mn.log"\nstate_file = "mn.state"\n\n'
            f'[mn]\n{body}\n[tunnel]\nname = "mip6tun0"\n\n[access]\ninterfaces = ["acc1", "acc2"]\n\n'
            f'[ipsec]\nconfig = "ipsec-mn.toml"\n')

    # --- the MN's addresses and routes --------------------------------------------------

    def add_coa(self, acc: str, address, prefix: int) -> None:
        sh("ip", "addr", "add", f"{address}/{prefix}", "dev", acc, *(("nodad",) if address.version == 6 else ()),
           ns=self.mn_ns)
        gw = GW[acc][0 if address.version == 6 else 1]
        metric = "1024" if acc == "acc1" else "1025"
        sh("ip", f"-{address.version}", "route", "replace", "default", "via", gw, "dev", acc, "metric", metric,
           ns=self.mn_ns)

    def del_coa(self, acc: str, address, prefix: int) -> None:
        sh("ip", "addr", "del", f"{address}/{prefix}", "dev", acc, ns=self.mn_ns)

    # --- the daemon ----------------------------------------------------------------------

    def start(self) -> None:
        self.log_file.unlink(missing_ok=True)
        out = open(self.root / "daemon.out", "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.mn_ns, sys.executable, "-m", "p4mobility.cli",
                                      "mn", "run", "-c", str(self.config)], stdout=out, stderr=out)
        out.close()
        wait_for("the daemon's control socket", lambda: self.alive() and self.status(), 20)

    def alive(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"daemon exited {self.proc.returncode}: {self.daemon_output()}")
        return True

    def daemon_output(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "daemon.out").read_text(errors="replace")[-3000:]
        return ""

    def status(self) -> dict | None:
        return self.ask({"cmd": "status"})

    def ask(self, req: dict) -> dict | None:
        try:
            answer = request(self.control, req, timeout=2.0)
        except ControlError:
            return None
        return answer if answer.get("ok") else None

    def events(self, name: str | None = None) -> list[dict]:
        return [e for e in read_events(str(self.log_file)) if name is None or e.get("event") == name]

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        rc = self.proc.wait(timeout)
        self.proc = None
        return rc

    def ping(self, dst, count: int = 1, timeout: float = 2.0) -> bool:
        family = "-6" if dst.version == 6 else "-4"
        r = sh("ping", family, "-c", str(count), "-W", str(timeout), "-i", "0.2", str(dst), ns=self.mn_ns,
               check=False)
        return r.returncode == 0

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for ns in (self.mn_ns, self.peer_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
