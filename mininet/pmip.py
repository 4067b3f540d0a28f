#!/usr/bin/env python3
"""PMIPv6 lab in Mininet: `sudo python3 mininet/pmip.py [--target embedded|bmv2] [--air lxbr|ovs] [--test]`.

Rule: the same topology, addresses and node configs as `p4mob lab`
(p4mobility.lab.topology, p4mobility.lab.lab), built with Mininet: MN and CN
are Mininet hosts, LMA/MAG1/MAG2 are P4 nodes (mininet/nodes.py) running
their switch and controller, the AIR is a Mininet switch (`lxbr` by
default). It waits until every controller has reconciled its switch,
attaches the MN at MAG1 and gives the Mininet CLI: `mn ping -6 2001:db8:c::2`,
`py net.move('mag2')`, `lma .venv/bin/p4mob show bindings --socket /tmp/p4mob-mn/lma.sock`.
`--test` plays attach at MAG1, ping, move to MAG2, ping, prints one result
line and exits 0/1. Everything is stopped on exit, errors, Ctrl-C and
SIGTERM; a run left behind by a killed one is cleaned up first.

Runs under the project's venv (its controllers are `sys.executable -m
p4mobility.cli`): started with another python it re-executes itself with
.venv/bin/python. Mininet comes from Debian (`apt-get install mininet`),
whose package lives in /usr/lib/python3/dist-packages: that directory is
appended (last) to sys.path when `mininet` is not importable otherwise.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEBIAN_DIST = Path("/usr/lib/python3/dist-packages")


def _bootstrap() -> None:
    path = os.environ.get("PATH", "").split(":")  # Mininet needs ifconfig, brctl (sbin)
    os.environ["PATH"] = ":".join(path + [d for d in ("/usr/sbin", "/sbin") if d not in path])
    try:
        import p4mobility  # noqa: F401
    except ImportError:
        venv = REPO / ".venv" / "bin" / "python"
        if venv.exists() and os.environ.get("P4MOB_MN_REEXEC") != "1":
            os.environ["P4MOB_MN_REEXEC"] = "1"
            os.execv(str(venv), [str(venv), *sys.argv])
        sys.exit("p4mobility is not importable: run `make install` first (it creates .venv)")
    try:
        import mininet.net  # noqa: F401
    except ImportError:
        if (DEBIAN_DIST / "mininet").is_dir() and str(DEBIAN_DIST) not in sys.path:
            sys.path.append(str(DEBIAN_DIST))
        for name in [m for m in sys.modules if m == "mininet" or m.startswith("mininet.")]:
            del sys.modules[name]  # e.g. this repo's mininet/ folder taken as a namespace package
        try:
            import mininet.net  # noqa: F401,F811
        except ImportError:
            sys.exit("Mininet is not installed (apt-get install mininet)")


_bootstrap()

import argparse  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

from mininet.cli import CLI  # noqa: E402
from mininet.link import Link  # noqa: E402
from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.node import Host  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nodes import AIR_KINDS, P4Bmv2Node, P4EmbeddedNode, ovs_unavailable  # noqa: E402
from topo import AIR, AIR_IFNAMES, AIR_PORTS, HOSTS, LINKS, MACS, MN_IFNAME, P4_NODES  # noqa: E402

from p4mobility.lab import topology as T  # noqa: E402
from p4mobility.lab.lab import lab_unavailable  # noqa: E402
from p4mobility.lab.launch import MN_SYSCTLS, find_switch, write_configs  # noqa: E402
from p4mobility.lab.supervisor import LabError  # noqa: E402
from p4mobility.runtime.logs import read_events  # noqa: E402

LOCK = Path("/run/p4mob-mininet.lock")
STATE = "pids.json"  # in --out: what this run started, for the next run's cleanup


class PmipNet(Mininet):
    """Mininet plus the radio: attach(mag), detach(), move(mag); and the controllers' events."""

    out: Path
    attached: str | None = None

    def attach(self, mag: str) -> None:
        self[AIR].apply(self[AIR].attach(AIR_PORTS[mag]))
        self["mn"].cmd(f"ip link set {MN_IFNAME} up")
        self.attached = mag

    def detach(self) -> None:
        if self.attached:
            self[AIR].apply(self[AIR].detach(AIR_PORTS[self.attached]))
        self.attached = None

    def move(self, mag: str) -> None:
        """Link-layer handoff: the MN keeps its interface, MAC and address (RFC 5213 §6.8)."""
        air = self[AIR]
        air.apply((air.detach(AIR_PORTS[self.attached]) if self.attached else "") + air.attach(AIR_PORTS[mag]))
        self.attached = mag

    def events(self, node: str, name: str, since: float = 0.0) -> list[dict]:
        return [e for e in read_events(str(self.out / f"{node}.log"))
                if e.get("event") == name and e.get("ts", 0) >= since]

    def wait_event(self, node: str, name: str, since: float = 0.0, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(node, name, since)
            if found:
                return found[0]
            ctl = self[node].procs.get("controller")
            if ctl is not None and ctl.poll() is not None:
                raise LabError(f"{node} controller exited (see {self.out / (node + '.log')})")
            if time.monotonic() > deadline:
                raise LabError(f"{node}: no '{name}' event within {timeout} s")
            time.sleep(0.05)

    def mn_address(self, timeout: float = 30.0) -> str:
        """The MN's global address once SLAAC configured it and it has a default route."""
        mn = self["mn"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                infos = json.loads(mn.cmd(f"ip -6 -j addr show dev {MN_IFNAME} scope global") or "[]")
            except ValueError:
                infos = []
            has_route = mn.cmd("ip -6 route show default").strip()
            for a in (a for i in infos for a in i.get("addr_info", [])):
                if a.get("family") == "inet6" and "tentative" not in a and has_route:
                    return a["local"]
            time.sleep(0.1)
        raise LabError("the MN got no global address (no RA with its home network prefix?)")

    def ping(self, count: int) -> tuple[int, int]:
        """(transmitted, received) of `ping -c count` from the MN to the CN."""
        text = self["mn"].cmd(f"ping -6 -n -c {count} -i 0.2 -W 1 {T.CN_ADDRESS}")
        m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def build(net: PmipNet, target: str, air_kind: str) -> None:
    p4cls = P4Bmv2Node if target == "bmv2" else P4EmbeddedNode
    for name in HOSTS:
        net.addHost(name, cls=Host, ip=None)
    for name in P4_NODES:
        net.addHost(name, cls=p4cls, ip=None)
    net.addSwitch(AIR, cls=AIR_KINDS[air_kind], dpid="1")
    for a, ai, b, bi in LINKS:
        macs = {k: MACS[n] for k, n in (("addr1", (a, ai)), ("addr2", (b, bi))) if n in MACS}
        net.addLink(a, b, intfName1=ai, intfName2=bi, cls=Link, **macs)
    net.build()


def configure_hosts(net: PmipNet) -> None:
    """As p4mob lab: the radio is off, the MN is a stock SLAAC host, the CN routes via the LMA."""
    air = net[AIR]
    air.apply("".join(air.detach(p) for p in AIR_PORTS.values()))
    for ifname in (AIR, *AIR_IFNAMES):
        air.cmd(f"sysctl -qw net.ipv6.conf.{ifname}.disable_ipv6=1")
    mn, cn = net["mn"], net["cn"]
    mn.cmd(f"ip link set {MN_IFNAME} down")
    for key, val in MN_SYSCTLS:
        mn.cmd(f"sysctl -qw net.ipv6.conf.{MN_IFNAME}.{key}={val}")
    cn.cmd("sysctl -qw net.ipv6.conf.eth0.accept_dad=0")
    cn.cmd(f"ip -6 addr add {T.CN_ADDRESS}/64 dev eth0 nodad")
    cn.cmd(f"ip -6 neigh replace {T.CN_GATEWAY} lladdr {MACS[('lma', 'cn')]} dev eth0 nud permanent")
    cn.cmd(f"ip -6 route add default via {T.CN_GATEWAY} dev eth0")


def start_p4(net: PmipNet, ipsec: bool, echo) -> None:
    """Switches, the lab's configs, crypto paths, controllers; then wait until each reconciled."""
    for name in P4_NODES:
        net[name].start_switch(net.out, ipsec)
        save_state(net)
    write_configs(net.out, T.LabOptions(ipsec=ipsec))
    for name in P4_NODES:
        if ipsec:
            net[name].start_crypto(net.out)
        net[name].start_controller(net.out)
        save_state(net)
    for name in P4_NODES:
        net.wait_event(name, "reconciled", timeout=120)
    echo(f"switches, {'crypto paths, ' if ipsec else ''}controllers up and reconciled: {', '.join(P4_NODES)}")


def scenario(net: PmipNet, echo) -> bool:
    """Attach at MAG1, ping, move to MAG2, ping; one result line."""
    net.attach("mag1")
    addr1 = net.mn_address()
    tx1, rx1 = net.ping(3)
    echo(f"at mag1: MN {addr1}, ping CN {rx1}/{tx1}")
    t_move = time.time()
    net.move("mag2")
    tx2, rx2 = net.ping(5)  # its first echo is MAG2's attach trigger (RFC 5213 §6.9.1.1)
    addr2 = net.mn_address(timeout=5)
    pba = next((e for e in net.events("mag2", "pba_rx", since=t_move) if e.get("status") == 0 and e.get("lifetime")), None)
    ok = rx1 > 0 and rx2 > 0 and addr1 == addr2 and pba is not None
    echo(f"pmip-handover {'PASS' if ok else 'FAIL'} target={net['lma'].target} air={net.air_kind} "
         f"ipsec={'on' if net.ipsec else 'off'} mn_address={addr1} address_kept={'yes' if addr1 == addr2 else 'no:' + addr2} "
         f"ping_mag1={rx1}/{tx1} ping_mag2={rx2}/{tx2} mag2_pba={'accepted' if pba else 'none'}")
    return ok


# --- clean-up: ours only (a targeted `mn -c`) ---------------------------------------------------
def save_state(net: PmipNet) -> None:
    pids = [n.shell.pid for n in net.hosts + net.switches if n.shell]
    groups = [pid for name in P4_NODES for pid in net[name].pids()]
    (net.out / STATE).write_text(json.dumps({"shells": pids, "groups": groups}))


def clean_leftovers(out: Path, air_kind: str) -> None:
    """Stop what a killed earlier run left (its recorded processes, if still ours) and its AIR links."""
    state = out / STATE
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        data = {}
    for pid in data.get("groups", []):
        if any(k in _cmdline(pid) for k in ("p4mob", "simple_switch")):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for pid in data.get("shells", []):
        if "mininet:" in _cmdline(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    state.unlink(missing_ok=True)
    for ifname in (*AIR_IFNAMES, AIR):
        if Path(f"/sys/class/net/{ifname}").exists():
            os.system(f"ip link del {ifname} 2>/dev/null")
    if air_kind == "ovs":
        os.system(f"ovs-vsctl --if-exists del-br {AIR} 2>/dev/null")


def switch_missing(target: str) -> str | None:
    try:
        find_switch(target)
    except LabError as exc:
        return str(exc)
    return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", choices=("embedded", "bmv2"), default=os.environ.get("TARGET", "embedded"))
    ap.add_argument("--air", choices=tuple(AIR_KINDS), default="lxbr",
                    help="the radio: Linux bridge (default) or OVS userspace datapath")
    ap.add_argument("--out", type=Path, default=Path("/tmp/p4mob-mn"), help="configs and logs")
    ap.add_argument("--no-ipsec", dest="ipsec", action="store_false",
                    help="PBU/PBA in clear (default: in ESP, as `p4mob lab`)")
    ap.add_argument("--test", action="store_true", help="play the handover, print one line, exit 0/1")
    ap.add_argument("--clean", action="store_true", help="only remove what a killed run left (like mn -c, ours only)")
    args = ap.parse_args()
    reason = lab_unavailable() or (ovs_unavailable() if args.air == "ovs" else None) or switch_missing(args.target)
    if reason and not (args.clean and os.geteuid() == 0):
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    lock = open(LOCK, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"cannot run: another mininet/pmip.py run holds {LOCK}", file=sys.stderr)
        return 2
    if args.clean:
        clean_leftovers(args.out, args.air)
        return 0

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    setLogLevel("error" if args.test else "info")
    echo = print
    clean_leftovers(args.out, args.air)
    for f in args.out.glob("*"):
        if f.suffix in (".log", ".db", ".sock", ".toml", ".out") or f.name.endswith(("-wal", "-shm")) \
                or f.name == "esp_sa":
            f.unlink()
    net = PmipNet(topo=None, controller=None, build=False, autoSetMacs=False, autoStaticArp=False)
    net.out, net.air_kind, net.ipsec = args.out, args.air, args.ipsec
    ok = False
    try:
        build(net, args.target, args.air)
        save_state(net)
        net.start()
        configure_hosts(net)
        start_p4(net, args.ipsec, echo)
        if args.test:
            ok = scenario(net, echo)
        else:
            net.attach("mag1")
            echo(f"MN attached at mag1, address {net.mn_address()}; logs and configs in {args.out}")
            echo("try: mn ping -6 -c 3 2001:db8:c::2 | py net.move('mag2') | "
                 f"lma {Path(sys.executable).with_name('p4mob')} show bindings --socket {args.out}/lma.sock")
            CLI(net)
            ok = True
    except Exception as exc:  # LabError, or Mininet's plain Exception: one line, no traceback
        echo(f"pmip-handover FAIL: {type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        echo("interrupted")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # cleaning up: a second Ctrl-C must not cut it short
        stop(net, args)
    return 0 if ok else 1


def stop(net: PmipNet, args: argparse.Namespace) -> None:
    """Our processes, then Mininet's own stop; what that leaves goes as a leftover would."""
    for name in P4_NODES:
        if name in net:
            net[name].stop_p4()
    for node in net.hosts + net.switches:  # a command cut by a signal: interrupt it, read its prompt
        if node.shell and node.waiting:
            node.sendInt()
            deadline = time.monotonic() + 5
            while node.waiting and time.monotonic() < deadline:
                node.monitor(timeoutms=200)
            node.waiting = False
    try:
        net.stop()
    except Exception as exc:  # noqa: BLE001 - cleanup goes on
        print(f"note: mininet stop: {type(exc).__name__}: {exc}; cleaning up directly", file=sys.stderr)
    clean_leftovers(args.out, args.air)


if __name__ == "__main__":
    sys.exit(main())
