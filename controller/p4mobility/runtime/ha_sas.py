"""Which home address each inbound SA of the home agent's IPsec file is bound to.

Rule (RFC 3776 §4.1, §5.1: "the SA is bound to the home address"; RFC 4301
§4.4.1.1 selectors): an inbound SA speaks for home address H when its own
selector names exactly H as the remote (inbound: the source) address, or,
without one, when every inbound PROTECT policy whose template names the SA's
reqid selects exactly H as the remote address (a /128). An SA without such a
selector, or whose policies name different addresses or a wider prefix, is
bound to no home address: a message it carried is treated as unprotected
(the core discards it). Addresses are the selectors' own, after the HAO/RH2
swap (RFC 3776 §4.3), never a care-of address. SAs are looked up by their
index (the switch's sa_index), never by position in the file, so a later
dynamically keyed SAD (RFC 4877) can feed the same map.
"""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import Any, Iterable

from p4mobility.ipsec.spd import Action, Dir, Mode

IPPROTO_MH = 135  # RFC 6275 §6.1.1


def _single(net: Any) -> IPv6Address | None:
    """The one IPv6 address a /128 selector names, else None."""
    if isinstance(net, IPv6Network) and net.prefixlen == 128:
        return net.network_address
    return None


def sa_home_addresses(sad: Iterable[Any], spd: Any) -> dict[int, IPv6Address]:
    """{sa_index: home address} for the inbound SAs bound to one home address."""
    policies = [p for p in (spd.entries if spd is not None else ())
                if p.dir == Dir.IN and p.action == Action.PROTECT and p.tmpl is not None]
    out: dict[int, IPv6Address] = {}
    for sa in sad:
        if sa.dir != Dir.IN:
            continue
        if sa.sel is not None and sa.sel.remote is not None:
            hoa = _single(sa.sel.remote)
        else:
            named = {_single(p.selector.remote) for p in policies if p.tmpl.reqid == sa.reqid}
            hoa = named.pop() if len(named) == 1 else None
        if hoa is not None:
            out[sa.index] = hoa
    return out


def tunnelled_signalling_sas(sad: Iterable[Any], spd: Any) -> dict[int, IPv6Address]:
    """{sa_index: home address} for the inbound tunnel-mode SAs bound to one home address
    that carry Mobility Header signalling only (every inbound PROTECT policy naming their
    reqid selects proto MH: the tunnelled HoTI of RFC 3776 §5.2.2). The switch takes them
    only from a care-of address of that home address's binding (the Monami6 slides: the
    HA checks a tunnelled HoTI's outer source against the binding cache entry). Payload SAs
    (host-wide, any protocol) are not among them."""
    policies = [p for p in (spd.entries if spd is not None else ())
                if p.dir == Dir.IN and p.action == Action.PROTECT and p.tmpl is not None]
    bound = sa_home_addresses(sad, spd)
    out: dict[int, IPv6Address] = {}
    for sa in sad:
        if sa.dir != Dir.IN or sa.mode != Mode.TUNNEL or sa.index not in bound:
            continue
        protos = {p.selector.proto for p in policies if p.tmpl.reqid == sa.reqid}
        if protos == {IPPROTO_MH}:
            out[sa.index] = bound[sa.index]
    return out


__all__ = ["sa_home_addresses", "tunnelled_signalling_sas"]
