"""Building the Proxy Binding Acknowledgement (RFC 5213 §5.3.6).

Rule: P flag set; Sequence Number copied from the PBU (135: the last accepted
one); MN-ID copied (160: an empty identifier); HNPs = every prefix of the
session when accepted, else the PBU's own; HI, ATT and MN-LL-ID copied when
present; Link-local Address present iff it was in the PBU, ALL_ZERO answered
with the BCE's stored value; Timestamp copied when present, except 156 where
it carries the LMA's current time.
"""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from p4mobility.mh import (
    AccessTechnologyTypeOption,
    BaStatus,
    BindingAck,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MnIdentifier,
    MnLinkLayerIdentifier,
    Timestamp,
)

from .config import ALL_ZERO


def hnp_option(net: IPv6Network) -> HomeNetworkPrefix:
    return HomeNetworkPrefix(net.prefixlen, net.network_address)


def make_pba(pbu: BindingUpdate, status: int, *, now: float, lifetime: int = 0,
             hnps: tuple[IPv6Network, ...] | None = None, sequence: int | None = None,
             stored_link_local: IPv6Address | None = None) -> BindingAck:
    """``lifetime`` in 4-second units; ``hnps`` None = echo the PBU's."""
    opts: list = []
    mn = pbu.option(MnIdentifier)
    if status == BaStatus.MISSING_MN_IDENTIFIER_OPTION or mn is None:
        opts.append(MnIdentifier(b""))  # §5.3.6: zero-length identifier
    else:
        opts.append(mn)
    if hnps is not None:
        opts.extend(hnp_option(n) for n in hnps)
    else:
        opts.extend(pbu.options_of(HomeNetworkPrefix))
    for cls in (HandoffIndicatorOption, AccessTechnologyTypeOption, MnLinkLayerIdentifier):
        opt = pbu.option(cls)
        if opt is not None:
            opts.append(opt)
    lla = pbu.option(LinkLocalAddress)
    if lla is not None:
        if lla.address == ALL_ZERO and stored_link_local is not None:
            lla = LinkLocalAddress(stored_link_local)
        opts.append(lla)
    ts = pbu.option(Timestamp)
    if status == BaStatus.TIMESTAMP_MISMATCH:
        opts.append(Timestamp.from_seconds(now))
    elif ts is not None:
        opts.append(ts)
    return BindingAck(
        status=int(status), sequence=pbu.sequence if sequence is None else sequence,
        lifetime=lifetime if status < 128 else 0, proxy=True, options=tuple(opts),
    )


__all__ = ["make_pba", "hnp_option"]
