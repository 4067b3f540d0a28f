"""Generic mobility binding machinery shared by the PMIPv6 LMA/MAG and the
MIPv6/DSMIPv6 home agent and mobile node (RFC 5213, RFC 6275, RFC 5555, RFC 5648).

Rule: nothing here knows a protocol's rules. It holds bindings with one or
more care-of addresses keyed by Binding ID, the refcounted tunnel peers they
use, small P4 index ids, deadlines and RFC 6275 §9.5.1 sequence-number
comparison. Role cores (pmip/, mip/) decide; this package keeps state
consistent and findable.
"""
from .actions import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    HoldDownlink,
    LogEvent,
    ReleaseDownlink,
    SendMh,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from .cache import Binding, BindingCache
from .ids import IdAllocator
from .seqno import seq_newer, seq_next
from .timers import DeadlineHeap
from .tunnels import Path, Transport, TunnelEndpoints, TunnelPeer, TunnelPeerTable

__all__ = [
    "BindingCreated", "BindingDeleted", "BindingDeregistered", "BindingMoved", "BindingUpdated",
    "HoldDownlink", "LogEvent", "ReleaseDownlink", "SendMh", "TunnelPeerAdded", "TunnelPeerRemoved",
    "Binding", "BindingCache", "IdAllocator", "seq_newer", "seq_next", "DeadlineHeap", "Path",
    "TunnelEndpoints", "TunnelPeer", "TunnelPeerTable", "Transport",
]
