"""Core facts -> P4Runtime table entries (the only translation there is).

Rule: pure functions. `lma_changes(action)` / `mag_changes(action, ...)` turn
one core action (pmip/actions.py) into keyed changes `(key, entry | None)`
where None deletes the entry at `key`; `*_base_entries` give the entries a
node needs before any binding (local address, routes, punt rules). The key is
(table, match) so apply.py can diff desired against installed state and a
handover is one MODIFY of the binding's entry (its tunnel peer id). Entries
use table/action/field names from p4rt/names.py, never ids.
Binding ids: LMA uses the core's binding id; the MAG uses the access port
(one MN per point-to-point access link, RFC 5213 §6.9.1.1).
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Any, Iterable

from finsy import P4TableAction, P4TableEntry, P4TableMatch

from p4mobility.addrtext import addr_text
from p4mobility.binding import Path, Transport
from p4mobility.pmip.actions import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    MagBindingInstalled,
    MagBindingRemoved,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)

from .names import EncapKind

Key = tuple[str, tuple[tuple[str, str], ...]]
IPNetwork = IPv4Network | IPv6Network
Change = tuple[Key, "P4TableEntry | None"]
DROP_TUNNEL_PEER = 0  # no tunnel_peers entry: drop_unknown_tunnel_peer (RFC 5213 §5.3.5)
ETHERTYPE_IPV6 = 0x86DD
ICMPV6 = 58
ND_PUNTS = (133, 135)  # Router / Neighbor Solicitation from an MN (RFC 5213 §6.7-§6.8)
ND_PUNT_PRIORITY = 10
ATTACH_PUNT_PRIORITY = 1  # below the ND rules


@dataclass(frozen=True, slots=True)
class Route:
    """Plain route: prefix -> port, rewriting MACs to ``src_mac``/``dst_mac``."""

    prefix: IPv6Network
    port: int
    src_mac: str
    dst_mac: str


def mac_str(mac: bytes | str) -> str:
    if isinstance(mac, str):
        return mac.lower()
    return ":".join(f"{b:02x}" for b in mac)


def key_of(table: str, match: dict[str, Any], priority: int = 0) -> Key:
    return table, tuple(sorted((k, str(v)) for k, v in match.items())) + ((("priority", str(priority)),)
                                                                          if priority else ())


def _entry(table: str, match: dict[str, Any], action: str, priority: int = 0, **params: Any) -> Change:
    ent = P4TableEntry(table, match=P4TableMatch(match), action=P4TableAction(action, **params),
                       priority=priority)
    return key_of(table, match, priority), ent


def _delete(table: str, match: dict[str, Any], priority: int = 0) -> Change:
    return key_of(table, match, priority), None


# --- base entries -------------------------------------------------------------------

def lma_base_entries(lma_address: IPv6Address, routes: Iterable[Route]) -> list[Change]:
    out = [_entry("local_addresses", {"dst_addr": addr_text(lma_address)}, "set_local")]
    out += [_route(r) for r in routes]
    return out


def mag_base_entries(proxy_coa: IPv6Address, routes: Iterable[Route], access_ports: Iterable[int]) -> list[Change]:
    out = [_entry("local_addresses", {"dst_addr": addr_text(proxy_coa)}, "set_local")]
    out += [_route(r) for r in routes]
    for port in access_ports:  # RS and NS from MNs reach the controller
        for icmp_type in ND_PUNTS:
            out.append(_entry("punts", {"ingress_port": port, "ether_type": ETHERTYPE_IPV6,
                                        "ip_proto": ICMPV6, "icmp_type": icmp_type},
                              "punt_to_controller", priority=ND_PUNT_PRIORITY))
        out.append(attach_punt(port))
    return out


def attach_punt(port: int, present: bool = True) -> Change:
    """RFC 5213 §6.9.1.1: while no MN is served on ``port`` every frame from it
    goes to the controller, so the first packet of an MN arriving by a link-layer
    handoff (no RS) triggers the attach; removed once forwarding is installed."""
    match = {"ingress_port": port}
    if not present:
        return _delete("punts", match, ATTACH_PUNT_PRIORITY)
    return _entry("punts", match, "punt_to_controller", priority=ATTACH_PUNT_PRIORITY)


def _route(r: Route) -> Change:
    return _entry("routes", {"dst_addr": addr_text(r.prefix)}, "set_next_hop",
                  port=r.port, src_mac=mac_str(r.src_mac), dst_mac=mac_str(r.dst_mac))


# --- tunnel peers (every role) -----------------------------------------------------

# what a peer's transport terminates: (IPv6 inside, IPv4 inside) (p4src EncapKind)
_TERMINATES = {
    Transport.IPV6: (EncapKind.IPV6_IN_IPV6, EncapKind.IPV4_IN_IPV6),  # RFC 2473
    Transport.IPV4: (EncapKind.IPV6_IN_IPV4, EncapKind.IPV4_IN_IPV4),  # RFC 4213 §3.5, RFC 2003
    Transport.UDP_IPV4: (EncapKind.IPV6_IN_UDP_IPV4, EncapKind.IPV4_IN_UDP_IPV4),  # RFC 5555 §4.1
}


def _peer_entry(a: TunnelPeerAdded) -> Change:
    e = a.endpoints
    match = {"tunnel_peer_id": a.tunnel_peer_id}
    if e.transport is Transport.IPV6:
        return _entry("tunnel_peers", match, "load_tunnel_peer_ipv6", src_addr=addr_text(e.local),
                      dst_addr=addr_text(e.remote))
    if e.transport is Transport.IPV4:
        return _entry("tunnel_peers", match, "load_tunnel_peer_ipv4", src_addr=str(e.local), dst_addr=str(e.remote))
    return _entry("tunnel_peers", match, "load_tunnel_peer_udp", src_addr=str(e.local), dst_addr=str(e.remote),
                  src_port=e.local_port, dst_port=e.remote_port)


def _terminations(a: TunnelPeerAdded | TunnelPeerRemoved) -> list[dict[str, Any]]:
    """Tunnel terminations of a peer: its outer (remote -> local) for IPv6 inside, and
    IPv4 inside when the peer carries IPv4 home addresses (RFC 5555)."""
    v6, v4 = _TERMINATES[a.endpoints.transport]
    kinds = (v6, v4) if a.inner_ipv4 else (v6,)
    src, dst = table_addr(a.endpoints.remote), table_addr(a.endpoints.local)
    return [{"outer_src_addr": src, "outer_dst_addr": dst, "encap_kind": int(k)} for k in kinds]


def _peer_added(a: TunnelPeerAdded, decap_action: str) -> list[Change]:
    # RFC 5213 §5.6.1 / §6.10.4, RFC 6275 §10.4.1: one bidirectional tunnel per peer
    return [_peer_entry(a)] + [_entry("tunnel_terminations", m, decap_action) for m in _terminations(a)]


def _peer_removed(a: TunnelPeerRemoved) -> list[Change]:
    return [_delete("tunnel_peers", {"tunnel_peer_id": a.tunnel_peer_id})] + [
        _delete("tunnel_terminations", m) for m in _terminations(a)]


# --- LMA ----------------------------------------------------------------------------

def _binding(bid: int, hnp: IPNetwork, paths: tuple[Path, ...]) -> Change:
    if len(paths) != 1:  # several CoAs: the selector group of binding_peers (multi_coa_entries)
        return _entry("bindings", {"dst_addr": table_addr(hnp)}, "set_multi_coa_binding", binding_id=bid)
    return _entry("bindings", {"dst_addr": table_addr(hnp)}, "set_binding", binding_id=bid,
                  tunnel_peer_id=paths[0].tunnel_peer_id)


def _no_forwarding(bid: int, hnp: IPNetwork) -> Change:
    return _entry("bindings", {"dst_addr": table_addr(hnp)}, "set_binding", binding_id=bid,
                  tunnel_peer_id=DROP_TUNNEL_PEER)


def _uplink_match(coa: Any, hnp: IPNetwork) -> dict[str, Any]:
    return {"coa": table_addr(coa), "home_addr": table_addr(hnp)}


def _uplinks(bid: int, paths: tuple[Path, ...], hnps: tuple[IPNetwork, ...]) -> list[Change]:
    # RFC 5213 §5.6.2 / RFC 5648: reverse-tunnelled packets only from a CoA of the binding
    return [_entry("uplink_sources", _uplink_match(p.coa, n), "accept_uplink", binding_id=bid)
            for p in paths for n in hnps]


def _no_uplinks(paths: tuple[Path, ...], hnps: tuple[IPNetwork, ...], keep: tuple[Path, ...] = ()) -> list[Change]:
    kept = {p.coa for p in keep}
    return [_delete("uplink_sources", _uplink_match(p.coa, n)) for p in paths if p.coa not in kept for n in hnps]


BUFFER_PUNT_PRIORITY = 20


def buffer_punt(hnp: IPNetwork, present: bool = True) -> Change:
    """Downlink to a de-registering binding's HNP goes to the controller, which
    holds it until the MN's next registration (issue: buffer at the LMA between
    de-registration and the new binding, like SD-Fabric's DBUF)."""
    match = {"dst_addr": table_addr(hnp)}
    if not present:
        return _delete("punts", match, BUFFER_PUNT_PRIORITY)
    return _entry("punts", match, "punt_to_controller", priority=BUFFER_PUNT_PRIORITY)


