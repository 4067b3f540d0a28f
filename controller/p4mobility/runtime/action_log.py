"""What a node logs and counts for the actions of each applied batch.

Rule: one event line per action: ``pbu_tx`` / ``pba_tx`` with the MH fields
for a SendMh (also counted in the metrics); the home agent's ``ba_tx``,
``brr_tx``, ``mpa_tx`` with their route; the core's own LogEvent as
``core``, any other action under its class name with its identifying fields.
Per-registration success lines (``pba_tx``/``ba_tx`` with status 0 and the bindings
created, updated or moved) are debug lines (EventLog.debug, off by default: ~4 lines
per PBU at 1,000 PBU/s); rejections, de-registrations, deletes and the rest stay on.
It reads actions and decides nothing.
"""
from __future__ import annotations

from typing import Any

from p4mobility.ha.actions import (SendBindingAck, SendBindingRefreshRequest, SendMobilePrefixAdvertisement,
                                   UdpIpv4Route)
from p4mobility.mh import BindingAck, BindingUpdate, MnIdentifier
from p4mobility.binding.actions import BindingCreated, BindingMoved, BindingUpdated
from p4mobility.pmip.actions import HoldDownlink, HoldUplink, LogEvent, ReleaseDownlink, ReleaseUplink, SendMh
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.metrics import NodeMetrics

# fields of the other actions that go into their event line, when the action has them
ACTION_FIELDS = ("binding_id", "mn_id", "hnps", "home_prefixes", "tunnel_peer_id", "access_port", "reason",
                 "lifetime", "pointer")
QUIET_ACTIONS = (HoldDownlink, HoldUplink, ReleaseDownlink, ReleaseUplink)  # per packet: the adapter logs flushes
DEBUG_ACTIONS = (BindingCreated, BindingUpdated, BindingMoved)  # one per accepted PBU/BU


def action_fields(a: Any) -> dict[str, Any]:
    """Log fields of a core action: its ids and prefixes, the care-of addresses of its paths."""
    fields = {k: getattr(a, k) for k in a.__slots__ if k in ACTION_FIELDS}
    if hasattr(a, "paths"):
        fields["coa"] = [str(p.coa) for p in a.paths]
        fields["tunnel_peer_id"] = [p.tunnel_peer_id for p in a.paths]
    if hasattr(a, "old_paths"):
        fields["old_coa"] = [str(p.coa) for p in a.old_paths]
    if hasattr(a, "endpoints"):
        fields["remote"] = str(a.endpoints.remote)
        fields["transport"] = a.endpoints.transport.value
    return fields


def mh_fields(msg: Any) -> dict[str, Any]:
    """Sequence, lifetime, MN-ID and (for a BA) status of a PBU/PBA, for its event line."""
    mn = msg.option(MnIdentifier)
    out: dict[str, Any] = {"seq": msg.sequence, "lifetime": msg.lifetime_seconds}
    if mn is not None:
        out["mn_id"] = mn.identifier
    if isinstance(msg, BindingAck):
        out["status"] = int(msg.status)
    return out


def _route_fields(route: Any) -> dict[str, Any]:
    if isinstance(route, UdpIpv4Route):
        return {"dst": route.ipv4_dst, "dst_port": route.dst_port, "home_address": route.home_address, "udp": True}
    return {"dst": route.dst, "home_address": route.home_address}


def log_actions(log: EventLog, metrics: NodeMetrics, actions: list) -> None:
    for a in actions:
        if isinstance(a, SendMh):
            msg = a.message
            if isinstance(msg, BindingUpdate):
                metrics.pbu_tx.inc()
                log.event("pbu_tx", dst=a.dst, **mh_fields(msg))
            elif isinstance(msg, BindingAck):
                metrics.pba_tx.labels(str(int(msg.status))).inc()
                (log.event if msg.status else log.debug)("pba_tx", dst=a.dst, **mh_fields(msg))
        elif isinstance(a, SendBindingAck):  # the home agent's BA (RFC 6275 §10.3.1), along its route
            metrics.pba_tx.labels(str(int(a.message.status))).inc()
            (log.event if a.message.status else log.debug)("ba_tx", **_route_fields(a.route), **mh_fields(a.message))
        elif isinstance(a, SendBindingRefreshRequest):
            log.event("brr_tx", **_route_fields(a.route))
        elif isinstance(a, SendMobilePrefixAdvertisement):  # RFC 6275 §10.6.2
            log.event("mpa_tx", **_route_fields(a.route), identifier=a.identifier,
                      prefixes=[str(p.prefix) for p in a.prefixes])
        elif isinstance(a, LogEvent):
            log.event("core", level=a.level, message=a.message, **{k: v for k, v in a.fields.items()
                                                                   if k not in ("ts", "node", "event")})
        elif isinstance(a, DEBUG_ACTIONS):
            log.debug(type(a).__name__, **action_fields(a))
        elif not isinstance(a, QUIET_ACTIONS):
            log.event(type(a).__name__, **action_fields(a))


__all__ = ["ACTION_FIELDS", "DEBUG_ACTIONS", "QUIET_ACTIONS", "action_fields", "log_actions", "mh_fields"]
