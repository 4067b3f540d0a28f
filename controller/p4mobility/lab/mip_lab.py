"""A running host-mobility lab (mip_topology.py): build it, drive it, tear it down.

Rule: orchestration only (namespaces, veths, addresses, routes, processes),
no protocol logic, like lab.py for PMIPv6. The access routers (ACCA, ACCB)
and the NAT are plain Linux namespaces; the HA namespace holds the P4 switch
(one port per access network and one to the CN, port 254 to its crypto
path), the crypto path and the HA node; the MN namespace runs the real MN
daemon (`p4mob mn run`). The switch answers neither ND nor ARP, so its
neighbours hold permanent entries for it (a fake next-hop address on each
transit link). "Attaching" the MN to an access network is what SLAAC or DHCP
would do: its interface gets the care-of address and a default route through
that network; "detaching" takes them away (and, with ``carrier=False``,
the link's carrier too, as a lost radio). The NAT masquerades the MN's
private network with nftables; its public network ("pub", on the same link)
is routed as is. Every process and namespace is the
Supervisor's, so `close()` leaves nothing behind.
"""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

from p4mobility.lab import mip_topology as M
from p4mobility.lab.launch import GRPC_PORT, switch_argv
from p4mobility.lab.netlab import NamespaceLab, tail
from p4mobility.lab.mip_files import crypto_argv, crypto_sock, ha_argv, mn_argv, write_files
from p4mobility.lab.supervisor import LabError, sh
from p4mobility.lab.tools import find_tool, tool_missing
from p4mobility.runtime.control import ControlError, request
from p4mobility.runtime.logs import read_events

SWITCH_SIDE = {"acca": "2001:db8:fa::1", "accb": "2001:db8:fb::1"}  # fake next hops (permanent ND entries)
ACCESS_METRIC = {"wlan0": 1024, "wlan1": 1025, "lan0": 1026}
V4_ROUTER = {"nat": ("nat", "lan"), "pub": ("nat", "lan")}  # IPv4 accesses: (router namespace, its MN side)
V4_LEASE = {"nat": (M.MN_V4_COA, M.NAT_LAN, M.NAT_LAN_GW),  # (the MN's address, network, default router)
            "pub": (M.MN_V4_PUBLIC, M.PUBLIC_LAN, M.PUBLIC_LAN_GW)}


# SIOCETHTOOL ETHTOOL_STXCSUM 0 on argv[1] (linux/ethtool.h), without the ethtool program
TX_CSUM_OFF = ("import array,fcntl,socket,struct,sys;v=array.array('I',[0x17,0]);"
               "fcntl.ioctl(socket.socket(socket.AF_INET,socket.SOCK_DGRAM),0x8946,"
               "struct.pack('16sP',sys.argv[1].encode(),v.buffer_info()[0])+bytes(16))")


def nat_unavailable() -> str | None:
    """None when the NAT namespace can masquerade (nftables), else why not."""
    missing = tool_missing("nft")
    return None if missing is None else f"{missing}: no NAT access network"


