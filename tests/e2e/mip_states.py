"""The host-mobility lab (lab/mip_lab.py) for end-to-end tests: one per module and
target, the states tests start from, and the packets a hostile host sends.

Rule: like states.py for PMIPv6: each test asks for the state it starts from
(`registered_at`) and gets there from whatever ran before by acting and
waiting on conditions with a deadline (the MN daemon's tunnel, the HA's
binding cache), so a test runs alone or in any order. Crafted packets are
built from the RFCs with scapy and the project's MH codec; ESP comes from the
IPsec core with another MN's file of the lab (its real keys), never from the
code under test's framing.
"""
from __future__ import annotations

import os
import time
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest

from p4mobility.ipsec import CryptoPath, Protected
from p4mobility.ipsec.config import load_config
from p4mobility.lab import mip_topology as M
from p4mobility.lab.lab import lab_unavailable
from p4mobility.lab.mip_lab import MipLab
from p4mobility.lab.report import PingResult, parse_ping
from p4mobility.lab.supervisor import LabError
from p4mobility.mh import encode_mh
from p4mobility.mh.exthdr import HomeAddressOption, encode_destination_options_header
from tests.tooling import tool_missing

COA = {**M.MN_COA, "nat": M.MN_V4_COA, "pub": M.MN_V4_PUBLIC}
# the access router's interface towards the switch
ACCESS_PORT_IF = {"acca": "ha", "accb": "ha", "nat": "wan", "pub": "wan"}


def targets() -> list[str]:
    wanted = os.environ.get("P4MOB_TARGETS", "embedded,bmv2")
    return [t for t in ("embedded", "bmv2") if t in wanted.split(",")]


def mip_unavailable() -> str | None:
    """Why the host-mobility lab cannot run here, or None."""
    return lab_unavailable() or tool_missing("ping") or (
        None if os.path.exists("/dev/net/tun") else "no /dev/net/tun (the MN's tunnel interface)")


def needs_pcaps(lab: MipLab) -> None:
    """Skip a test that reads the lab's captures when it has none (no tcpdump)."""
    if not lab.pcap:
        pytest.skip(tool_missing("tcpdump") or "the lab captured nothing")


def make_mip_lab(request: Any, tmp_path_factory: Any, options: M.MipLabOptions | None = None) -> MipLab:
    reason = mip_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        lab = MipLab(Path(tmp_path_factory.mktemp(f"mip-{request.param}")), request.param, options, tag="m")
    except LabError as exc:
        pytest.skip(str(exc))
    try:
        lab.start()
    except BaseException:
        lab.close()
        raise
    return lab


def mn_running(lab: MipLab) -> bool:
    p = lab.sup.procs.get("mn")
    return p is not None and p.alive()


def registered_at(lab: MipLab, access: str, timeout: float = 40.0) -> dict:
    """The MN daemon runs, attached at ``access`` only, its data tunnel on that care-of address."""
    if not mn_running(lab):
        for a in list(lab.attached):
            lab.detach(a)
        lab.attach(access)
        lab.start_mn()
    else:
        if access not in lab.attached:
            lab.attach(access)
        for a in sorted(lab.attached - {access}):
            lab.detach(a)
    return lab.wait_tunnel(COA[access], timeout)


def binding(lab: MipLab, hoa: IPv6Address = M.HOME_ADDRESS) -> dict | None:
    return next((r for r in lab.show("bindings") if r["home_address"] == str(hoa)), None)


def wait_replies(log: Path, count: int, after: float = 0.0, timeout: float = 30.0) -> PingResult:
    """Until ``log`` (ping -D) shows ``count`` echo replies received after ``after``."""
    deadline = time.monotonic() + timeout
    while True:
        res = parse_ping(log.read_text() if log.exists() else "")
        if sum(t > after for t, _, _ in res.replies) >= count:
            return res
        assert time.monotonic() < deadline, f"not within {timeout} s: {count} echo replies in {log.name}"
        time.sleep(0.1)


# --- what a hostile or foreign host puts on an access link ---------------------------------------

def to_switch(access: str, packet: bytes) -> bytes:
    """An Ethernet frame from ``access``'s router to the HA switch's port."""
    mac = lambda m: bytes.fromhex(m.replace(":", ""))  # noqa: E731
    src = M.MACS[("nat", "wan")] if access == "nat" else M.MACS[(access, "ha")]
    return mac(M.MACS[("ha", access)]) + mac(src) + (b"\x86\xdd" if packet[0] >> 4 == 6 else b"\x08\x00") + packet


def bu_packet(bu: Any, coa: IPv6Address, hoa: IPv6Address) -> bytes:
    """RFC 6275 §11.7.1: IPv6{CoA -> HA} Destination Options{HAO = HoA} MH(BU), checksum over (HoA, HA)."""
    mh = encode_mh(bu, hoa, M.HA_ADDRESS)
    dest = encode_destination_options_header(135, (HomeAddressOption(hoa),))
    body = dest + mh
    return (bytes([0x60, 0, 0, 0]) + len(body).to_bytes(2, "big") + bytes([60, 64]) + coa.packed
            + M.HA_ADDRESS.packed + body)


class ForeignMn:
    """Another MN of the lab (mip_topology "mn2"): its own IPsec file and keys, so the ESP it
    seals is genuine; SAs are picked by SPI, the SPD is not asked (a misbehaving host)."""

    def __init__(self, lab: MipLab, side: str = "mn2") -> None:
        cfg = load_config(lab.out / f"ipsec-{side}.toml")
        self.path = CryptoPath(cfg.build_sad(0.0), cfg.spd)
        self.sas = {sa.spi: sa for sa in self.path.sad}

    def seal(self, packet: bytes, spi: int) -> bytes:
        r = self.path.process_outbound(packet, self.sas[spi].index, 0.0)
        assert isinstance(r, Protected), r
        return r.packet


def ipv4_in_ipv6(outer_src: IPv6Address, inner_src: IPv4Address, inner_dst: IPv4Address) -> bytes:
    """IPv6{outer_src -> HA} IPv4{inner_src -> inner_dst} ICMP echo (RFC 2473 with an IPv4 payload)."""
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.inet6 import IPv6
    return bytes(IPv6(src=str(outer_src), dst=str(M.HA_ADDRESS), nh=4)
                 / IP(src=str(inner_src), dst=str(inner_dst)) / ICMP(id=7, seq=1))


__all__ = ["COA", "targets", "mip_unavailable", "needs_pcaps", "make_mip_lab", "mn_running", "registered_at",
           "binding", "wait_replies", "to_switch", "bu_packet", "ForeignMn", "ipv4_in_ipv6"]