def lma_changes(a: Any) -> list[Change]:
    """Entries for one anchor (LMA, home agent) action; [] for actions that touch no table."""
    if isinstance(a, TunnelPeerAdded):
        return _peer_added(a, "decap_from_coa")
    if isinstance(a, TunnelPeerRemoved):
        return _peer_removed(a)
    if isinstance(a, BindingCreated) or (isinstance(a, BindingUpdated) and a.reactivated):
        out = [_binding(a.binding_id, n, a.paths) for n in a.home_prefixes]
        out += [buffer_punt(n, present=False) for n in a.home_prefixes]
        return out + _uplinks(a.binding_id, a.paths, a.home_prefixes)
    if isinstance(a, BindingMoved):  # §5.3.4: the binding's one entry names the new peer
        out = [_binding(a.binding_id, n, a.paths) for n in a.home_prefixes]
        out += [buffer_punt(n, present=False) for n in a.home_prefixes]
        out += _no_uplinks(a.old_paths, a.home_prefixes, keep=a.paths)
        return out + _uplinks(a.binding_id, a.paths, a.home_prefixes)
    if isinstance(a, BindingDeregistered):  # §5.3.5: keep the BCE, no traffic to the old MAG
        out = [_no_forwarding(a.binding_id, n) for n in a.home_prefixes]
        out += [buffer_punt(n) for n in a.home_prefixes]
        return out + _no_uplinks(a.paths, a.home_prefixes)
    if isinstance(a, BindingDeleted):
        out = [_delete("bindings", {"dst_addr": table_addr(n)}) for n in a.home_prefixes]
        out += [buffer_punt(n, present=False) for n in a.home_prefixes]
        return out + _no_uplinks(a.paths, a.home_prefixes)
    return []


