"""Addresses of the test topology and scapy layers for our own headers.

Rule: expected frames are built here with scapy from the documented layouts
(docs/dataplane.md), never with project code.

Ports: 1 core (correspondent nodes), 2 access network A (CoA 1, IPv4 CoAs),
3 access network B (CoA 2), 4 MAG access link (mobile node), 254 crypto path.
"""

from __future__ import annotations

from scapy.fields import BitField, ByteField, IntField, ShortEnumField
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, bind_layers

from .lib import HOST_MAC, NEXT_HOP_MAC, SWITCH_MAC
from .p4consts import ETHERTYPE_CRYPTO_META

# ---- the node (LMA / HA) ----
LMA = "2001:db8:ffff::1"
LMA_V4 = "192.0.2.1"
# ---- correspondent nodes, behind port 1 ----
CN = "2001:db8:c0::10"
CN_PREFIX = "2001:db8:c0::/48"
CN_V4 = "198.51.100.10"
CN_V4_PREFIX = "198.51.100.0/24"
# ---- mobile node ----
HNP = "2001:db8:100::/64"
MN = "2001:db8:100::5"
HOA_V4 = "10.10.0.5"
# ---- care-of addresses ----
COA1 = "2001:db8:a::1"          # behind port 2
COA1_PREFIX = "2001:db8:a::/48"
COA2 = "2001:db8:b::1"          # behind port 3
COA2_PREFIX = "2001:db8:b::/48"
COA_V4 = "203.0.113.5"          # behind port 2 (a NAT's public address)
COA_V4_PREFIX = "203.0.113.0/24"
NAT_PORT = 40000
DSMIPV6_PORT = 4191
# ---- MAG role ----
MAG = "2001:db8:a::100"          # the MAG's Proxy-CoA (MAG tests)
MN_MAC = "02:00:00:00:00:55"


def flow_byte(sport: int, dport: int) -> int:
    """crypto_meta.flow of an ENCRYPT request (docs/dataplane.md): the TCP/UDP ports folded into 8 bits."""
    return (sport ^ (sport >> 8) ^ dport ^ (dport >> 8)) & 0xFF


class CryptoMeta(Packet):
    """The 10-byte header on frames to and from the crypto port."""

    name = "CryptoMeta"
    fields_desc = [
        IntField("sa_index", 0),
        ByteField("direction", 0),
        ByteField("flow", 0),  # docs/dataplane.md: ENCRYPT requests carry the packet's flow
        BitField("pad", 0, 7),
        BitField("port", 0, 9),
        ShortEnumField("type", 0x86DD, {0x0800: "IPv4", 0x86DD: "IPv6"}),
    ]


bind_layers(Ether, CryptoMeta, type=ETHERTYPE_CRYPTO_META)
bind_layers(CryptoMeta, IPv6, type=0x86DD)
bind_layers(CryptoMeta, IP, type=0x0800)


def eth_in() -> Ether:
    """Ethernet header of a frame a host sends to the switch."""
    return Ether(dst=SWITCH_MAC, src=HOST_MAC)


def eth_out(port: int) -> Ether:
    """Ethernet header of a frame the switch routes out of `port`."""
    return Ether(src=SWITCH_MAC, dst=NEXT_HOP_MAC[port])
