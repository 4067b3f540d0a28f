"""Neighbor Discovery (RFC 4861) for the MAG's emulated home link (RFC 5213 §6.7-§6.8).

Pure encode/decode of the few ICMPv6 messages a MAG needs: it reads Router and
Neighbor Solicitations punted by the switch and answers with Router and
Neighbor Advertisements sent as packet-out. No sockets here.
"""
from p4mobility.nd.messages import (
    NdDecodeError,
    NeighborAdvertisement,
    NeighborSolicitation,
    PrefixInformation,
    RouterAdvertisement,
    RouterSolicitation,
    all_nodes_mac,
    decode_frame,
    encode_frame,
    link_local_from_mac,
    solicited_node,
)

__all__ = [
    "NdDecodeError",
    "NeighborAdvertisement",
    "NeighborSolicitation",
    "PrefixInformation",
    "RouterAdvertisement",
    "RouterSolicitation",
    "all_nodes_mac",
    "decode_frame",
    "encode_frame",
    "link_local_from_mac",
    "solicited_node",
]
