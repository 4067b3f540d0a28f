"""Host-based mobility: the mobile node of RFC 6275 §11 (home registration),
RFC 5555 (DSMIPv6: IPv4 home address, IPv4 care-of addresses, UDP 4191, NAT)
and RFC 5648 (several care-of addresses), sans-I/O.

Rule: the core takes decoded messages, address events and ``now`` and
returns actions (actions.py); it owns no socket, task or clock. Frames
(frames.py) are pure functions between actions/events and packet bytes.
Import from here.
"""
from .actions import (Action, AtHome, Deregistered, FlowsMoved, HomeAddressAssigned, HomeAddressReleased,
                      HomePrefix, HomePrefixesLearned, Keepalive, LogEvent, PrefixDiscoveryNeeded, Registered,
                      RegistrationFailed, SendMh, SendPrefixSolicitation, Stopped, TunnelChanged)
from .bul import BUL_TRANSITIONS, BindingView, BulEvent, BulState, seq_newer, seq_next
from .config import ConfigError, MnConfig
from .events import (AddressAdded, AddressRemoved, BaReceived, BeReceived, BrrReceived, Event, InterfaceDown,
                     PrefixAdvertisementReceived, PrefixSolicitationRequested, StopRequested)
from .mn import MobileNode
from .path import DSMIPV6_UDP_PORT, Encapsulation, OuterUdp4, Path

__all__ = [
    "Action", "AtHome", "Deregistered", "FlowsMoved", "HomeAddressAssigned", "HomeAddressReleased",
    "HomePrefix", "HomePrefixesLearned", "Keepalive", "LogEvent", "PrefixDiscoveryNeeded", "Registered",
    "RegistrationFailed", "SendMh", "SendPrefixSolicitation", "Stopped",
    "TunnelChanged", "BUL_TRANSITIONS", "BindingView", "BulEvent", "BulState", "seq_newer", "seq_next",
    "ConfigError", "MnConfig", "AddressAdded", "AddressRemoved", "BaReceived", "BeReceived", "BrrReceived",
    "Event", "InterfaceDown", "PrefixAdvertisementReceived", "PrefixSolicitationRequested", "StopRequested",
    "MobileNode", "DSMIPV6_UDP_PORT", "Encapsulation",
    "OuterUdp4", "Path",
]
