"""What the MAG sends and how it reads a PBA, as pure functions (RFC 5213 §6).

Rule: a PBU carries the A and P flags; MN-ID, HNP (ALL_ZERO unless the
profile or an earlier PBA fixed prefixes), HI, ATT, MN-LL-ID if known, the
Link-local Address option when the MAGs do not share a fixed one (§6.8:
ours on a first attachment, the stored one or ALL_ZERO on a handoff) and a
Timestamp (§5.5). An RA advertises the HNPs on-link, with lifetimes never
beyond the binding's remaining lifetime; a withdrawal sets them to 0. A
PBA is taken only if its P flag is set, its Sequence Number is the one last
sent for that MN (a 135 carries the LMA's, RFC 6275 §6.1.8), it comes from
the entry's LMA, its MN-ID matches, and its Timestamp echoes ours (§6.9.1.2).
"""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from p4mobility.mh import (
    AccessTechnologyTypeOption,
    BaStatus,
    BindingAck,
    BindingUpdate,
    HandoffIndicator,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MnIdentifier,
    MnLinkLayerIdentifier,
    Timestamp,
)

from .actions import RaPrefix, SendRouterAdvertisement
from .bul import BulEntry
from .config import ALL_ZERO, MagConfig

RA_MAX_ROUTER_LIFETIME = 9000  # RFC 4861 §4.2


def build_pbu(cfg: MagConfig, entry: BulEntry, seq: int, clock: float) -> tuple[BindingUpdate, int | None]:
    """(PBU, raw Timestamp it carries or None); ``clock`` is our time plus the offset (§5.5)."""
    opts: list = [MnIdentifier(entry.mn_id)]
    prefixes = entry.hnps or entry.requested_hnps
    if prefixes:
        opts += [HomeNetworkPrefix(n.prefixlen, n.network_address) for n in prefixes]
    else:
        opts.append(HomeNetworkPrefix(0, ALL_ZERO))  # ask the LMA to assign
    opts.append(HandoffIndicatorOption(entry.handoff_indicator))
    opts.append(AccessTechnologyTypeOption(entry.att))
    if entry.mn_ll_id:
        opts.append(MnLinkLayerIdentifier(entry.mn_ll_id))
    if cfg.fixed_mag_link_local_address_on_all_access_links == ALL_ZERO:
        # §6.8: first attachment offers ours; a handoff asks for the stored one
        if entry.mag_link_local is not None:
            opts.append(LinkLocalAddress(entry.mag_link_local))
        elif entry.handoff_indicator == HandoffIndicator.ATTACHMENT_OVER_NEW_INTERFACE:
            opts.append(LinkLocalAddress(cfg.own_link_local))
        else:
            opts.append(LinkLocalAddress(ALL_ZERO))
    stamp = None
    if cfg.timestamp_based_approach_in_use:
        ts = Timestamp.from_seconds(clock)
        stamp = ts.value
        opts.append(ts)
    return BindingUpdate(seq, entry.sending_lifetime, ack=True, proxy=True, options=tuple(opts)), stamp


def router_advertisement(cfg: MagConfig, entry: BulEntry, now: float, withdraw: bool = False
                         ) -> SendRouterAdvertisement:
    """§6.7: HNPs on-link; lifetimes never beyond the binding's remaining lifetime."""
    remaining = 0 if withdraw or entry.expires_at is None else max(0, int(entry.expires_at - now))
    router = min(cfg.router_lifetime, remaining, RA_MAX_ROUTER_LIFETIME)
    lladdr = cfg.fixed_mag_link_layer_address_on_all_access_links or None
    return SendRouterAdvertisement(
        entry.access_port, entry.mn_id, entry.mag_link_local or cfg.own_link_local, router,
        tuple(RaPrefix(n, remaining, remaining) for n in entry.hnps), lladdr)


def pba_problem(cfg: MagConfig, entry: BulEntry | None, msg: BindingAck, src: IPv6Address) -> str | None:
    """Why ``msg`` is not the answer ``entry`` waits for (None: it is)."""
    mn = msg.option(MnIdentifier)
    ts = msg.option(Timestamp)
    if not msg.proxy:
        return "P flag clear"
    if entry is None or (entry.last_sequence != msg.sequence and msg.status != BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW):
        return "no PBU outstanding with this sequence number"
    if src != entry.lma_address:
        return f"from {src}, not our LMA"
    if mn is None or (mn.identifier != entry.mn_id and msg.status != BaStatus.MISSING_MN_IDENTIFIER_OPTION):
        return "MN-ID does not match"
    if (cfg.timestamp_based_approach_in_use and msg.status != BaStatus.TIMESTAMP_MISMATCH
            and (ts is None or ts.value != entry.last_timestamp)):
        return "Timestamp does not echo ours"
    return None


def accepted_prefixes(msg: BindingAck) -> list[IPv6Network]:
    """The valid, non-ALL_ZERO HNPs of a PBA (a malformed option is skipped)."""
    hnps = []
    for o in msg.options_of(HomeNetworkPrefix):
        try:
            net = IPv6Network((int(o.prefix), o.prefix_length))
        except (ValueError, TypeError):
            continue
        if net.network_address != ALL_ZERO:
            hnps.append(net)
    return hnps


__all__ = ["build_pbu", "router_advertisement", "pba_problem", "accepted_prefixes", "RA_MAX_ROUTER_LIFETIME"]
