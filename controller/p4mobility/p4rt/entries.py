"""Core facts -> P4Runtime table entries (the only translation there is).

Rule: pure functions. `lma_changes(action)` / `mag_changes(action, ...)` turn
one core action (pmip/actions.py) into keyed changes `(key, entry | None)`
where None deletes the entry at `key`; `*_base_entries` give the entries a
node needs before any binding (local address, routes, punt rules). The key is
(table, match), or (action profile, member id) for a member, so apply.py can
diff desired against installed state. Anchor (LMA, home agent): a binding is
one member of `binding_profile` (its tunnel, from its one path; or "several
CoAs", RFC 5648; or none) that its home prefixes' `bindings` and
`uplink_sources` entries point to, so a handover and a de-registration are
one MODIFY of that member (docs/dataplane.md, One member per binding); the
CoAs of a binding with several are its `binding_coas`. Entries use
table/action/field names from p4rt/names.py, never ids.
Binding ids: the anchor uses the core's binding id, also its member id; the
MAG uses the access port (one MN per point-to-point access link, RFC 5213 §6.9.1.1).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Any, Iterable

from finsy import (
    P4ActionProfileGroup,
    P4ActionProfileMember,
    P4IndirectAction,
    P4Member,
    P4TableAction,
    P4TableEntry,
    P4TableMatch,
)

from p4mobility.addrtext import addr_text
from p4mobility.binding import Path, Transport, TunnelEndpoints
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
Change = tuple[Key, "P4TableEntry | P4ActionProfileMember | P4ActionProfileGroup | None"]
BINDING_PROFILE = "binding_profile"
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
    IPv4 inside when the peer carries IPv4 home addresses (RFC 5555); over UDP the
    remote's source port too, so MNs behind one NAT address (or one MN whose NAT
    mapping changed) each have their own (RFC 5555 §4.1); 0 for the other kinds."""
    v6, v4 = _TERMINATES[a.endpoints.transport]
    kinds = (v6, v4) if a.inner_ipv4 else (v6,)
    src, dst = table_addr(a.endpoints.remote), table_addr(a.endpoints.local)
    return [{"outer_src_addr": src, "outer_dst_addr": dst, "encap_kind": int(k),
             "outer_src_port": a.endpoints.remote_port} for k in kinds]


def _peer_added(a: TunnelPeerAdded, decap_action: str) -> list[Change]:
    # RFC 5213 §5.6.1 / §6.10.4, RFC 6275 §10.4.1: one bidirectional tunnel per peer
    return [_peer_entry(a)] + [_entry("tunnel_terminations", m, decap_action) for m in _terminations(a)]


def _peer_removed(a: TunnelPeerRemoved) -> list[Change]:
    return [_delete("tunnel_peers", {"tunnel_peer_id": a.tunnel_peer_id})] + [
        _delete("tunnel_terminations", m) for m in _terminations(a)]


# --- RFC 5648: a binding with several CoAs picks one per flow (binding_peers) ---------------

PEER_SELECTOR = "binding_peer_selector"


MAX_GROUP_MEMBERS = 16  # CoAs of one binding the selector spreads flows over


def selector_member_key(member_id: int) -> Key:
    return PEER_SELECTOR, (("member_id", str(member_id)),)


def selector_group_key(binding_id: int) -> Key:
    return PEER_SELECTOR, (("group_id", str(binding_id)),)


def _selector_member_id(bid: int, i: int) -> int:
    return (bid << 4) | i  # the binding's i-th CoA (i < MAX_GROUP_MEMBERS)


