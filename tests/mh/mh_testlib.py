"""Helpers for the Mobility Header tests: packet building (independent of the
code under test: plain struct), a catalogue of sample messages, tshark runner."""
from __future__ import annotations

import json
import struct
import subprocess
from ipaddress import IPv4Address, IPv6Address

from p4mobility.lab.tools import find_tool
from p4mobility.mh import (
    AccessTechnologyType,
    AccessTechnologyTypeOption,
    AlternateCareofAddress,
    BaStatus,
    BindingAck,
    BindingAuthorizationData,
    BindingError,
    BindingIdentifier,
    BindingRefreshAdvice,
    BindingRefreshRequest,
    BindingUpdate,
    CareofTest,
    CareofTestInit,
    GreKey,
    HandoffIndicator,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    HomeTest,
    HomeTestInit,
    Ipv4AddressAcknowledgement,
    Ipv4CareofAddress,
    Ipv4HomeAddress,
    LinkLocalAddress,
    MnIdentifier,
    MnLinkLayerIdentifier,
    MobileNetworkPrefix,
    NatDetection,
    NonceIndices,
    Timestamp,
)

MAG = IPv6Address("2001:db8:aaaa::1")
LMA = IPv6Address("2001:db8:ffff::1")
HOA = IPv6Address("2001:db8:1::100")
HA = IPv6Address("2001:db8:1::1")
COA = IPv6Address("2001:db8:2::100")
TSHARK = find_tool("tshark")


def pbu(seq: int = 7) -> BindingUpdate:
    """A realistic RFC 5213 PBU: MN-ID, HNP, HI, ATT, Timestamp, LLA."""
    return BindingUpdate(
        sequence=seq, lifetime=900, ack=True, proxy=True,
        options=(
            MnIdentifier(b"mn1@example.com"),
            HomeNetworkPrefix(64, IPv6Address("2001:db8:1:2::")),
            HandoffIndicatorOption(HandoffIndicator.ATTACHMENT_OVER_NEW_INTERFACE),
            AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_11_ABG),
            Timestamp.from_seconds(1_700_000_000.5),
            LinkLocalAddress(IPv6Address("fe80::1")),
        ),
    )


def pba(seq: int = 7) -> BindingAck:
    return BindingAck(
        status=BaStatus.ACCEPTED, sequence=seq, lifetime=900, proxy=True,
        options=(
            MnIdentifier(b"mn1@example.com"),
            HomeNetworkPrefix(64, IPv6Address("2001:db8:1:2::")),
            HandoffIndicatorOption(HandoffIndicator.ATTACHMENT_OVER_NEW_INTERFACE),
            AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_11_ABG),
            Timestamp.from_seconds(1_700_000_000.5),
            LinkLocalAddress(IPv6Address("fe80::1")),
        ),
    )


def catalogue() -> list:
    """Every message type, and between them every option we encode."""
    return [
        BindingRefreshRequest(),
        HomeTestInit(bytes.fromhex("0102030405060708")),
        CareofTestInit(bytes.fromhex("1112131415161718")),
        HomeTest(0x1234, bytes.fromhex("0102030405060708"), bytes.fromhex("a1a2a3a4a5a6a7a8")),
        CareofTest(0x4321, bytes.fromhex("1112131415161718"), bytes.fromhex("b1b2b3b4b5b6b7b8")),
        pbu(),
        pba(),
        BindingUpdate(
            sequence=0xBEEF, lifetime=100, ack=True, home_registration=True, key_mgmt_compat=True,
            options=(
                AlternateCareofAddress(COA),
                NonceIndices(3, 4),
                BindingAuthorizationData(bytes(range(12))),
                BindingIdentifier(1, coa=COA),
                BindingIdentifier(2, h=True, coa=IPv4Address("192.0.2.7")),
                BindingIdentifier(3),
            ),
        ),
        BindingUpdate(
            sequence=5, lifetime=50, ack=True, home_registration=True, mobile_router=True,
            force_udp=True,
            options=(
                MobileNetworkPrefix(48, IPv6Address("2001:db8:77::")),
                Ipv4HomeAddress(32, True, IPv4Address("10.1.2.3")),
                Ipv4CareofAddress(IPv4Address("198.51.100.9")),
            ),
        ),
        BindingAck(
            status=BaStatus.ACCEPTED, sequence=5, lifetime=50, mobile_router=True,
            options=(
                BindingRefreshAdvice(25),
                Ipv4AddressAcknowledgement(0, 24, IPv4Address("10.1.2.3")),
                NatDetection(True, 110),
            ),
        ),
        BindingUpdate(
            sequence=9, lifetime=0, ack=True, proxy=True, tlv_header=True,
            options=(
                MnIdentifier(b"mn2@example.com"),
                MnLinkLayerIdentifier(bytes.fromhex("001122334455")),
                GreKey(0xDEADBEEF),
                Timestamp.from_seconds(1_700_000_100.25),
            ),
        ),
        BindingAck(status=BaStatus.MISSING_HANDOFF_INDICATOR_OPTION, sequence=9, lifetime=0,
                   key_mgmt_compat=True, proxy=True),
        BindingError(2, HOA),
    ]


def ipv6(src, dst, nh: int, payload: bytes, hlim: int = 64) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, hlim,
                       IPv6Address(src).packed, IPv6Address(dst).packed) + payload


def ipv4(src, dst, proto: int, payload: bytes) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                      IPv4Address(src).packed, IPv4Address(dst).packed)
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return hdr[:10] + struct.pack("!H", ~s & 0xFFFF) + hdr[12:] + payload


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload  # checksum 0: allowed in IPv4


def ether(payload: bytes, ethertype: int = 0x86DD) -> bytes:
    return bytes.fromhex("020000000002" "020000000001") + struct.pack("!H", ethertype) + payload


def tshark_json(pcap_path, *extra: str) -> list[dict]:
    out = subprocess.run([TSHARK, "-r", str(pcap_path), "-T", "json", "-o", "mip6.rfc5213:TRUE", *extra],
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)
