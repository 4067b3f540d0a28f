"""PMIPv6 (RFC 5213) protocol cores: the LMA (§5) and the MAG (§6), sans-I/O.

Rule: the cores take decoded messages and events plus ``now`` and return
actions (actions.py); they own no socket, task or clock. Import from here.
"""
from .actions import (
    Action,
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    LogEvent,
    MagBindingInstalled,
    MagBindingRemoved,
    RaPrefix,
    SendMh,
    SendRouterAdvertisement,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from .config import ConfigError, LmaConfig, MagConfig
from .errors import PbuIgnored, PbuRejected
from .events import Event, MnAttached, MnDetached, PbaReceived, PbuReceived, RouterSolicitationReceived
from .lma import BindingView, LocalMobilityAnchor
from .lma_state import BCE_TRANSITIONS, BceEvent, BceState
from .mag import MobileAccessGateway
from .policy import HnpPool, MagMnProfile, MnPolicy, PolicyStore

__all__ = [
    "Action", "BindingCreated", "BindingDeleted", "BindingDeregistered", "BindingMoved",
    "BindingUpdated", "LogEvent", "MagBindingInstalled", "MagBindingRemoved", "RaPrefix", "SendMh",
    "SendRouterAdvertisement", "TunnelPeerAdded", "TunnelPeerRemoved", "ConfigError", "LmaConfig",
    "MagConfig", "PbuIgnored", "PbuRejected", "Event", "MnAttached", "MnDetached", "PbaReceived",
    "PbuReceived", "RouterSolicitationReceived", "BindingView", "LocalMobilityAnchor",
    "BCE_TRANSITIONS", "BceEvent", "BceState", "MobileAccessGateway", "HnpPool", "MagMnProfile",
    "MnPolicy", "PolicyStore",
]
