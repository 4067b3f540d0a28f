"""What a hostile MN2 sends the home agent, and what the HA put on access link A, read back
from the lab's capture (ha-acca.pcap).

Rule: a malformed BU is a good one (mip_states.bu_packet) with its MH bytes changed and its
lengths and checksum made to match again, so only the change is wrong. Reading is independent of the code under test's framing: an ESP Binding Acknowledgement is
opened with MN2's own inbound SA (the IPsec core with MN2's file, as mip_states.ForeignMn
seals) and decoded with our MH codec, and cross-checked with tshark (Wireshark's
dissectors, the lab's `esp_sa` file) where tshark is installed; an ICMPv6 Parameter
Problem is read with scapy and tshark (type, code, pointer, checksum, the invoking
packet). Each reader returns None while the frame is not (yet) in the capture.
"""
from __future__ import annotations

import subprocess
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from p4mobility.ipsec import Accepted
from p4mobility.lab import mip_topology as M
from p4mobility.lab.pcapcheck import MhRow, mh_rows
from p4mobility.mh import BindingAck, checksum
from p4mobility.mh.pcap import read_frames
from p4mobility.runtime.frames import FrameError, parse_mh_frame
from tests.tooling import tool_missing

from .mip_states import ForeignMn

SPI = {sa.name: sa.spi for mn in M.HOME_ADDRESSES for sa in M.mip_sas(mn)}


def mutate(packet: bytes, fn) -> bytes:
    """``packet`` (IPv6 + HAO + MH, bu_packet) with its MH changed by ``fn`` and the IPv6 Payload
    Length and MH checksum (over HoA, HA: RFC 6275 §6.1.1) made to match again."""
    at = 40 + (packet[41] + 1) * 8  # after the IPv6 header and the Destination Options header
    head, mh = bytearray(packet[:at]), bytearray(packet[at:])
    fn(mh)
    mh[4:6] = b"\0\0"
    mh[4:6] = checksum(M.MN2_HOME_ADDRESS, M.HA_ADDRESS, bytes(mh)).to_bytes(2, "big")
    head[4:6] = (len(head) - 40 + len(mh)).to_bytes(2, "big")
    return bytes(head + mh)


def past_packet(mh):
    mh[1] += 1  # Header Len announces 8 bytes more than the packet holds


def overrun(mh):
    mh += bytes([200, 30, 0, 0, 0, 0, 0, 0])  # an option whose Length runs past the message
    mh[1] += 1


def bad_checksum(packet: bytes) -> bytes:
    b = bytearray(packet)
    b[40 + (packet[41] + 1) * 8 + 4] ^= 0x5A  # the MH checksum
    return bytes(b)


def payload_proto(mh):
    mh[0] = 6  # RFC 6275 §6.1.1: Payload Proto must be 59


def bytes_past_header_len(mh):
    mh += bytes(8)  # 8 bytes more than Header Len announces


def short_fixed_part(mh):
    del mh[8:]
    mh[1] = 0  # a BU's fixed part needs 12 bytes: Header Len 0 is too short for the type


def _frames(lab) -> list[bytes]:
    with open(lab.out / "ha-acca.pcap", "rb") as f:
        return [fr.data for fr in read_frames(f)]


def ba_on_wire(lab, seq: int, to: IPv6Address) -> BindingAck | None:
    """The BA with Sequence Number ``seq`` the HA sent MN2 at ``to``, opened with MN2's SA."""
    mn2 = ForeignMn(lab)  # a fresh anti-replay window: the whole capture is read again
    spi = SPI["mn2-ba"].to_bytes(4, "big")
    for data in _frames(lab):
        ip = data[14:]
        if data[12:14] != b"\x86\xdd" or ip[24:40] != to.packed or spi not in ip[40:80]:
            continue
        r = mn2.path.process_inbound(ip, None, 0.0)
        if not isinstance(r, Accepted):
            continue
        try:
            msg, _, _ = parse_mh_frame(data[:14] + r.packet)
        except FrameError:
            continue
        if isinstance(msg, BindingAck) and msg.sequence == seq:
            return msg
    return None


def tshark_ba(lab, seq: int) -> MhRow | None:
    """tshark's row for the BA with ``seq`` on MN2's BA SA (tshark must be installed)."""
    rows = mh_rows(lab.out / "ha-acca.pcap", lab.out / "esp_sa")
    return next((r for r in rows if r.spi == SPI["mn2-ba"] and r.mh_type == 6 and r.seq == seq), None)


def icmp_on_wire(lab, invoking: bytes) -> bytes | None:
    """The ICMPv6 error frame from the HA that quotes ``invoking``."""
    for data in _frames(lab):
        ip = data[14:]
        if data[12:14] == b"\x86\xdd" and ip[6] == 58 and ip[8:24] == M.HA_ADDRESS.packed and ip[48:] == invoking:
            return data
    return None


def icmp_agrees(lab, name: str, raw: bytes, sent: bytes, to: IPv6Address, pointer: int) -> None:
    """RFC 4443 §3.4 as scapy (and tshark, where installed) read it: type 4 code 0, the pointer,
    the invoking packet whole, a checksum that verifies, from the HA to the sender."""
    from scapy.layers.inet6 import ICMPv6ParamProblem, IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap
    pkt = Ether(raw)
    pp = pkt[ICMPv6ParamProblem]
    assert (pp.type, pp.code, pp.ptr) == (4, 0, pointer)
    assert pkt[IPv6].src == str(M.HA_ADDRESS) and pkt[IPv6].dst == str(to)
    assert bytes(pp.payload) == sent  # the whole invoking IPv6 packet (it fits 1280)
    again = Ether(raw)
    del again[ICMPv6ParamProblem].cksum
    assert Ether(bytes(again))[ICMPv6ParamProblem].cksum == pp.cksum
    if tool_missing("tshark"):
        return
    pcap = Path(lab.out) / f"{name}.pcap"
    wrpcap(str(pcap), [pkt])
    res = subprocess.run(["tshark", "-n", "-r", str(pcap), "-T", "fields", "-e", "icmpv6.type", "-e", "icmpv6.code",
                          "-e", "icmpv6.pointer", "-e", "icmpv6.checksum.status"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    typ, code, ptr, status = (res.stdout.strip().split("\t") + [""] * 4)[:4]
    assert (int(typ), int(code), int(ptr)) == (4, 0, pointer) and status == "1"  # 1: the checksum is good


def no_wire(lab) -> Any:
    """Why the wire cannot be read here (no capture), or None."""
    return None if lab.pcap else (tool_missing("tcpdump") or "the lab captured nothing")


__all__ = ["SPI", "mutate", "past_packet", "overrun", "bad_checksum", "payload_proto", "bytes_past_header_len",
           "short_fixed_part", "ba_on_wire", "tshark_ba", "icmp_on_wire", "icmp_agrees", "no_wire"]
