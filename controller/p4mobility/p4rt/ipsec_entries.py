"""The switch half of an IPsec configuration: `esp_sas` and `outbound_policies` entries.

Rule: pure; the crypto path holds the other half (the same file). Inbound SAs
are looked up by (destination, SPI); outbound SPD entries keep their order as
falling priorities; selectors the switch cannot express are refused, never
widened (docs/ipsec.md).
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any, Mapping

from p4mobility.addrtext import addr_text

from .entries import Change, _entry, key_address

def ipsec_entries(sad: Any, spd: Any, from_coa: Mapping[int, IPv6Address] | None = None) -> list[Change]:
    """The switch half of one IPsec configuration (the crypto path holds the other).

    Inbound SAs -> `esp_sas` (dst, SPI) -> `to_crypto_port(sa_index)` (RFC 4303
    §3.4.2; no entry: the switch drops and counts UNKNOWN_SPI); an SA in
    ``from_coa`` (sa_index -> home address) -> `to_crypto_port_from_coa(sa_index,
    home_addr)`: the switch accepts it only from a care-of address of that home
    address's binding (tunnelled HoTI, RFC 3776 §5.2.2; the Monami6 slides).
    Outbound SPD entries, in order, -> `outbound_policies` with falling
    priorities (RFC 4301 §4.4.1 first match): PROTECT -> `to_crypto_port` of the
    SA its template names (§5.1), BYPASS, DISCARD. MH type and ICMP type
    selectors are keys (§4.4.1.1); selectors the switch cannot express (ports,
    ICMP code) are refused, never widened. ``sad`` numbers SAs exactly as the
    crypto path does (`IpsecConfig.build_sad`), so the two cannot disagree.
    """
    from p4mobility.ipsec.errors import IpsecConfigError, IpsecError
    from p4mobility.ipsec.spd import Action, Dir

    checked = from_coa or {}
    out: list[Change] = []
    for sa in sad:
        if sa.dir == Dir.IN:
            match = {"dst_addr": key_address(sa.dst), "spi": sa.spi}
            if sa.index in checked:
                out.append(_entry("esp_sas", match, "to_crypto_port_from_coa", sa_index=sa.index,
                                  home_addr=addr_text(checked[sa.index])))
            else:
                out.append(_entry("esp_sas", match, "to_crypto_port", sa_index=sa.index))
    policies = [(i, p) for i, p in enumerate(spd.entries) if p.dir == Dir.OUT]
    for rank, (i, p) in enumerate(policies):
        where = f"policy[{i}]"
        sel = p.selector
        if sel.local_ports or sel.remote_ports or sel.icmp_code is not None:
            raise IpsecConfigError(where, "the switch SPD (outbound_policies) has no port or ICMP code selectors")
        match: dict[str, Any] = {}
        if sel.local is not None:  # outbound: local = source (RFC 4301 §4.4.1.1)
            match["src_addr"] = key_address(str(sel.local))
        if sel.remote is not None:
            match["dst_addr"] = key_address(str(sel.remote))
        if sel.icmp_type is not None and sel.proto is None:
            raise IpsecConfigError(where, "an ICMP type selector needs proto icmp or icmpv6")
        if sel.proto is not None:
            match["ip_proto"] = (int(sel.proto), 0xFF)
            if sel.local_mh_type is not None:
                match["mh_type"] = (int(sel.local_mh_type), 0xFF)
            if sel.icmp_type is not None:  # the packet's own type (RFC 4301 §4.4.1.1)
                match["icmp_type"] = (int(sel.icmp_type), 0xFF)
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


__all__ = ["ipsec_entries"]
