"""The MAG-side network of two LMA switches as Linux does it: ECMP hashing on the source.

The rig's namespace becomes the MAG-side router (tests/e2e/lma_switches_rig.py):
IPv6 forwarding, the LMA address routed over sw1's and sw2's MAG-side ports as
one multipath route hashed on the source address only
(fib_multipath_hash_policy 3, fields 0x0001), and a link to the MAGs, whose
end the test holds in the root namespace. Two MAG addresses that the kernel
hashes to different switches are found by probing; then each MAG registers an
MN of the pool the *other* switch serves: every PBA returns through the router,
and every uplink crosses the switch the kernel chose and then the serving one.
"""
from __future__ import annotations

import select
import socket
import subprocess
import time
from ipaddress import IPv6Address, IPv6Network

import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4mobility.mh import HomeNetworkPrefix
from p4mobility.runtime.frames import parse_mh_frame
from tests.e2e.lma_switches_rig import (BODY, CN, CN_SIDE, GEN_MAC, LMA, MAG_SIDE, POOL_A, POOL_B, SW_MAC, mh_bytes,
                                        pbu, start_or_skip)

MAG_MAC, ROUTER_MAC = "02:00:00:00:0a:01", "02:00:00:00:0a:02"
CANDIDATES = [IPv6Address(f"2001:db8:a::{i:x}") for i in range(1, 33)]


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


class MagLink:
    """The MAGs' end of their link to the router, in the root namespace."""

    def __init__(self, ns: str, tag: str) -> None:
        self.ours, self.router = f"m{tag}a"[:15], f"m{tag}b"[:15]
        sh("ip", "link", "add", self.ours, "address", MAG_MAC, "type", "veth", "peer", "name", self.router,
           "address", ROUTER_MAC)
        sh("sysctl", "-qw", f"net.ipv6.conf.{self.ours}.disable_ipv6=1")
        sh("ip", "link", "set", self.router, "netns", ns)
        sh("ip", "link", "set", self.ours, "up")
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.bind((self.ours, 0))
        self.sock.settimeout(0.2)

    def send(self, pkt: bytes) -> None:
        self.sock.send(bytes(Ether(src=MAG_MAC, dst=ROUTER_MAC, type=0x86DD)) + pkt)

    def recv(self, match, timeout: float) -> Ether | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            pkt = Ether(data)
            if IPv6 in pkt and match(data, pkt[IPv6]):
                return pkt
        return None

    def close(self) -> None:
        self.sock.close()
        subprocess.run(["ip", "link", "del", self.ours], capture_output=True)


def make_router(rig, mags: list[IPv6Address]) -> MagLink:
    ns = rig.ns.name
    link = MagLink(ns, ns.rsplit("-", 1)[1])
    up = [rig.ns.ports[MAG_SIDE["sw1"]].test_ifname, rig.ns.ports[MAG_SIDE["sw2"]].test_ifname]

    def nsh(*args: str) -> None:
        sh("ip", "netns", "exec", ns, *args)

    nsh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    nsh("sysctl", "-qw", "net.ipv6.fib_multipath_hash_policy=3")
    nsh("sysctl", "-qw", "net.ipv6.fib_multipath_hash_fields=0x0001")  # the source address only
    for ifname in up + [link.router]:
        nsh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.accept_dad=0")
        nsh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=0")
    nsh("ip", "link", "set", link.router, "up")
    hops = []
    for i, ifname in enumerate(up):
        nsh("ip", "link", "set", ifname, "address", GEN_MAC)  # the switches' routes send to it
        nsh("ip", "-6", "neigh", "replace", f"fe80::{i + 1}", "lladdr", SW_MAC, "dev", ifname, "nud", "permanent")
        hops += ["nexthop", "via", f"fe80::{i + 1}", "dev", ifname]
    nsh("ip", "-6", "route", "add", f"{LMA}/128", *hops)
    nsh("ip", "-6", "route", "add", "2001:db8:a::/64", "dev", link.router)
    for mag in mags:
        nsh("ip", "-6", "neigh", "replace", str(mag), "lladdr", MAG_MAC, "dev", link.router, "nud", "permanent")
    return link