# --- MAG ----------------------------------------------------------------------------

def mag_changes(a: Any, router_mac: str) -> list[Change]:
    """Entries for one MAG core action. ``router_mac`` is the MAG's access-link
    MAC (the same on every MAG, RFC 5213 §6.8); the MN's MAC is its MN-LL-ID."""
    if isinstance(a, TunnelPeerAdded):
        return _peer_added(a, "decap_from_lma")
    if isinstance(a, TunnelPeerRemoved):
        return _peer_removed(a)
    if isinstance(a, MagBindingInstalled):
        if not a.mn_ll_id or len(a.mn_ll_id) != 6:
            raise ValueError("MagBindingInstalled needs the MN's MAC as MN-LL-ID")
        out: list[Change] = [attach_punt(a.access_port, present=False)]
        for n in a.hnps:  # §6.10.5: uplink by access port + source prefix into the tunnel
            out.append(_entry("mag_uplinks", {"ingress_port": a.access_port, "src_addr": addr_text(n)},
                              "tunnel_to_lma", binding_id=a.access_port, tunnel_peer_id=a.tunnel_peer_id))
            out.append(_entry("mag_downlinks", {"dst_addr": addr_text(n)}, "forward_to_mn",
                              binding_id=a.access_port, port=a.access_port,
                              src_mac=mac_str(router_mac), dst_mac=mac_str(a.mn_ll_id)))
        return out
    if isinstance(a, MagBindingRemoved):
        out = [attach_punt(a.access_port)]
        for n in a.hnps:
            out.append(_delete("mag_uplinks", {"ingress_port": a.access_port, "src_addr": addr_text(n)}))
            out.append(_delete("mag_downlinks", {"dst_addr": addr_text(n)}))
        return out
    return []


