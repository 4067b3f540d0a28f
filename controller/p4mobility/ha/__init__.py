"""MIPv6 / DSMIPv6 home agent core (RFC 6275 §10, RFC 5555, RFC 5648, RFC 3776), sans-I/O.

Rule: this package holds the home agent's rules only; bindings, tunnel peers,
ids, deadlines and sequence numbers are binding/'s. It never imports
runtime/, lab/, cli or p4rt/ and never prints. Use:

    ha = HomeAgent(HaConfig.from_dict(toml["home_agent"]))
    actions = ha.handle(BuReceived(bu, src, dst, hao, protected_by, outer_v4), now)
    actions += ha.handle_timer(now)  # when now >= ha.next_deadline()
"""
from .actions import (
    Action,
    AdvertisedPrefix,
    Ipv6Route,
    Route,
    SendBindingAck,
    SendBindingRefreshRequest,
    SendIcmpParameterProblem,
    SendMobilePrefixAdvertisement,
    UdpIpv4Route,
)
from .config import ConfigError, HaConfig, MnProfile
from .events import BuReceived, HaEvent, HaoPacketReceived, MhUndecodable, MobilePrefixSolicitationReceived
from .ha import HomeAgent
from .ha_state import HOME_TRANSITIONS, HomeEvent, HomeState
from .records import CareofView, HomeBindingView, TunnelPeerView

__all__ = [
    "Action", "AdvertisedPrefix", "Ipv6Route", "Route", "SendBindingAck", "SendBindingRefreshRequest",
    "SendIcmpParameterProblem",
    "SendMobilePrefixAdvertisement", "UdpIpv4Route", "ConfigError", "HaConfig", "MnProfile", "BuReceived",
    "HaEvent", "HaoPacketReceived", "MhUndecodable", "MobilePrefixSolicitationReceived", "HomeAgent",
    "HOME_TRANSITIONS", "HomeEvent", "HomeState", "CareofView", "HomeBindingView", "TunnelPeerView",
]