def probe(rig, link: MagLink, mag: IPv6Address) -> str:
    """The switch the router hands ``mag``'s packets to (a tunnel the switch then drops), seen
    on the switch's end of each MAG-side veth, in the root namespace."""
    socks = {}
    for sw in ("sw1", "sw2"):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        sock.bind((rig.ns.ports[MAG_SIDE[sw]].switch_ifname, 0))
        sock.setblocking(False)
        socks[sock] = sw
    try:
        link.send(bytes(IPv6(src=str(mag), dst=str(LMA), nh=41, hlim=64) /
                        IPv6(src="2001:db8:999::1", dst=str(CN)) / BODY))
        deadline = time.monotonic() + 5
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(list(socks), [], [], left)
            for sock in ready:
                data, addr = sock.recvfrom(65535)
                pkt = Ether(data)
                if addr[2] != socket.PACKET_OUTGOING and IPv6 in pkt and pkt[IPv6].src == str(mag):
                    return socks[sock]
        raise AssertionError(f"the router forwarded nothing from {mag}")
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture(params=["embedded", "bmv2"])
def routed(request, tmp_path):
    rig = start_or_skip(request.param, tmp_path, mags=tuple(CANDIDATES))
    link = None
    try:
        link = make_router(rig, CANDIDATES)
        yield rig, link
    finally:
        if link is not None:
            link.close()
        rig.close()


def test_ecmp_on_the_mag_address_keeps_a_mag_on_one_switch_and_steering_reaches_the_pool(routed):
    rig, link = routed
    chosen: dict[str, IPv6Address] = {}
    for mag in CANDIDATES:
        sw = probe(rig, link, mag)
        assert probe(rig, link, mag) == sw  # one MAG, one switch
        chosen.setdefault(sw, mag)
        if len(chosen) == 2:
            break
    assert set(chosen) == {"sw1", "sw2"}, "32 addresses all hashed to one switch"
    # each MAG registers an MN of the pool the switch it reaches does not serve
    nets = {}
    for seq, (sw, mn, pool) in enumerate((("sw1", "mn-b0", POOL_B), ("sw2", "mn-a0", POOL_A)), start=1):
        mag = chosen[sw]
        link.send(bytes(mh_frame_ip(mh_bytes(pbu(mn, seq), mag), mag)))
        pkt = link.recv(lambda data, ip: ip.src == str(LMA) and ip.dst == str(mag) and ip.nh == 135, 30)
        assert pkt is not None, f"no PBA for {mn} through the router"
        msg, _, _ = parse_mh_frame(bytes(pkt))
        assert msg.status == 0
        nets[mn] = IPv6Network((msg.option(HomeNetworkPrefix).prefix, 64))
        assert nets[mn].subnet_of(pool)
    # uplink from each MAG: through the router's choice, steered to the serving switch
    for mn, sw_in, sw_out in (("mn-b0", "sw1", "sw2"), ("mn-a0", "sw2", "sw1")):
        host = str(nets[mn][9])
        rig.ns.drain()
        link.send(bytes(IPv6(src=str(chosen[sw_in]), dst=str(LMA)) / IPv6(src=host, dst=str(CN), hlim=30) / BODY))
        got = rig.expect(CN_SIDE[sw_out], lambda p: p.src == host and p.dst == str(CN))
        assert got[Raw].load == BODY[Raw].load
        # downlink from the CN side of the serving switch, back through the router to the MAG
        rig.ns.send(CN_SIDE[sw_out], bytes(Ether(dst=SW_MAC, src=GEN_MAC) / IPv6(src=str(CN), dst=host) / BODY))
        pkt = link.recv(lambda data, ip: ip.nh == 41 and ip.payload.dst == host, 10)
        assert pkt is not None and pkt[IPv6].dst == str(chosen[sw_in])


def mh_frame_ip(mh: bytes, src: IPv6Address) -> IPv6:
    return IPv6(src=str(src), dst=str(LMA), nh=135, hlim=64) / Raw(bytes(mh))