def _selector(bid: int, paths: tuple[Path, ...], old: tuple[Path, ...] = ()) -> list[Change]:
    """Several paths: one selector member per path (the binding's own, ids from its
    binding id), group ``bid`` over them and the binding_peers entry naming it; fewer
    than two: none of these (deleting what is not there changes nothing). Single-CoA
    bindings (all of PMIPv6) write nothing here."""
    n = len(paths) if len(paths) > 1 else 0
    was = len(old) if len(old) > 1 else 0
    if n > MAX_GROUP_MEMBERS:
        raise ValueError(f"binding {bid}: {n} care-of addresses, the selector takes {MAX_GROUP_MEMBERS}")
    out: list[Change] = []
    ids = [_selector_member_id(bid, i) for i in range(n)]
    for i, p in enumerate(sorted(paths, key=lambda p: p.bid)[:n]):
        out.append((selector_member_key(ids[i]), P4ActionProfileMember(
            PEER_SELECTOR, member_id=ids[i], action=P4TableAction("set_tunnel_peer", tunnel_peer_id=p.tunnel_peer_id))))
    entry_key = key_of("binding_peers", {"binding_id": bid})
    if n:
        group = P4ActionProfileGroup(PEER_SELECTOR, group_id=bid, max_size=MAX_GROUP_MEMBERS,
                                     members=[P4Member(m, weight=1) for m in ids])
        out += [(selector_group_key(bid), group), (entry_key, P4TableEntry(
            "binding_peers", match=P4TableMatch({"binding_id": bid}), action=P4IndirectAction(group_id=bid)))]
    else:
        out += [(entry_key, None), (selector_group_key(bid), None)]
    out += [(selector_member_key(_selector_member_id(bid, i)), None) for i in range(n, max(was, n))]
    return out


# --- LMA / home agent --------------------------------------------------------------

def member_key(binding_id: int) -> Key:
    return BINDING_PROFILE, (("member_id", str(binding_id)),)


@lru_cache(maxsize=4096)
def peer_text(addr: Any) -> str:
    """Text of a tunnel endpoint address, one string for every binding through that peer
    (100,000 members would each hold their own copy of the LMA's and MAG's addresses)."""
    return addr_text(addr)


def _tunnel(bid: int, e: TunnelEndpoints) -> P4TableAction:
    if e.transport is Transport.IPV6:
        return P4TableAction("set_binding_tunnel_ipv6", binding_id=bid, src_addr=peer_text(e.local),
                             dst_addr=peer_text(e.remote))
    if e.transport is Transport.IPV4:
        return P4TableAction("set_binding_tunnel_ipv4", binding_id=bid, src_addr=str(e.local), dst_addr=str(e.remote))
    return P4TableAction("set_binding_tunnel_udp", binding_id=bid, src_addr=str(e.local), dst_addr=str(e.remote),
                         src_port=e.local_port, dst_port=e.remote_port)


def _member(bid: int, paths: tuple[Path, ...]) -> Change:
    """The binding's member: its one path's tunnel (RFC 5213 §5.6.1), several CoAs
    (RFC 5648: binding_peers / binding_coas decide), or none (§5.3.5)."""
    if not paths:
        action = P4TableAction("set_binding_without_tunnel", binding_id=bid)
    elif len(paths) == 1:
        action = _tunnel(bid, paths[0].endpoints)
    else:
        action = P4TableAction("set_multi_coa_binding", binding_id=bid)
    return member_key(bid), P4ActionProfileMember(BINDING_PROFILE, member_id=bid, action=action)


def _to_member(bid: int, hnp: IPNetwork) -> list[Change]:
    # downlink by destination; RFC 5213 §5.6.2: uplink only from the member's CoA
    ref = P4IndirectAction(member_id=bid)
    text = table_addr(hnp)  # one string for both entries and their keys
    return [(key_of(table, match), P4TableEntry(table, match=P4TableMatch(match), action=ref))
            for table, match in (("bindings", {"dst_addr": text}), ("uplink_sources", {"home_addr": text}))]


def _unbound(hnp: IPNetwork) -> list[Change]:
    return [_delete("bindings", {"dst_addr": table_addr(hnp)}),
            _delete("uplink_sources", {"home_addr": table_addr(hnp)})]


def _coa_match(bid: int, coa: Any) -> dict[str, Any]:
    return {"binding_id": bid, "coa": table_addr(coa)}


def _coas(bid: int, paths: tuple[Path, ...]) -> list[Change]:
    # RFC 5648: reverse-tunnelled packets from any registered CoA of a multi-CoA binding
    if len(paths) < 2:
        return []
    return [_entry("binding_coas", _coa_match(bid, p.coa), "accept_coa") for p in paths]


