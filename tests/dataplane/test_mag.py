"""MAG role (RFC 5213 §6): uplink from an MN's access port and source prefix
goes into the tunnel to its LMA; downlink from the tunnel goes to the MN's
access port with the MN's MAC."""

from __future__ import annotations

from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .lib import SWITCH_MAC
from .p4consts import EncapKind
from .packets import CN, CN_PREFIX, HNP, LMA, MAG, MN, MN_MAC, eth_in, eth_out

BODY = UDP(sport=7, dport=8) / Raw(b"mag" * 20)
BINDING = 41
LMA_PREFIX = "2001:db8:ffff::/48"


def setup_mag(dp):
    dp.add_local_address(MAG)
    dp.add_route(LMA_PREFIX, 2)
    dp.add_route(CN_PREFIX, 1)
    dp.add_tunnel_peer(5, MAG, LMA)
    dp.add_mag_uplink(4, HNP, BINDING, 5)
    dp.add_tunnel_termination(LMA, MAG, EncapKind.IPV6_IN_IPV6, from_lma=True)
    dp.add_mag_downlink(HNP, BINDING, 4, MN_MAC)


def test_rfc5213_6_10_5_uplink_from_access_port_tunnelled_to_lma(dp):
    setup_mag(dp)
    dp.send(4, eth_in() / IPv6(src=MN, dst=CN, hlim=64) / BODY)
    dp.verify_packet(eth_out(2) / IPv6(src=MAG, dst=LMA, hlim=64)
                     / IPv6(src=MN, dst=CN, hlim=63) / BODY, 2)
    dp.verify_no_other_packets()


def test_rfc5213_6_10_5_other_port_or_prefix_not_tunnelled(dp):
    setup_mag(dp)
    dp.send(3, eth_in() / IPv6(src=MN, dst=CN, hlim=64) / BODY)      # wrong port
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=63) / BODY, 1)
    other = "2001:db8:777::1"
    dp.send(4, eth_in() / IPv6(src=other, dst=CN, hlim=64) / BODY)   # wrong prefix
    dp.verify_packet(eth_out(1) / IPv6(src=other, dst=CN, hlim=63) / BODY, 1)
    dp.verify_no_other_packets()


def test_rfc5213_6_10_5_downlink_from_lma_to_mn_access_port(dp):
    setup_mag(dp)
    dp.send(2, eth_in() / IPv6(src=LMA, dst=MAG, hlim=60) / IPv6(src=CN, dst=MN, hlim=50) / BODY)
    dp.verify_packet(Ether(src=SWITCH_MAC, dst=MN_MAC) / IPv6(src=CN, dst=MN, hlim=49) / BODY, 4)
    dp.verify_no_other_packets()


def test_mag_counts_both_directions_per_binding(dp):
    setup_mag(dp)
    up0 = dp.counter("binding_uplink_counter", BINDING)[0]
    down0 = dp.counter("binding_downlink_counter", BINDING)[0]
    dp.send(4, eth_in() / IPv6(src=MN, dst=CN) / BODY)
    dp.verify_packet(eth_out(2) / IPv6(src=MAG, dst=LMA, hlim=64)
                     / IPv6(src=MN, dst=CN, hlim=63) / BODY, 2)
    dp.send(2, eth_in() / IPv6(src=LMA, dst=MAG) / IPv6(src=CN, dst=MN, hlim=50) / BODY)
    dp.verify_packet(Ether(src=SWITCH_MAC, dst=MN_MAC) / IPv6(src=CN, dst=MN, hlim=49) / BODY, 4)
    assert dp.counter("binding_uplink_counter", BINDING)[0] == up0 + 1
    assert dp.counter("binding_downlink_counter", BINDING)[0] == down0 + 1
