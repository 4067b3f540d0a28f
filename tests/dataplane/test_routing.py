"""Plain routing (IPv6 / IPv4 LPM to port and next-hop MAC), hop limits,
and packets the parser does not understand: forwarded by rule, never mangled."""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from .p4consts import DropReason
from .packets import CN, CN_PREFIX, CN_V4, CN_V4_PREFIX, MN, eth_in, eth_out

PAYLOAD = Raw(b"p4mobility" * 4)


def test_rfc8200_ipv6_route_decrements_hop_limit(dp):
    dp.add_route(CN_PREFIX, 1)
    dp.add_route("::/0", 3)
    dp.send(2, eth_in() / IPv6(src=MN, dst=CN, hlim=64) / UDP(sport=1, dport=2) / PAYLOAD)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=63) / UDP(sport=1, dport=2)
                     / PAYLOAD, 1)
    dp.verify_no_other_packets()


def test_rfc791_ipv4_route_decrements_ttl_and_fixes_checksum(dp):
    dp.add_route(CN_V4_PREFIX, 1)
    sent = IP(src="10.0.0.1", dst=CN_V4, ttl=9, id=7) / UDP(sport=1, dport=2) / PAYLOAD
    dp.send(2, eth_in() / sent)
    expected = IP(bytes(sent))
    expected.ttl = 8
    del expected.chksum  # scapy recomputes
    dp.verify_packet(eth_out(1) / expected, 1)
    dp.verify_no_other_packets()


def test_longest_prefix_wins(dp):
    dp.add_route("2001:db8::/32", 3)
    dp.add_route(CN_PREFIX, 1)
    dp.send(2, eth_in() / IPv6(src=MN, dst=CN) / PAYLOAD)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=63) / PAYLOAD, 1)
    dp.verify_no_other_packets()


def test_no_route_dropped_and_counted(dp):
    before = dp.drops(DropReason.NO_ROUTE)
    dp.send(2, eth_in() / IPv6(src=MN, dst=CN) / PAYLOAD)
    assert dp.wait_drop(DropReason.NO_ROUTE, before) == before + 1
    dp.verify_no_other_packets()


def test_rfc8200_hop_limit_1_dropped_and_counted(dp):
    dp.add_route(CN_PREFIX, 1)
    before = dp.drops(DropReason.HOP_LIMIT_EXCEEDED)
    dp.send(2, eth_in() / IPv6(src=MN, dst=CN, hlim=1) / PAYLOAD)
    assert dp.wait_drop(DropReason.HOP_LIMIT_EXCEEDED, before) == before + 1
    dp.verify_no_other_packets()


def test_unparsed_extension_headers_forwarded_unmangled(dp):
    """Hop-by-Hop and Fragment headers are not parsed: only the hop limit changes."""
    dp.add_route(CN_PREFIX, 1)
    for ext in (IPv6ExtHdrHopByHop(), IPv6ExtHdrFragment(id=5, m=1)):
        body = ext / UDP(sport=3, dport=4) / PAYLOAD
        dp.send(2, eth_in() / IPv6(src=MN, dst=CN, hlim=30) / body)
        dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=29) / body, 1)
    dp.verify_no_other_packets()


def test_non_ip_dropped_unless_a_rule_punts_it(dp):
    dp.add_route("::/0", 1)
    before = dp.drops(DropReason.NO_ROUTE)
    dp.send(2, Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:99:99") / ARP(pdst="192.0.2.1"))
    assert dp.wait_drop(DropReason.NO_ROUTE, before) == before + 1
    dp.verify_no_other_packets()
