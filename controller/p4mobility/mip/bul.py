"""The mobile node's Binding Update List (RFC 6275 §11.1), one entry per binding.

Rule: an entry's ``state`` changes only along ``BUL_TRANSITIONS``; a
missing pair raises ``BulTransitionError``. None as a next state means the
entry is deleted.

  IDLE -(register)-> REGISTERING -(accepted)-> BOUND
  BOUND -(register: refresh or new CoA)-> UPDATING -(accepted)-> BOUND
  UPDATING -(rejected | gave up | CoA abandoned)-> BOUND  (the HA keeps the old
      binding until its lifetime ends, RFC 6275 §9.5.1; data stays on it)
  REGISTERING -(rejected | gave up | CoA abandoned)-> IDLE
  BOUND -(expired)-> IDLE;  UPDATING -(expired)-> REGISTERING (BU still out)
  any registered state -(deregister)-> DEREGISTERING -(answered | gave up)-> deleted
  DEREGISTERING -(register)-> REGISTERING (a newer BU supersedes it)

The data tunnel (``tunnel``) is set only on an accepted BA and cleared on
expiry, loss or de-registration (draft-laganier requirement 3).

A ``Transaction`` is one BU exchange: the BU is retransmitted with a new
Sequence Number each time (RFC 6275 §11.8) until a BA for its latest number
arrives. Sequence Numbers are one counter per MN-HA pair, shared by all
BIDs (RFC 5648 §5.4), compared modulo 2^16 (RFC 6275 §9.5.1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address, IPv6Address

from .access import Coa
from .path import Path


def seq_next(seq: int) -> int:
    """RFC 6275 §9.5.1: a free-running 16-bit counter."""
    return (seq + 1) & 0xFFFF


def seq_newer(a: int, b: int) -> bool:
    """True if ``a`` is greater than ``b`` modulo 2^16 (less than 32768 ahead)."""
    return 0 < ((a - b) & 0xFFFF) < 0x8000


class BulTransitionError(RuntimeError):
    """A core bug: an event that the entry's state does not allow."""


class BulState(Enum):
    IDLE = "idle"  # nothing registered, no BU out
    REGISTERING = "registering"  # first BU for this binding out, no binding known at the HA
    BOUND = "bound"  # the HA accepted ``bound``; data on ``tunnel``
    UPDATING = "updating"  # bound, and a refresh or move BU is out
    DEREGISTERING = "deregistering"  # lifetime-0 BU out


class BulEvent(Enum):
    REGISTER = "register"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    GAVE_UP = "gave_up"
    ABANDON = "abandon"  # the CoA being registered disappeared
    EXPIRED = "expired"
    DEREGISTER = "deregister"


_S, _E = BulState, BulEvent
BUL_TRANSITIONS: dict[tuple[BulState, BulEvent], BulState | None] = {
    (_S.IDLE, _E.REGISTER): _S.REGISTERING,
    (_S.IDLE, _E.DEREGISTER): None,
    (_S.REGISTERING, _E.REGISTER): _S.REGISTERING,
    (_S.REGISTERING, _E.ACCEPTED): _S.BOUND,
    (_S.REGISTERING, _E.REJECTED): _S.IDLE,
    (_S.REGISTERING, _E.GAVE_UP): _S.IDLE,
    (_S.REGISTERING, _E.ABANDON): _S.IDLE,
    (_S.REGISTERING, _E.DEREGISTER): _S.DEREGISTERING,
    (_S.BOUND, _E.REGISTER): _S.UPDATING,
    (_S.BOUND, _E.EXPIRED): _S.IDLE,
    (_S.BOUND, _E.DEREGISTER): _S.DEREGISTERING,
    (_S.UPDATING, _E.REGISTER): _S.UPDATING,
    (_S.UPDATING, _E.ACCEPTED): _S.BOUND,
    (_S.UPDATING, _E.REJECTED): _S.BOUND,
    (_S.UPDATING, _E.GAVE_UP): _S.BOUND,
    (_S.UPDATING, _E.ABANDON): _S.BOUND,
    (_S.UPDATING, _E.EXPIRED): _S.REGISTERING,
    (_S.UPDATING, _E.DEREGISTER): _S.DEREGISTERING,
    (_S.DEREGISTERING, _E.REGISTER): _S.REGISTERING,
    (_S.DEREGISTERING, _E.ACCEPTED): None,
    (_S.DEREGISTERING, _E.REJECTED): None,
    (_S.DEREGISTERING, _E.GAVE_UP): None,
    (_S.DEREGISTERING, _E.DEREGISTER): _S.DEREGISTERING,
}


def bul_next(state: BulState, event: BulEvent) -> BulState | None:
    try:
        return BUL_TRANSITIONS[(state, event)]
    except KeyError:
        raise BulTransitionError(f"BUL: no transition from {state.name} on {event.name}") from None


class TxKind(Enum):
    REGISTER = "register"  # lifetime > 0 for the CoAs in ``coas``
    DEREGISTER = "deregister"  # lifetime 0 for ``bids`` while away
    HOME = "home"  # RFC 6275 §11.5.4: lifetime 0 from the home address, all bindings


@dataclass(slots=True, eq=False)
class Transaction:
    """One BU and its retransmissions."""

    ident: int
    kind: TxKind
    bids: list[int]
    path: Path  # where the BU leaves (the CoA it is sent from)
    coas: dict[int, Coa] = field(default_factory=dict)  # REGISTER: the CoA per BID
    lifetime: int = 0  # 4 s units sent
    sequence: int | None = None  # of the latest transmission
    sent_at: float | None = None  # of the latest transmission
    timeout: float = 1.0
    retransmissions: int = 0
    resyncs: int = 0
    bulk: bool = False  # several BID options, each with its CoA (RFC 5648 §5.3)


@dataclass(slots=True, eq=False)
class BulEntry:
    """RFC 6275 §11.1 fields for one binding (one BID)."""

    bid: int
    state: BulState = BulState.IDLE
    bound: Coa | None = None  # the CoA the HA accepted
    tunnel: Path | None = None  # data path (set only on an accepted BA)
    pending: Transaction | None = None
    granted_lifetime: float = 0.0
    expires_at: float | None = None
    refused: IPv6Address | IPv4Address | None = None  # CoA the HA rejected: no BUs for it
    keepalive: float | None = None  # RFC 5555 NAT refresh interval on ``tunnel``


@dataclass(frozen=True, slots=True)
class BindingView:
    """Read-only snapshot of one entry."""

    bid: int
    state: BulState
    interface: str | None
    coa: IPv6Address | IPv4Address | None
    tunnel: Path | None
    pending_coa: IPv6Address | IPv4Address | None
    expires_at: float | None
    keepalive: float | None


__all__ = ["seq_next", "seq_newer", "BulTransitionError", "BulState", "BulEvent", "BUL_TRANSITIONS",
           "bul_next", "TxKind", "Transaction", "BulEntry", "BindingView"]
