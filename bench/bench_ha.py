"""The home agent: registrations/s with ESP, and the movement gap over 20 moves (issue 13).

Part 1, registrations (root): one namespace holds the HA switch (embedded
target by default) with its crypto path on port 254 (`p4mob ipsec run`) and
the HA node (`p4mob ha run`); a load generator on the far end of the port-1
veth plays N mobile nodes, each with its own RFC 3776 BU/BA SA pair (keys in
files, 0600, the HA's IPsec file generated for all of them as
lab/mip_topology.py does for the lab's MN). Each MN's BU is what the MN
daemon sends: mip/bu_build.py, then runtime/mn_datapath.py (the MH codec,
the IPsec core with that MN's SAs; IPv6{CoA -> HA} DestOpt{HAO} ESP MH BU).
The BA is decrypted the same way and must carry status 0 and the BU's
sequence number. Frames are built and sealed before each phase's clock
starts. Phases: the N first registrations as one burst, then ``--count``
refreshes (sequence numbers increasing) cycled over the N MNs as a burst,
both with at most ``--window`` BUs unanswered (32: bmv2 drops some of a
larger burst in its queues; the embedded target takes 256); then refreshes
at fixed rates (``--rate``, a fifth of it, half the refresh burst rate) for
BU->BA p50/p99.
CPU microseconds per registration of the switch, the crypto path, the node
and the generator (from /proc). Also the DSMIPv6 variant (``--no-dsmip``
skips it): N other MNs on IPv4 CoAs, BUs in IPv4/UDP 4191 (RFC 5555 §4.1).
Baseline measured in the same run, on the same switch before the node
starts: raw P4Runtime INSERTs (benchlib.raw_write_rate); printed as a ratio.

Part 2, movement (root, bench/ha_moves.py): the lab of `p4mob lab --scenario
mip-nat` (lab/mip_lab.py) with the MN moving between the two IPv6 access
networks ``--moves`` times (default 20) while it pings the CN every 10 ms;
per move the gap from the last ESP packet of the data SA on the old access
link to the first on the new one (the HA's pcaps; downlink and uplink), and
the ping gap across the move, against the steady-state gaps before the first
move (the baseline).

Writes bench/results/ha.json (the parts run replace theirs in it).
Usage: python bench/bench_ha.py [--part all|registrations|moves] [--target embedded|bmv2]
       [--mns 200] [--count 2000] [--rate 200] [--moves 20]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import RESULTS, cpu_seconds, percentiles, raw_write_rate  # noqa: E402

from p4mobility.ipsec import CryptoPath  # noqa: E402
from p4mobility.ipsec.config import parse_config  # noqa: E402
from p4mobility.lab import mip_topology as M  # noqa: E402
from p4mobility.lab.launch import find_switch, switch_argv  # noqa: E402
from p4mobility.lab.mip_files import crypto_argv, crypto_sock, ha_argv, node_settings, write_keys  # noqa: E402
from p4mobility.lab.supervisor import Supervisor, sh  # noqa: E402
from p4mobility.lab.topology import to_toml  # noqa: E402
from p4mobility.mh import seconds_to_lifetime  # noqa: E402
from p4mobility.mip import MnConfig  # noqa: E402
from p4mobility.mip.access import Coa  # noqa: E402
from p4mobility.mip.bu_build import build_bu  # noqa: E402
from p4mobility.mip.bul import Transaction, TxKind  # noqa: E402
from p4mobility.mip.data_tunnels import DataTunnels  # noqa: E402
from p4mobility.mip.events import BaReceived  # noqa: E402
from p4mobility.mip.path import DSMIPV6_UDP_PORT, Encapsulation  # noqa: E402
from p4mobility.mip.path import Path as MipPath  # noqa: E402
from p4mobility.runtime.logs import read_events  # noqa: E402
from p4mobility.runtime.mn_datapath import MnDatapath  # noqa: E402

GEN_IF, SW_IF = "gen0", "p1"
GEN_MAC, SW_MAC = "02:00:00:00:0c:01", "02:00:00:00:0c:02"
COA6_BASE = int(M.ACC_NET["acca"].network_address) + 0x10000
COA4_NET = IPv4Network("198.18.0.0/15")  # RFC 2544: benchmarking
HOA_BASE = int(M.HOME_PREFIX.network_address) + 0x10000
LIFETIME = 3600.0


def bench_keys(i: int) -> M.MnKeys:
    """The SAs of the generator's MN ``i`` (SPIs and reqids clear of the lab's)."""
    return M.MnKeys(IPv6Address(HOA_BASE + i), 0x10000 + 8 * i, 1000 + 8 * i, f"b{i}-")


def write_ha_files(out: Path, indices: list[int]) -> None:
    """keys/ (0600), ipsec-ha.toml (each MN's BU/BA pair) and ha.toml (routes to the generator)."""
    keys = [bench_keys(i) for i in indices]
    write_keys(out, [sa for k in keys for sa in M.mip_sas(k)[:2]])
    (out / "ipsec-ha.toml").write_text(to_toml(M.ipsec_config("ha", mns=keys, payload=False)))
    room = len(indices) + 16
    cfg = M.ha_config(node_settings(out), M.MipLabOptions(home_agent={
        "mobile_nodes": [], "max_bindings": max(4096, room), "max_tunnel_peers": max(1024, room)}))
    cfg["node"]["counters_interval"] = 60.0
    cfg["routes"] = [{"prefix": str(p), "port": 1, "src_mac": SW_MAC, "dst_mac": GEN_MAC}
                     for p in (M.ACC_NET["acca"], COA4_NET)]
    cfg["ipsec"] = {"config": "ipsec-ha.toml", "crypto_socket": str(crypto_sock(out))}
    (out / "ha.toml").write_text(to_toml(cfg))


@dataclass
class BenchMn:
    """One mobile node as the generator plays it: its config, CoA, path and datapath."""

    index: int
    cfg: MnConfig
    coa: IPv6Address | IPv4Address
    path: MipPath
    datapath: MnDatapath
    seq: int = 0


def make_mn(out: Path, i: int, dsmip: bool) -> BenchMn:
    keys = bench_keys(i)
    ipsec = parse_config(M.ipsec_config(keys, payload=False), out)
    cfg = MnConfig(keys.home_address, M.HA_ADDRESS, home_agent_ipv4=M.HA_ADDRESS_V4, requested_lifetime=LIFETIME)
    if dsmip:
        coa: IPv6Address | IPv4Address = COA4_NET[256 + i]
        path = MipPath(GEN_IF, Encapsulation.UDP4, coa, M.HA_ADDRESS_V4, DSMIPV6_UDP_PORT, DSMIPV6_UDP_PORT)
    else:
        coa = IPv6Address(COA6_BASE + i)
        path = MipPath(GEN_IF, Encapsulation.IPV6, coa, M.HA_ADDRESS)
    return BenchMn(i, cfg, coa, path, MnDatapath(cfg, CryptoPath(ipsec.build_sad(0.0), ipsec.spd), DataTunnels()),
                   seq=(7 * i) & 0xFFFF)


def bu_frame(mn: BenchMn, seq: int) -> bytes:
    """The MN's home registration BU (mip/bu_build.py) sealed by its datapath, in Ethernet."""
    tx = Transaction(0, TxKind.REGISTER, [0], mn.path, {0: Coa(GEN_IF, mn.coa, None)},
                     lifetime=seconds_to_lifetime(LIFETIME))
    got = mn.datapath.signalling(build_bu(mn.cfg, tx, seq, None), time.time())
    if got is None:
        raise RuntimeError(f"MN {mn.index}: BU not protected ({dict(mn.datapath.counters)})")
    wire = got[1]
    eth = b"\x08\x00" if wire[0] >> 4 == 4 else b"\x86\xdd"
    return bytes.fromhex(SW_MAC.replace(":", "") + GEN_MAC.replace(":", "")) + eth + wire


class Generator:
    """Sends prepared BUs on the veth; a thread decrypts the BAs and matches them by (MN, sequence)."""

    def __init__(self, mns: list[BenchMn]) -> None:
        self.by_coa = {mn.coa: mn for mn in mns}
        self.pending: dict[tuple[int, int], int] = {}  # (MN, BU sequence) -> registration number
        self.sent: dict[int, float] = {}
        self.acked: dict[int, tuple[float, int]] = {}  # registration -> (time, BA status)
        self.unmatched = 0
        self.next_k = 0
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.bind((GEN_IF, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        with contextlib.suppress(OSError):  # PACKET_IGNORE_OUTGOING: our own BUs are not read back
            self.sock.setsockopt(263, 23, 1)
        self._stop = False
        self._t = threading.Thread(target=self._recv, daemon=True)
        self._t.start()

    def prepare(self, mns: list[BenchMn], count: int) -> list[tuple[int, bytes]]:
        """``count`` registrations cycled over ``mns``: (registration number, frame), each BU
        with its MN's next sequence number (RFC 6275 §9.5.1: a refresh needs a greater one)."""
        out = []
        for j in range(count):
            mn = mns[j % len(mns)]
            mn.seq = (mn.seq + 1) & 0xFFFF
            k, self.next_k = self.next_k, self.next_k + 1
            self.pending[(mn.index, mn.seq)] = k
            out.append((k, bu_frame(mn, mn.seq)))
        return out

    def _recv(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING or len(data) < 34:
                continue
            t = time.perf_counter()
            pkt = data[14:]
            dst = IPv6Address(pkt[24:40]) if pkt[0] >> 4 == 6 else IPv4Address(pkt[16:20])
            mn = self.by_coa.get(dst)
            ev = mn.datapath.from_access(pkt, {mn.coa}, time.time()) if mn is not None else None
            k = self.pending.pop((mn.index, ev.message.sequence), None) if isinstance(ev, BaReceived) else None
            if k is None:
                self.unmatched += 1
            else:
                self.acked[k] = (t, int(ev.message.status))

    def send(self, k: int, frame: bytes) -> None:
        self.sent[k] = time.perf_counter()
        self.sock.send(frame)

    def wait(self, ks: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(k not in self.acked for k in ks) and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._stop = True
        self._t.join(1)
        self.sock.close()


def burst(gen: Generator, frames: list[tuple[int, bytes]], window: int, procs: dict[str, int]) -> dict:
    """Send as fast as the window lets (after 2 s without a BA the BUs unanswered count as lost
    and no longer hold it); rate and CPU per answered registration."""
    ks = [k for k, _ in frames]
    cpu0 = {name: cpu_seconds(pid) for name, pid in procs.items()}
    base, lost = len(gen.acked), 0
    seen, progress = base, time.monotonic()
    t0 = time.perf_counter()
    for n, (k, frame) in enumerate(frames):
        while (outstanding := n - (len(gen.acked) - base) - lost) >= window:
            if len(gen.acked) != seen:
                seen, progress = len(gen.acked), time.monotonic()
            elif time.monotonic() - progress > 2.0:
                lost += outstanding
                break
            time.sleep(0.0005)
        gen.send(k, frame)
    gen.wait(ks, 30)
    done = [gen.acked[k][0] for k in ks if k in gen.acked]
    rate = len(done) / (max(done) - t0) if done else 0.0
    return {"sent": len(ks), "answered": len(done), "accepted": sum(1 for k in ks if gen.acked.get(k, (0, -1))[1] == 0),
            "registrations_per_s": round(rate),
            "cpu_us_per_registration": {name: round((cpu_seconds(pid) - cpu0[name]) * 1e6 / max(1, len(done)))
                                        for name, pid in procs.items()}}


def paced(gen: Generator, frames: list[tuple[int, bytes]], rate: float) -> dict:
    """Send at ``rate`` per second (sleeping, no busy wait); BU->BA latency."""
    period, t_next = 1.0 / rate, time.perf_counter()
    for k, frame in frames:
        delay = t_next - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        gen.send(k, frame)
        t_next += period
    ks = [k for k, _ in frames]
    gen.wait(ks, 30)
    lat = [(gen.acked[k][0] - gen.sent[k]) * 1000.0 for k in ks if k in gen.acked]
    return {"sent": len(ks), "answered": len(lat),
            "accepted": sum(1 for k in ks if gen.acked.get(k, (0, -1))[1] == 0), **percentiles(lat)}


def variant(gen: Generator, mns: list[BenchMn], args: argparse.Namespace, procs: dict[str, int], log: Path) -> dict:
    """First registrations, a refresh burst, then refreshes at fixed rates, for one group of MNs."""
    def updates() -> list[int]:
        return [e["updates"] for e in read_events(str(log)) if e["event"] == "entries_written"]

    before = len(updates())
    res = {"first": burst(gen, gen.prepare(mns, len(mns)), args.window, procs)}
    written = updates()[before:]
    res["first"]["table_updates_per_registration"] = round(sum(written) / max(1, len(mns)), 2)
    res["first"]["write_batches"] = len(written)
    res["refresh"] = burst(gen, gen.prepare(mns, args.count), args.window, procs)
    n_rate = max(20, min(args.count, 400))
    rates = [] if args.burst_only else sorted(
        {max(1, args.rate // 5), args.rate, max(1, res["refresh"]["registrations_per_s"] // 2)})
    res["latency_by_rate"] = {str(r): paced(gen, gen.prepare(mns, n_rate), r) for r in rates}
    return res


def inner(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    n = args.mns
    groups = {"ipv6": list(range(n))} | ({} if args.no_dsmip else {"dsmip": list(range(n, 2 * n))})
    baseline = asyncio.run(raw_write_rate(max(args.count, 1000), 256))
    print(f"baseline: raw P4Runtime INSERT into tunnel_peers, batches of 256: {baseline:,.0f} entries/s", flush=True)
    write_ha_files(out, [i for g in groups.values() for i in g])
    mns = {name: [make_mn(out, i, name == "dsmip") for i in g] for name, g in groups.items()}
    procs, gen = {"switch": args.switch_pid}, None
    logs = {"crypto": out / "ha-crypto.out", "node": out / "ha.log"}
    children = {}
    try:
        for name, argv in (("crypto", crypto_argv(out)), ("node", ha_argv(out))):
            with open(logs[name], "wb") as f:
                children[name] = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)
            procs[name] = children[name].pid
        deadline = time.monotonic() + 180
        while not any(e["event"] == "reconciled" for e in read_events(str(logs["node"]))):
            if any(p.poll() is not None for p in children.values()) or time.monotonic() > deadline:
                raise RuntimeError("the HA node did not come up: " + logs["node"].read_text()[-2000:])
            time.sleep(0.1)
        gen = Generator([mn for g in mns.values() for mn in g])
        procs["generator"] = os.getpid()
        res = {"target": args.target, "mns": n, "window": args.window,
               "baseline_raw_write_entries_per_s": round(baseline)}
        for name, group in mns.items():
            res[name] = variant(gen, group, args, procs, logs["node"])
        res["bas_unmatched"] = gen.unmatched
    finally:
        if gen is not None:
            gen.close()
        for p in children.values():
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    for name in mns:
        r = res[name]
        for phase in ("first", "refresh"):
            p = r[phase]
            p["ratio_vs_raw_write"] = round(p["registrations_per_s"] / baseline, 3) if baseline else None
            print(f"{name} {phase}: {p['accepted']}/{p['sent']} accepted (status 0, sequence matched, "
                  f"{p['sent'] - p['answered']} unanswered), "
                  f"{p['registrations_per_s']:,} registrations/s = {p['ratio_vs_raw_write']}x the raw write rate "
                  f"in entries/s; CPU per registration: "
                  + ", ".join(f"{k} {v} us" for k, v in p["cpu_us_per_registration"].items()), flush=True)
        f = r["first"]
        f["ratio_table_updates_vs_raw_write"] = round(
            f["registrations_per_s"] * f["table_updates_per_registration"] / baseline, 3) if baseline else None
        print(f"{name} first registrations: {f['table_updates_per_registration']} table updates each in "
              f"{f['write_batches']} write batches: {f['ratio_table_updates_vs_raw_write']}x the raw write rate "
              f"in table updates/s")
        for rate, lat in r["latency_by_rate"].items():
            print(f"{name} at {rate}/s: {lat['answered']}/{lat['sent']} answered, BU->BA p50 {lat['p50_ms']} ms, "
                  f"p99 {lat['p99_ms']} ms")
    (out / "registrations.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


def registrations(args: argparse.Namespace) -> dict | None:
    binary = find_switch(args.target)
    out = Path(args.out).resolve() / "registrations"
    out.mkdir(parents=True, exist_ok=True)
    for f in out.glob("*"):
        if f.is_file():
            f.unlink()
    with Supervisor("bha") as sup:
        ns = sup.add_namespace("ha")
        for a, b in ((GEN_IF, SW_IF), M.CRYPTO_IFACES):
            sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, ns=ns)
        for ifname in (GEN_IF, SW_IF, *M.CRYPTO_IFACES):
            sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1", ns=ns)
            sh("ip", "link", "set", ifname, "up", ns=ns)
        sh("ip", "link", "set", GEN_IF, "address", GEN_MAC, ns=ns)
        sh("ip", "link", "set", SW_IF, "address", SW_MAC, ns=ns)
        sw = sup.spawn("switch", switch_argv(binary, args.target, "ha", ipsec=True, ports={SW_IF: 1}),
                       out / "switch.log", ns=ns)  # `ip netns exec` execs: the switch's own pid
        given = sys.argv[1:] if args.argv is None else args.argv
        argv = [sys.executable, __file__, *given, "--inner", "--out", str(out), "--switch-pid", str(sw.popen.pid)]
        if subprocess.call(["ip", "netns", "exec", ns] + argv) != 0:
            return None
    return json.loads((out / "registrations.json").read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("all", "registrations", "moves"), default="all")
    ap.add_argument("--target", default="embedded")
    ap.add_argument("--mns", type=int, default=200, help="mobile nodes the generator plays (per variant)")
    ap.add_argument("--count", type=int, default=2000, help="refreshes in the burst")
    ap.add_argument("--window", type=int, default=32,
                    help="BUs unanswered at most in a burst (bmv2's 64-packet queues drop beyond ~32)")
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--burst-only", action="store_true", help="skip the fixed-rate latency runs")
    ap.add_argument("--no-dsmip", action="store_true", help="skip the DSMIPv6 (IPv4 CoA) variant")
    ap.add_argument("--moves", type=int, default=20)
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between two moves")
    ap.add_argument("--steady", type=float, default=3.0, help="seconds of steady state before the first move")
    ap.add_argument("--out", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "p4mob-bench-ha"))
    ap.add_argument("--results", default=str(RESULTS / "ha.json"))
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--switch-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.argv = argv
    if args.inner:
        inner(args)
        return 0
    from p4mobility.lab.lab import lab_unavailable
    reason = lab_unavailable()
    if reason:
        print(f"bench_ha: skipped: {reason}")
        return 0
    results = Path(args.results)
    try:
        doc = json.loads(results.read_text())
    except (OSError, ValueError):
        doc = {}
    ok = True
    if args.part in ("all", "registrations"):
        got = registrations(args)
        ok = got is not None
        if got is not None:
            doc["registrations"] = got
    if args.part in ("all", "moves"):
        from ha_moves import movement
        got = movement(args)
        ok = ok and got is not None
        if got is not None:
            doc["movement"] = got
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"written: {results}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