def _no_coas(bid: int, paths: tuple[Path, ...], keep: tuple[Path, ...] = ()) -> list[Change]:
    kept = {p.coa for p in keep} if len(keep) > 1 else set()
    return [_delete("binding_coas", _coa_match(bid, p.coa)) for p in paths if p.coa not in kept]


BUFFER_PUNT_PRIORITY = 20


def buffer_punt(hnp: IPNetwork, present: bool = True) -> Change:
    """Downlink to a de-registering binding's HNP goes to the controller, which
    holds it until the MN's next registration (issue: buffer at the LMA between
    de-registration and the new binding, like SD-Fabric's DBUF)."""
    match = {"dst_addr": table_addr(hnp)}
    if not present:
        return _delete("punts", match, BUFFER_PUNT_PRIORITY)
    return _entry("punts", match, "punt_to_controller", priority=BUFFER_PUNT_PRIORITY)


@dataclass(frozen=True, slots=True)
class Before:
    """The value a key had before an action (None: absent), for an EntrySet that does not
    store the bindings' entries (entry_set.py); its first one in a batch is the old value."""

    value: Any


def lma_before(a: Any) -> list[tuple[Key, Before]]:
    """What one anchor action's binding member and entries were before it. A free id's
    member (and a de-registered binding's: the same placeholder) is stored, not listed."""
    if isinstance(a, BindingCreated):
        return [(k, Before(None)) for n in a.home_prefixes for k, _ in _to_member(a.binding_id, n)]
    if isinstance(a, (BindingMoved, BindingDeleted)) or (isinstance(a, BindingUpdated) and a.reactivated):
        out = [(k, Before(e)) for n in a.home_prefixes for k, e in _to_member(a.binding_id, n)]
        if isinstance(a, BindingMoved):
            out.append((member_key(a.binding_id), Before(_member(a.binding_id, a.old_paths)[1])))
        elif isinstance(a, BindingDeleted):  # (when de-registered, its stored placeholder wins)
            out.append((member_key(a.binding_id), Before(_member(a.binding_id, a.paths)[1])))
        return out
    if isinstance(a, BindingDeregistered):
        return [(member_key(a.binding_id), Before(_member(a.binding_id, a.paths)[1]))]
    return []


def lma_changes(a: Any) -> list[Change]:
    """Entries for one anchor (LMA, home agent) action; [] for actions that touch no table."""
    if isinstance(a, TunnelPeerAdded):
        return _peer_added(a, "decap_from_coa")
    if isinstance(a, TunnelPeerRemoved):
        return _peer_removed(a)
    if isinstance(a, (BindingCreated, BindingMoved)) or (isinstance(a, BindingUpdated) and a.reactivated):
        # §5.3.4: a handover rewrites the member; the entries pointing to it stay as they are
        old = a.old_paths if isinstance(a, BindingMoved) else ()
        out = [_member(a.binding_id, a.paths)] + _selector(a.binding_id, a.paths, old)
        for n in a.home_prefixes:
            out += _to_member(a.binding_id, n)
        if isinstance(a, BindingMoved):
            out += _no_coas(a.binding_id, a.old_paths, keep=a.paths)
        out += _coas(a.binding_id, a.paths)
        return out + [buffer_punt(n, present=False) for n in a.home_prefixes]
    if isinstance(a, BindingDeregistered):  # §5.3.5: keep the BCE, no traffic to or from the old MAG
        out = [_member(a.binding_id, ())] + _selector(a.binding_id, (), a.paths) + _no_coas(a.binding_id, a.paths)
        return out + [buffer_punt(n) for n in a.home_prefixes]
    if isinstance(a, BindingDeleted):
        out = [c for n in a.home_prefixes for c in _unbound(n)] + _no_coas(a.binding_id, a.paths)
        out += _selector(a.binding_id, (), a.paths)
        out += [buffer_punt(n, present=False) for n in a.home_prefixes]
        return out + [(member_key(a.binding_id), None)]  # after the entries (apply.phases)
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


__all__ = ["Before", "lma_before", "Key", "Change", "Route", "BINDING_PROFILE", "member_key", "key_of", "mac_str", "lma_base_entries",
           "mag_base_entries", "lma_changes", "table_addr", "mag_changes", "attach_punt", "buffer_punt",
           "key_address"]
