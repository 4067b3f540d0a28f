"""Hostile input: truncated headers are parser errors, dropped and counted;
IPv4 options and bad IPv4 checksums are dropped by rule; nothing is mangled."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from .p4consts import DropReason, EncapKind
from .packets import CN, CN_V4, CN_V4_PREFIX, COA1, COA_V4, HNP, LMA, LMA_V4, MN, eth_in

TRUNCATED = {
    "ipv6_header": lambda: bytes(eth_in() / IPv6(src=MN, dst=CN))[:14 + 20],
    "ipv4_header": lambda: bytes(eth_in() / IP(src="10.0.0.1", dst=CN_V4))[:14 + 12],
    "esp": lambda: bytes(eth_in() / IPv6(src=COA1, dst=LMA, nh=50) / Raw(b"\x00\x00\x30")),
    "mobility_header": lambda: bytes(eth_in() / IPv6(src=COA1, dst=LMA, nh=135) / Raw(b"\x3b")),
    "inner_ipv6": lambda: bytes(eth_in() / IPv6(src=COA1, dst=LMA) / IPv6(src=MN, dst=CN))[:-10],
    "udp_4191_payload": lambda: bytes(eth_in() / IP(src=COA_V4, dst=LMA_V4)
                                      / UDP(sport=4000, dport=4191)),
    "type2_routing_header": lambda: bytes(
        eth_in() / IPv6(src=LMA, dst=COA1, nh=43) / Raw(bytes([135, 2, 2, 1, 0, 0, 0, 0])))
}


def setup_everything(dp):
    """Entries that would forward each packet were it parsed."""
    dp.add_local_address(LMA)
    dp.add_local_address(LMA_V4)
    dp.add_route("::/0", 1)
    dp.add_route("0.0.0.0/0", 1)
    dp.add_tunnel_termination(COA1, LMA, EncapKind.IPV6_IN_IPV6)
    dp.add_binding(HNP, 1, LMA, COA1)


@pytest.mark.parametrize("what", sorted(TRUNCATED))
def test_truncated_header_dropped_and_counted(dp, what):
    setup_everything(dp)
    before = dp.drops(DropReason.PARSER_ERROR)
    dp.send(2, TRUNCATED[what]())
    assert dp.wait_drop(DropReason.PARSER_ERROR, before) == before + 1
    dp.verify_no_packet_in()
    dp.verify_no_other_packets()


def test_rfc791_ipv4_options_dropped_by_rule(dp):
    dp.add_route(CN_V4_PREFIX, 1)
    before = dp.drops(DropReason.IPV4_OPTIONS)
    dp.send(2, eth_in() / IP(src="10.0.0.1", dst=CN_V4, options=[b"\x01\x01\x01\x00"])
            / UDP() / Raw(b"x" * 20))
    assert dp.wait_drop(DropReason.IPV4_OPTIONS, before) == before + 1
    dp.verify_no_other_packets()


def test_rfc791_bad_ipv4_checksum_dropped(dp):
    dp.add_route(CN_V4_PREFIX, 1)
    before = dp.drops(DropReason.IPV4_CHECKSUM)
    dp.send(2, eth_in() / IP(src="10.0.0.1", dst=CN_V4, chksum=0x1234) / UDP() / Raw(b"x" * 20))
    assert dp.wait_drop(DropReason.IPV4_CHECKSUM, before) == before + 1
    dp.verify_no_other_packets()

