"""Binding Updates to the home agent, built from a transaction (pure functions).

Rule (RFC 6275 §11.7.1, RFC 5555 §3.1/§4.1, RFC 5648 §5.3/§6.1):
- A (acknowledge) and H (home registration) are always set; K and L stay
  clear (manually keyed SAs, RFC 3776; no link-local compatibility claimed).
- From an IPv6 CoA: IPv6 source = the CoA, a Home Address option carries
  the home address, and an Alternate Care-of Address option repeats the
  CoA inside ESP (it MUST be in every home registration: ESP does not cover
  the IPv6 source).
- From an IPv4 CoA: IPv6 source = the home address, no HAO, inside
  UDP(4191)/IPv4; an IPv4 Care-of Address option carries the CoA (as
  configured on the MN: the HA compares it with the outer source to detect
  a NAT) and the F flag asks for UDP encapsulation when configured.
- At home (de-registration, §11.5.4): source = the home address, no HAO,
  lifetime 0, Alternate CoA = the home address, no BID option (= every
  binding, RFC 5648 §5.6).
- A de-registration from a CoA (stop, a lost RFC 5648 binding) has
  lifetime 0 and, like every lifetime-0 BU, the home address as the CoA it
  names (Alternate CoA = HoA, §6.1.7), the HAO and the CoA as source.
- Registrations carry the IPv4 Home Address option when one is wanted: the
  assigned address once known, else the configured one (0.0.0.0 = assign).
- With multiple CoAs every BU names its BIDs; a bulk registration puts
  each CoA in its BID option, a single one leaves it out (the CoA is the
  source / Alternate CoA / IPv4 CoA option).
"""
from __future__ import annotations

from ipaddress import IPv4Address

from p4mobility.mh import (
    AlternateCareofAddress,
    BindingIdentifier,
    BindingUpdate,
    Ipv4CareofAddress,
    Ipv4HomeAddress,
    seconds_to_lifetime,
)

from .actions import SendMh
from .bul import Transaction, TxKind
from .config import MnConfig
from .path import Encapsulation


def bu_lifetime(cfg: MnConfig, coa_expiries: list[float | None], now: float) -> int:
    """RFC 6275 §11.7.1: non-zero, at most the requested lifetime and the
    remaining valid lifetime of the CoAs (4 s units)."""
    seconds = cfg.requested_lifetime
    for exp in coa_expiries:
        if exp is not None:
            seconds = min(seconds, exp - now)
    return max(1, seconds_to_lifetime(seconds))


def build_bu(cfg: MnConfig, tx: Transaction, sequence: int, ipv4_hoa: IPv4Address | None) -> SendMh:
    path = tx.path
    home = path.encapsulation is Encapsulation.HOME
    over_v4 = path.is_ipv4
    opts: list = []
    if not over_v4:  # RFC 6275 §11.7.1; lifetime 0: the CoA given is the HoA (§6.1.7, §11.5.4)
        opts.append(AlternateCareofAddress(cfg.home_address if home or tx.lifetime == 0 else path.coa))
    if tx.kind is TxKind.REGISTER and cfg.ipv4_home_address is not None:  # RFC 5555 §3.1.1
        opts.append(Ipv4HomeAddress(cfg.ipv4_home_prefix_length, False, ipv4_hoa or cfg.ipv4_home_address))
    if over_v4:  # RFC 5555 §3.1.2
        opts.append(Ipv4CareofAddress(path.coa))
    if cfg.multiple_coa and not home:  # RFC 5648 §6.1
        for bid in tx.bids:
            coa = tx.coas[bid].address if tx.bulk and tx.kind is TxKind.REGISTER else None
            opts.append(BindingIdentifier(bid, coa=coa))
    bu = BindingUpdate(sequence, tx.lifetime, ack=True, home_registration=True,
                       force_udp=over_v4 and cfg.force_udp_encapsulation, options=tuple(opts))
    hao = not (home or over_v4)
    src = path.coa if hao else cfg.home_address
    return SendMh(bu, path, src, cfg.home_agent, cfg.home_address, hao, tuple(tx.bids))


__all__ = ["build_bu", "bu_lifetime"]