# --- IPsec (both roles) -------------------------------------------------------------

def table_addr(v: Any) -> str:
    """Table key text of an address or prefix value: IPv6 as is, IPv4 as IPv4-mapped
    (p4src define.p4 l3_addr_t; docs/dataplane.md)."""
    t = type(v)
    if t is IPv6Address or t is IPv6Network:
        return addr_text(v)
    if t is IPv4Address:
        return f"::ffff:{v}"
    if t is IPv4Network:
        return f"::ffff:{v.network_address}/{96 + v.prefixlen}"
    return key_address(str(v))


def key_address(addr: str) -> str:
    """Table key form of an address or prefix: IPv4 as IPv4-mapped (dataplane.md)."""
    net = ip_network(addr, strict=False)
    if net.version == 4:
        return f"::ffff:{net.network_address}/{96 + net.prefixlen}"
    return str(net) if net.prefixlen < 128 else str(net.network_address)


def ipsec_entries(sad: Any, spd: Any) -> list[Change]:
    """The switch half of one IPsec configuration (the crypto path holds the other).

    Inbound SAs -> `esp_sas` (dst, SPI) -> `to_crypto_port(sa_index)` (RFC 4303
    §3.4.2; no entry: the switch drops and counts UNKNOWN_SPI). Outbound SPD
    entries, in order, -> `outbound_policies` with falling priorities (RFC 4301
    §4.4.1 first match): PROTECT -> `to_crypto_port` of the SA its template
    names (§5.1), BYPASS, DISCARD. Selectors the switch cannot express (ports,
    ICMP type/code) are refused, never widened. ``sad`` numbers SAs exactly as
    the crypto path does (`IpsecConfig.build_sad`), so the two cannot disagree.
    """
    from p4mobility.ipsec.errors import IpsecConfigError, IpsecError
    from p4mobility.ipsec.spd import Action, Dir

    out: list[Change] = []
    for sa in sad:
        if sa.dir == Dir.IN:
            out.append(_entry("esp_sas", {"dst_addr": key_address(sa.dst), "spi": sa.spi}, "to_crypto_port",
                              sa_index=sa.index))
    policies = [(i, p) for i, p in enumerate(spd.entries) if p.dir == Dir.OUT]
    for rank, (i, p) in enumerate(policies):
        where = f"policy[{i}]"
        sel = p.selector
        if sel.local_ports or sel.remote_ports or sel.icmp_type is not None or sel.icmp_code is not None:
            raise IpsecConfigError(where, "the switch SPD (outbound_policies) has no port or ICMP selectors")
        match: dict[str, Any] = {}
        if sel.local is not None:  # outbound: local = source (RFC 4301 §4.4.1.1)
            match["src_addr"] = key_address(str(sel.local))
        if sel.remote is not None:
            match["dst_addr"] = key_address(str(sel.remote))
        if sel.proto is not None:
            match["ip_proto"] = (int(sel.proto), 0xFF)
            if sel.local_mh_type is not None:
                match["mh_type"] = (int(sel.local_mh_type), 0xFF)
        priority = len(policies) - rank
        if p.action == Action.PROTECT:
            try:
                sa = sad.lookup_outbound(p.tmpl)
            except IpsecError as exc:
                raise IpsecConfigError(f"{where}.tmpl", str(exc)) from None
            out.append(_entry("outbound_policies", match, "to_crypto_port", priority, sa_index=sa.index))
        else:
            out.append(_entry("outbound_policies", match, "bypass" if p.action == Action.BYPASS else "discard",
                              priority))
    return out


__all__ = ["Key", "Change", "Route", "DROP_TUNNEL_PEER", "key_of", "mac_str", "lma_base_entries",
           "mag_base_entries", "lma_changes", "table_addr", "mag_changes", "attach_punt", "buffer_punt", "ipsec_entries",
           "key_address"]
