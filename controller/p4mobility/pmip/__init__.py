"""PMIPv6 (RFC 5213) protocol cores: the LMA (§5) and the MAG (§6), sans-I/O.

Rule: the cores take decoded messages and events plus ``now`` and return
actions (actions.py); they own no socket, task or clock. They run on the
generic binding machinery of p4mobility.binding (binding cache, tunnel
peers, timers, sequence numbers); PMIPv6-only rules (§5.4.1 lookup, HI,
ATT, timestamps) live here. Import from here.
"""
from .actions import (
    Action,
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    HoldDownlink,
    HoldUplink,
    LogEvent,
    MagBindingInstalled,
    MagBindingRemoved,
    RaPrefix,
    ReleaseDownlink,
    ReleaseUplink,
    SendMh,
    SendIcmpParameterProblem,
    SendRouterAdvertisement,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from .bul import BulState
from .config import ConfigError, LmaConfig, MagConfig
from .errors import PbuIgnored, PbuRejected
from .events import (
    AccessLinkUp,
    DownlinkPunted,
    Event,
    LmaEvent,
    MagEvent,
    MhUndecodable,
    MnAttached,
    MnDetached,
    MnTrafficSeen,
    OtherMhReceived,
    PbaReceived,
    PbuReceived,
    RouterSolicitationReceived,
)
from .lma import LocalMobilityAnchor
from .lma_state import BCE_TRANSITIONS, BceEvent, BceState
from .mag import MobileAccessGateway
from .policy import HnpPool, MagMnProfile, MnPolicy, PolicyStore
from .records import BindingView, BulView, MagCoreState, MagState, TunnelPeerView

__all__ = [
    "Action", "BindingCreated", "BindingDeleted", "BindingDeregistered", "BindingMoved", "BindingUpdated",
    "HoldDownlink", "HoldUplink", "LogEvent", "MagBindingInstalled", "MagBindingRemoved", "RaPrefix",
    "ReleaseDownlink", "ReleaseUplink", "SendMh", "SendIcmpParameterProblem", "SendRouterAdvertisement",
    "TunnelPeerAdded",
    "TunnelPeerRemoved", "BulState", "ConfigError", "LmaConfig", "MagConfig", "PbuIgnored", "PbuRejected",
    "AccessLinkUp", "DownlinkPunted", "Event", "LmaEvent", "MagEvent", "MhUndecodable", "MnAttached", "MnDetached",
    "MnTrafficSeen", "OtherMhReceived", "PbaReceived", "PbuReceived", "RouterSolicitationReceived",
    "LocalMobilityAnchor", "BCE_TRANSITIONS",
    "BceEvent", "BceState", "MobileAccessGateway", "HnpPool", "MagMnProfile", "MnPolicy", "PolicyStore",
    "BindingView", "BulView", "MagCoreState", "MagState", "TunnelPeerView",
]
