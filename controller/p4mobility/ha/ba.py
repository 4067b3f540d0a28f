"""Building the home agent's Binding Acknowledgement (RFC 6275 §6.1.8, §10.3.1;
RFC 5555 §3.2; RFC 5648 §5.3, §6.1).

Rule: Sequence Number copied from the BU (status 135: the last accepted one,
§9.5.1); Lifetime the granted one when accepted, 0 when rejected; K flag
clear (manual keys, RFC 3776 §4.1: no key-management mobility); P never
(a MIPv6 BA). Options, in this order: the BU's Binding Identifier options
echoed with their BID, H flag and CoA and a per-BID Status (0 = "the BA's
Status", a non-zero value overrides it for that BID only, RFC 5648 §6.1);
the IPv4 Address Acknowledgement when the BU asked for an IPv4 home address
(RFC 5555 §3.2.1); the NAT Detection option when the BU came in UDP over
IPv4 and UDP encapsulation is to be used (RFC 5555 §3.2.2); a Binding Refresh
Advice when configured and shorter than the granted lifetime (§6.2.4).
"""
from __future__ import annotations

from typing import Mapping

from p4mobility.mh import (
    BindingAck,
    BindingIdentifier,
    BindingRefreshAdvice,
    BindingRefreshRequest,
    BindingUpdate,
    Ipv4AddressAcknowledgement,
    NatDetection,
)


def make_ba(bu: BindingUpdate, status: int, *, lifetime: int = 0, sequence: int | None = None,
            bid_statuses: Mapping[int, int] | None = None, ipv4_ack: Ipv4AddressAcknowledgement | None = None,
            nat: NatDetection | None = None, refresh_advice: int = 0) -> BindingAck:
    """``lifetime`` and ``refresh_advice`` in 4-second units; ``bid_statuses`` maps a BID
    to its own status (missing or equal to ``status`` -> 0 in its option)."""
    accepted = status < 128
    statuses = bid_statuses or {}
    opts: list = []
    for o in bu.options_of(BindingIdentifier):
        own = statuses.get(o.bid, status)
        opts.append(BindingIdentifier(o.bid, 0 if own == status else own, o.h, False, o.coa))
    if ipv4_ack is not None:
        opts.append(ipv4_ack)
    if nat is not None:
        opts.append(nat)
    if accepted and lifetime and 0 < refresh_advice < lifetime:
        opts.append(BindingRefreshAdvice(refresh_advice))
    return BindingAck(status=int(status), sequence=bu.sequence if sequence is None else sequence,
                      lifetime=lifetime if accepted else 0, options=tuple(opts))


def make_brr(bids: tuple[int, ...] = ()) -> BindingRefreshRequest:
    """RFC 6275 §6.1.2; RFC 5648 §5.4: one BID option (no CoA) per binding to refresh."""
    return BindingRefreshRequest(options=tuple(BindingIdentifier(b) for b in bids if b))


__all__ = ["make_ba", "make_brr"]
