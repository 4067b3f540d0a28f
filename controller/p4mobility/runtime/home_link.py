"""The MAG's emulated home link towards one MN (RFC 5213 §6.7-§6.8), as frames.

Rule: pure frame builders. The MAG answers Neighbor Solicitations for its
link-local address (the same on every MAG, §6.8) with the same link-layer
address everywhere, and sends the core's Router Advertisements unicast on the
point-to-point access link. What to advertise is the core's decision.
"""
from __future__ import annotations

from ipaddress import IPv6Address

from p4mobility.nd import (
    NeighborAdvertisement,
    NeighborSolicitation,
    PrefixInformation,
    RouterAdvertisement,
    all_nodes_mac,
    encode_frame,
)
from p4mobility.nd.messages import ALL_NODES
from p4mobility.pmip.actions import SendRouterAdvertisement


def ra_frame(action: SendRouterAdvertisement, router_mac: bytes, mn_mac: bytes | None) -> bytes:
    ra = RouterAdvertisement(
        router_lifetime=action.router_lifetime,
        prefixes=tuple(PrefixInformation(p.prefix, p.valid_lifetime, p.preferred_lifetime, p.on_link,
                                         p.autonomous) for p in action.prefixes),
        source_ll=action.source_link_layer_address or router_mac)
    return encode_frame(ra, src_mac=router_mac, dst_mac=mn_mac or all_nodes_mac(),
                        src=action.source, dst=ALL_NODES)


def na_frame(ns: NeighborSolicitation, router_ll: IPv6Address, router_mac: bytes) -> bytes | None:
    """RFC 4861 §7.2.4: answer an NS for our link-local address; None otherwise."""
    if ns.target != router_ll:
        return None
    solicited = not ns.src.is_unspecified
    na = NeighborAdvertisement(target=router_ll, target_ll=router_mac, router=True, solicited=solicited,
                               override=True)
    dst = ns.src if solicited else ALL_NODES
    dst_mac = ns.src_mac if solicited else all_nodes_mac()
    return encode_frame(na, src_mac=router_mac, dst_mac=dst_mac, src=router_ll, dst=dst)


__all__ = ["ra_frame", "na_frame"]
