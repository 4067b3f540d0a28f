"""Which tunnel carries the mobile node's outbound data.

Rule: the tunnels are exactly what the core's ``TunnelChanged`` actions said
(draft-laganier requirement 3: a BU from a new CoA does not move data; only
the BA's TunnelChanged does). With one binding (key 0) data uses its tunnel.
With several (RFC 5648) every flow uses the binding of the most preferred
interface that has a tunnel (lowest BID, BID = position in the preference
list, RFC 5648 §5.1); per-flow placement (RFC 6089 flow bindings) is not
done, so ``FlowsMoved`` needs no bookkeeping here: the flows of a lost
binding follow the next preferred tunnel. No tunnel = not registered.
"""
from __future__ import annotations

from .actions import TunnelChanged
from .path import Path


class DataTunnels:
    def __init__(self) -> None:
        self._by_bid: dict[int, Path] = {}

    def apply(self, action: TunnelChanged) -> None:
        if action.tunnel is None:
            self._by_bid.pop(action.bid, None)
        else:
            self._by_bid[action.bid] = action.tunnel

    def path(self) -> Path | None:
        """The tunnel outbound data takes now, or None."""
        return self._by_bid[min(self._by_bid)] if self._by_bid else None

    def paths(self) -> dict[int, Path]:
        return dict(self._by_bid)

    def __bool__(self) -> bool:
        return bool(self._by_bid)


__all__ = ["DataTunnels"]
