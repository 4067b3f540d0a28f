"""Pool steering: several LMA switches behind one LMA address (docs/cluster.md).

A tunnelled uplink to the LMA address whose inner source lies in a pool another
switch serves leaves, still encapsulated, towards that switch (one entry per
pool, `pool_steering`); an inner source in none of the table's pools is
terminated here as before (RFC 5213 §5.6.2); a tunnel to an address that is
not local is routed as is."""

from __future__ import annotations

from finsy import P4TableAction, P4TableEntry, P4TableMatch
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .lib import SWITCH_MAC, key_addr
from .p4consts import EncapKind
from .packets import CN, CN_PREFIX, COA1, LMA, MN, eth_in, eth_out
from .test_tunnel_termination import setup_uplink

BODY = UDP(sport=1000, dport=2000) / Raw(b"steered" * 8)
OTHER_POOL = "2001:db8:200::/40"  # served by the other switch
OTHER_MN = "2001:db8:200:7::5"
OTHER_POOL_V4 = "10.20.0.0/16"
OTHER_MN_V4 = "10.20.0.9"
PEER_MAC = "02:00:00:00:5e:02"  # the other switch's port on the link between them
STEER_PORT = 3


def add_steering(dp, pool: str = OTHER_POOL) -> None:
    dp.insert(P4TableEntry("pool_steering", match=P4TableMatch({"home_addr": key_addr(pool)}),
                           action=P4TableAction("steer_to_switch", port=STEER_PORT, src_mac=SWITCH_MAC,
                                                dst_mac=PEER_MAC)))


def test_uplink_of_another_switchs_pool_leaves_encapsulated_towards_it(dp):
    setup_uplink(dp)
    add_steering(dp)
    inner = IPv6(src=OTHER_MN, dst=CN, hlim=40) / BODY
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA, hlim=50) / inner)
    dp.verify_packet(Ether(src=SWITCH_MAC, dst=PEER_MAC) / IPv6(src=COA1, dst=LMA, hlim=49) / inner, STEER_PORT)
    dp.verify_no_other_packets()


def test_ipv4_home_address_of_another_pool_steered(dp):
    setup_uplink(dp)
    add_steering(dp, OTHER_POOL_V4)
    inner = IP(src=OTHER_MN_V4, dst="192.0.2.7", ttl=30) / BODY
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA, hlim=50) / inner)
    dp.verify_packet(Ether(src=SWITCH_MAC, dst=PEER_MAC) / IPv6(src=COA1, dst=LMA, hlim=49) / inner, STEER_PORT)
    dp.verify_no_other_packets()


def test_uplink_of_own_pool_terminated_here(dp):
    setup_uplink(dp, kind=EncapKind.IPV6_IN_IPV6)
    add_steering(dp)
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA, hlim=50) / IPv6(src=MN, dst=CN, hlim=40) / BODY)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=39) / BODY, 1)
    dp.verify_no_other_packets()


def test_transit_tunnel_not_steered(dp):
    add_steering(dp)
    dp.add_route(CN_PREFIX, 1)
    inner = IPv6(src=OTHER_MN, dst=CN, hlim=40) / BODY
    dp.send(2, eth_in() / IPv6(src=COA1, dst=CN, hlim=50) / inner)
    dp.verify_packet(eth_out(1) / IPv6(src=COA1, dst=CN, hlim=49) / inner, 1)
    dp.verify_no_other_packets()