class MipLab(NamespaceLab):
    def __init__(self, out: str | Path, target: str = "embedded", options: M.MipLabOptions | None = None,
                 tag: str | None = None, pcap: bool = True) -> None:
        super().__init__(out, target, tag, pcap and find_tool("tcpdump") is not None)
        self.opts = options or M.MipLabOptions()
        self.nat = nat_unavailable() is None
        self.attached: set[str] = set()

    def start(self) -> None:
        self._build(M)
        self._routers()
        self._cn()
        self._mn()
        ha = self.ns("ha")
        for ifname in (*M.HA_PORTS, *M.CRYPTO_IFACES):
            if ifname in M.CRYPTO_IFACES and ifname == M.CRYPTO_IFACES[0]:
                sh("ip", "link", "add", ifname, "type", "veth", "peer", "name", M.CRYPTO_IFACES[1], ns=ha)
            sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1", ns=ha)
            sh("ip", "link", "set", ifname, "up", ns=ha)
        self.mark("topology")
        self.sup.spawn("switch", switch_argv(self.switch_bin, self.target, "ha", ipsec=True, ports=M.HA_PORTS),
                       self.out / "ha-switch.log", ns=ha)
        self._wait_grpc()
        if self.pcap:  # the HA's access links: BU/BA and tunnelled data as they cross
            for ifname in ("acca", "accb", "nat", M.CRYPTO_IFACES[0]):  # + the crypto port's round trips
                self.sup.spawn(f"pcap-{ifname}", ["tcpdump", "-i", ifname, "-U", "--immediate-mode", "-n", "-w",
                                                  str(self.out / f"ha-{ifname.replace('cry0', 'crypto')}.pcap")],
                               self.out / f"tcpdump-{ifname}.log", ns=ha)
        write_files(self.out, self.opts)
        self.sup.spawn("crypto", crypto_argv(self.out), self.out / "ha-crypto.out", ns=ha)
        self.sup.spawn("ha", ha_argv(self.out), self.out / "ha.log", ns=ha)
        self.wait_event("ha", "reconciled", timeout=180)
        self.mark("ready")

    def _routers(self) -> None:
        for acc in ("acca", "accb"):
            ns = self.ns(acc)
            sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", ns=ns)
            for ifname in ("mn", "ha"):  # the MN side goes down between attachments: keep its address
                sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.accept_dad=0", ns=ns)
                sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.keep_addr_on_down=1", ns=ns)
                sh("ip", "link", "set", ifname, "up", ns=ns)
            sh("ip", "-6", "addr", "add", f"{M.ACC_GW[acc]}/64", "dev", "mn", "nodad", ns=ns)
            sh("ip", "-6", "addr", "add", f"{M.TRANSIT_ROUTER[acc]}/64", "dev", "ha", "nodad", ns=ns)
            sh("ip", "-6", "neigh", "replace", SWITCH_SIDE[acc], "lladdr", M.MACS[("ha", acc)], "dev", "ha",
               "nud", "permanent", ns=ns)
            sh("ip", "-6", "route", "add", "default", "via", SWITCH_SIDE[acc], "dev", "ha", ns=ns)
        ns = self.ns("nat")  # IPv4 only: the MN's private LAN behind a masquerading router
        for ifname in ("lan", "wan"):
            self._quiet("nat", ifname)
            sh("ip", "link", "set", ifname, "up", ns=ns)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=ns)
        sh("ip", "addr", "add", f"{M.NAT_LAN_GW}/{M.NAT_LAN.prefixlen}", "dev", "lan", ns=ns)
        sh("ip", "addr", "add", f"{M.PUBLIC_LAN_GW}/{M.PUBLIC_LAN.prefixlen}", "dev", "lan", ns=ns)
        sh("ip", "addr", "add", f"{M.NAT_PUBLIC}/{M.NAT_WAN.prefixlen}", "dev", "wan", ns=ns)
        sh("ip", "neigh", "replace", str(M.NAT_WAN_GW), "lladdr", M.MACS[("ha", "nat")], "dev", "wan",
           "nud", "permanent", ns=ns)
        sh("ip", "route", "add", "default", "via", str(M.NAT_WAN_GW), "dev", "wan", ns=ns)
        if self.nat:
            script = ("table ip nat {\n chain post {\n  type nat hook postrouting priority 100; policy accept;\n"
                      f'  oifname "wan" ip saddr {M.NAT_LAN} masquerade\n }}\n}}\n')
            (self.out / "nat.nft").write_text(script)
            sh("nft", "-f", str(self.out / "nat.nft"), ns=ns)

    def _cn(self) -> None:
        ns = self.ns("cn")
        sh("sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0", ns=ns)
        sh("ip", "link", "set", "eth0", "up", ns=ns)
        sh("ip", "-6", "addr", "add", f"{M.CN_ADDRESS}/{M.CN_NET.prefixlen}", "dev", "eth0", "nodad", ns=ns)
        sh("ip", "addr", "add", f"{M.CN_ADDRESS_V4}/{M.CN_NET_V4.prefixlen}", "dev", "eth0", ns=ns)
        mac = M.MACS[("ha", "cn")]
        sh("ip", "-6", "neigh", "replace", str(M.CN_GATEWAY), "lladdr", mac, "dev", "eth0", "nud", "permanent", ns=ns)
        sh("ip", "neigh", "replace", str(M.CN_GATEWAY_V4), "lladdr", mac, "dev", "eth0", "nud", "permanent", ns=ns)
        sh("ip", "-6", "route", "add", "default", "via", str(M.CN_GATEWAY), "dev", "eth0", ns=ns)
        sh("ip", "route", "add", "default", "via", str(M.CN_GATEWAY_V4), "dev", "eth0", ns=ns)
        # a veth leaves TCP/UDP checksums to "the hardware": frames the switch reads off the wire
        # would carry partial ones, which the MN's stack refuses (ethtool -K eth0 tx off)
        sh(sys.executable, "-c", TX_CSUM_OFF, "eth0", ns=ns)

    def _mn(self) -> None:
        ns = self.ns("mn")
        for ifname in sorted(set(M.MN_IFACES.values())):  # addresses only from attach(): no SLAAC, no DAD
            for key, val in (("accept_ra", 0), ("autoconf", 0), ("accept_dad", 0)):
                sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.{key}={val}", ns=ns)
            sh("ip", "link", "set", ifname, "up", ns=ns)
        for acc in ("acca", "accb", "nat"):  # no carrier until attached
            sh("ip", "link", "set", "mn" if acc != "nat" else "lan", "down", ns=self.ns(acc))

    def _wait_grpc(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        probe = ("import socket,sys; s=socket.socket(); s.settimeout(0.5);"
                 f"sys.exit(s.connect_ex(('127.0.0.1',{GRPC_PORT})))")
        while time.monotonic() < deadline:
            proc = self.sup.procs["switch"]
            if not proc.alive():
                raise LabError(f"the HA switch exited: {tail(proc.log)}")
            if sh(sys.executable, "-c", probe, ns=self.ns("ha"), check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise LabError(f"the HA switch did not open gRPC port {GRPC_PORT}")

    def restart_ha(self, sig: int = signal.SIGKILL) -> float:
        """Stop the HA node (SIGKILL: a crash) and start it again; returns the restart time."""
        self.sup.stop("ha", sig=sig)
        t = self.mark("ha node restarted")
        self.sup.spawn("ha", ha_argv(self.out), self.out / "ha.log", ns=self.ns("ha"))
        return t

    # --- the MN's access networks -----------------------------------------------------------------
    def attach(self, access: str) -> float:
        """The MN's interface on ``access`` ("acca", "accb", "nat", "pub") gets carrier, its care-of
        address and a default route through that network (what SLAAC / DHCP would give)."""
        if access == "nat" and not self.nat:
            raise LabError(nat_unavailable() or "no NAT")
        ifname, mn = M.MN_IFACES[access], self.ns("mn")
        t = self.mark(f"attach {access}")
        node, side = V4_ROUTER.get(access, (access, "mn"))
        sh("ip", "link", "set", side, "up", ns=self.ns(node))
        # both ends running (the kernel activates a link's queue up to 1 s after its carrier), then the lease
        self.wait_for(lambda: self._oper_up("mn", ifname) and self._oper_up(node, side),
                      f"carrier on {ifname} and {node}'s {side}", 10)
        if access in V4_LEASE:  # behind the NAT, or the public network routed as is
            address, lan, gateway = V4_LEASE[access]
            sh("ip", "addr", "replace", f"{address}/{lan.prefixlen}", "dev", ifname, ns=mn)
            sh("ip", "route", "replace", "default", "via", str(gateway), "dev", ifname,
               "metric", str(ACCESS_METRIC[ifname]), ns=mn)
        else:
            sh("ip", "-6", "addr", "replace", f"{M.MN_COA[access]}/64", "dev", ifname, "nodad", ns=mn)
            sh("ip", "-6", "route", "replace", "default", "via", str(M.ACC_GW[access]), "dev", ifname,
               "metric", str(ACCESS_METRIC[ifname]), ns=mn)
        self.attached.add(access)
        return t

    def _oper_up(self, node: str, ifname: str) -> bool:
        import json
        res = sh("ip", "-j", "link", "show", "dev", ifname, ns=self.ns(node), check=False)
        try:
            return json.loads(res.stdout or "[]")[0].get("operstate") == "UP"
        except (ValueError, IndexError):
            return False

    def detach(self, access: str, carrier: bool = True) -> float:
        """The care-of address and route on ``access`` go (the lease ended); with
        ``carrier=False`` the link loses its carrier instead (a lost radio, addresses kept)."""
        ifname, mn = M.MN_IFACES[access], self.ns("mn")
        t = self.mark(f"detach {access}" + ("" if carrier else " (carrier lost)"))
        if carrier:  # the kernel drops what depends on the address, as when a lease ends
            if access in V4_LEASE:
                address, lan, _ = V4_LEASE[access]
                sh("ip", "addr", "del", f"{address}/{lan.prefixlen}", "dev", ifname, ns=mn, check=False)
            else:
                sh("ip", "-6", "addr", "flush", "dev", ifname, "scope", "global", ns=mn)
        else:
            node, side = V4_ROUTER.get(access, (access, "mn"))
            sh("ip", "link", "set", side, "down", ns=self.ns(node))
        self.attached.discard(access)
        return t

    # --- the MN daemon ------------------------------------------------------------------------------
    def start_mn(self) -> None:
        self.sup.spawn("mn", mn_argv(self.out), self.out / "mn.out", ns=self.ns("mn"))
        self.wait_for(lambda: self.mn_status() is not None, "the MN daemon's control socket", 30,
                      proc="mn")

    def stop_mn(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        return self.sup.stop("mn", timeout=timeout, sig=sig)

    def mn_status(self) -> dict | None:
        return self.ask(self.out / "mn.sock", {"cmd": "status"})

    def mn_tunnel(self) -> dict | None:
        st = self.mn_status()
        return st.get("tunnel") if st else None

    @staticmethod
    def ask(sock: Path, req: dict) -> dict | None:
        try:
            answer = request(str(sock), req, timeout=3.0)
        except ControlError:
            return None
        return answer if answer.get("ok") else None

    def ha(self, req: dict) -> dict:
        try:
            return request(str(self.out / "ha.sock"), req, timeout=10.0)
        except ControlError as exc:
            raise LabError(str(exc)) from None

    def show(self, what: str) -> list[dict]:
        """The HA's `show bindings|peers|counters` rows as dicts."""
        ans = self.ha({"cmd": "show", "what": what})
        if not ans.get("ok"):
            raise LabError(f"show {what}: {ans.get('error')}")
        return [dict(zip(ans["columns"], r)) for r in ans["rows"]]

    def crypto(self, what: str) -> dict:
        req = {"cmd": "status"} if what == "status" else {"cmd": "show", "what": what}
        try:
            return request(str(crypto_sock(self.out)), req, timeout=10.0)
        except ControlError as exc:
            raise LabError(str(exc)) from None

    def drops(self, reason: int) -> int:
        """Packets the switch dropped for ``reason`` (drop_counter index, docs/dataplane.md)."""
        return sum(r["packets"] for r in self.show("counters") if r["counter"] == "drop_counter"
                   and r["index"] == reason)

    def read_switch(self, *tables: str) -> list[dict]:
        """Entries of ``tables`` as an independent P4Runtime client reads them (lab/inspect.py)."""
        import json
        res = sh(sys.executable, "-m", "p4mobility.lab.inspect", f"127.0.0.1:{GRPC_PORT}", *tables,
                 ns=self.ns("ha"), timeout=60)
        return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]

    def drop_forwarded(self, node: str, match: str | None) -> None:
        """Drop the forwarded packets nft expression ``match`` selects in ``node`` (an access
        router or the NAT): a lossy radio for tests; None lifts it."""
        if not self.nat:
            raise LabError(nat_unavailable() or "no nft")
        sh("nft", "delete", "table", "inet", "p4mlab", ns=self.ns(node), check=False)
        if match is not None:
            script = (f"table inet p4mlab {{\n chain lossy {{\n  type filter hook forward priority 0; policy accept;\n"
                      f"  {match} drop\n }}\n}}\n")
            path = self.out / f"drop-{node}.nft"
            path.write_text(script)
            sh("nft", "-f", str(path), ns=self.ns(node))

    # --- logs and waiting ---------------------------------------------------------------------------
    def events(self, node: str, name: str | None = None, since: float = 0.0) -> list[dict]:
        path = self.out / ("mn.log" if node == "mn" else "ha.log" if node == "ha" else f"{node}.log")
        return [e for e in read_events(str(path)) if (name is None or e.get("event") == name)
                and e.get("ts", 0) >= since]

    def wait_event(self, node: str, name: str, since: float = 0.0, timeout: float = 30.0, where: Any = None) -> dict:
        def found() -> dict | None:
            return next((e for e in self.events(node, name, since) if where is None or where(e)), None)
        return self.wait_for(found, f"{node}: a '{name}' event", timeout, proc=node)

    def wait_for(self, fn: Any, what: str, timeout: float = 30.0, poll: float = 0.05, proc: str | None = None) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got:
                return got
            p = self.sup.procs.get(proc) if proc else None
            if p is not None and not p.alive():
                raise LabError(f"{proc} exited while waiting for {what}: {tail(p.log)}")
            if time.monotonic() > deadline:
                raise LabError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(poll)

    def wait_tunnel(self, coa: Any, timeout: float = 30.0) -> dict:
        """The MN's data tunnel runs over care-of address ``coa`` (a BA accepted it)."""
        return self.wait_for(lambda: (t := self.mn_tunnel()) and t.get("coa") == str(coa) and t,
                             f"the MN's tunnel on {coa}", timeout, proc="mn")

    # --- traffic -------------------------------------------------------------------------------------
    def ping(self, dst: Any, count: int = 3, timeout: float = 2.0) -> bool:
        family = "-6" if dst.version == 6 else "-4"
        res = sh("ping", family, "-c", str(count), "-i", "0.2", "-W", str(timeout), str(dst), ns=self.ns("mn"),
                 check=False, timeout=count * (timeout + 1) + 5)
        return res.returncode == 0

    def start_ping(self, dst: Any, name: str = "ping", interval: float = 0.01) -> Path:
        log = self.out / f"{name}.log"
        log.unlink(missing_ok=True)
        family = "-6" if dst.version == 6 else "-4"
        self.sup.spawn(name, ["ping", family, "-D", "-n", "-i", str(interval), str(dst)], log, ns=self.ns("mn"))
        return log

    def stop_ping(self, name: str = "ping") -> Path:
        self.sup.stop(name, sig=signal.SIGINT)
        return self.out / f"{name}.log"

    def inject(self, node: str, ifname: str, frame: bytes) -> None:
        """One raw Ethernet frame out of ``ifname`` in ``node``'s namespace (a hostile host)."""
        code = ("import socket,sys;s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);"
                f"s.bind(({ifname!r},0));s.send(bytes.fromhex(sys.argv[1]))")
        sh(sys.executable, "-c", code, frame.hex(), ns=self.ns(node), timeout=20)


__all__ = ["MipLab", "LabError", "nat_unavailable", "SWITCH_SIDE"]
