"""Every P4 table, action, match field and enum value the controller writes.

Rule: names come from p4src (p4info), never numeric ids; this module is the
one place that spells them, so `check_names(p4info)` can prove they exist in
the compiled program and a rename in p4src fails one test, not the lab.
"""
from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Any

import finsy


class EncapKind(IntEnum):
    """p4src/include/define.p4 `EncapKind` (tunnel_terminations.encap_kind)."""

    IPV6_IN_IPV6 = 1
    IPV4_IN_IPV6 = 2
    IPV6_IN_IPV4 = 3
    IPV6_IN_UDP_IPV4 = 4  # RFC 5555 UDP 4191
    IPV4_IN_UDP_IPV4 = 5
    IPV4_IN_IPV4 = 6


class PuntReason(IntEnum):
    """p4src/include/define.p4 `PuntReason` (packet_in.punt_reason)."""

    MOBILITY_HEADER = 1
    MOBILITY_HEADER_UDP = 2
    MOBILITY_HEADER_DECRYPTED = 3
    ESP_SIGNALING = 4
    PUNT_RULE = 5
    PREFIX_SOLICITATION_DECRYPTED = 6  # ICMPv6 146 after the crypto path (RFC 3776 §5.2.3)


# table -> (match fields, actions)
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "local_addresses": (("dst_addr",), ("set_local",)),
    "routes": (("dst_addr",), ("set_next_hop",)),
    "punts": (("ingress_port", "ether_type", "dst_addr", "ip_proto", "icmp_type"), ("punt_to_controller",)),
    "tunnel_peers": (("tunnel_peer_id",), ("load_tunnel_peer_ipv6", "load_tunnel_peer_ipv4", "load_tunnel_peer_udp")),
    "tunnel_terminations": (("outer_src_addr", "outer_dst_addr", "encap_kind", "outer_src_port"),
                            ("decap_from_coa", "decap_from_lma")),
    # both point to members of binding_profile (PROFILES), whose actions these are
    "bindings": (("dst_addr",), ("set_binding_tunnel_ipv6", "set_binding_tunnel_ipv4", "set_binding_tunnel_udp",
                                 "set_multi_coa_binding", "set_binding_without_tunnel")),
    "uplink_sources": (("home_addr",), ("set_binding_tunnel_ipv6", "set_binding_tunnel_ipv4", "set_binding_tunnel_udp",
                                        "set_multi_coa_binding", "set_binding_without_tunnel")),
    "binding_coas": (("binding_id", "coa"), ("accept_coa",)),
    "pool_steering": (("home_addr",), ("steer_to_switch",)),  # pools another LMA switch serves
    "binding_peers": (("binding_id",), ("set_tunnel_peer",)),  # groups of binding_peer_selector
    "mag_uplinks": (("ingress_port", "src_addr"), ("tunnel_to_lma",)),
    "mag_downlinks": (("dst_addr",), ("forward_to_mn",)),
    "esp_sas": (("dst_addr", "spi"), ("to_crypto_port", "to_crypto_port_from_coa")),
    "outbound_policies": (("src_addr", "dst_addr", "ip_proto", "mh_type", "icmp_type"),
                          ("to_crypto_port", "bypass", "discard")),
}
# action profile -> the tables whose entries point to its members
PROFILES: dict[str, tuple[str, ...]] = {"binding_profile": ("bindings", "uplink_sources"),
                                        "binding_peer_selector": ("binding_peers",)}
COUNTERS = ("drop_counter", "binding_uplink_counter", "binding_downlink_counter")
PACKET_OUT = ("egress_port", "through_pipeline")
PACKET_IN = ("ingress_port", "punt_reason")

LMA_PROFILES = ("binding_profile", "binding_peer_selector")  # members the anchor owns
LMA_SELECTORS = ("binding_peer_selector",)  # groups it owns too (RFC 5648 per-flow CoA)
LMA_TABLES = ("local_addresses", "routes", "punts", "tunnel_peers", "tunnel_terminations", "bindings",
              "uplink_sources", "binding_coas", "binding_peers", "esp_sas", "outbound_policies", "pool_steering")
MAG_TABLES = ("local_addresses", "routes", "punts", "tunnel_peers", "tunnel_terminations",
              "mag_uplinks", "mag_downlinks", "esp_sas", "outbound_policies")


def check_names(schema: Any) -> list[str]:
    """Names used here that the P4Info (a finsy P4Schema) lacks; [] when all exist."""
    missing: list[str] = []
    for table, (fields, actions) in TABLES.items():
        try:
            t = schema.tables[table]
        except (KeyError, ValueError):
            missing.append(f"table {table}")
            continue
        for f in fields:
            try:
                t.match_fields[f]
            except (KeyError, ValueError):
                missing.append(f"{table}.{f}")
        for a in actions:
            try:
                t.actions[a]
            except (KeyError, ValueError):
                missing.append(f"{table}/{a}")
    for prof, tables in PROFILES.items():
        try:
            have = set(schema.action_profiles[prof].table_names)
        except (KeyError, ValueError):
            missing.append(f"action profile {prof}")
            continue
        missing += [f"{prof} -> {t}" for t in tables if t not in have]
    for c in COUNTERS:
        try:
            schema.counters[c]
        except (KeyError, ValueError):
            missing.append(f"counter {c}")
    for hdr, names in (("packet_out", PACKET_OUT), ("packet_in", PACKET_IN)):
        try:
            have = {m.name for m in schema.controller_packet_metadata[hdr].metadata}
        except (KeyError, ValueError):
            missing.append(f"controller header {hdr}")
            continue
        missing += [f"{hdr}.{n}" for n in names if n not in have]
    return missing


def profile_size(p4info: Any, profile: str) -> int | None:
    """The size of action profile ``profile`` in a P4Info file (or a finsy P4Schema);
    None when the file cannot be read or lacks it (the switch's P4Info is checked on connect)."""
    try:
        schema = p4info if isinstance(p4info, finsy.P4Schema) else finsy.P4Schema(Path(p4info))
        return int(schema.action_profiles[profile].size)
    except (OSError, ValueError, IndexError, KeyError):
        return None


__all__ = ["profile_size", "EncapKind", "PuntReason", "TABLES", "PROFILES", "COUNTERS", "LMA_TABLES", "LMA_PROFILES", "LMA_SELECTORS",
           "MAG_TABLES", "check_names"]
