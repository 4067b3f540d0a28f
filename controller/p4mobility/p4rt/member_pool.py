"""A member for every binding id 1..M of the binding profile, so a batch is one WriteRequest.

Rule: P4Runtime §12.2 lets a server reorder the updates of one WriteRequest, so
an entry may name only a member that exists before the request. The anchor
keeps a member for every id 1..M (M = highest id used + ``headroom``, capped by
``size``): a free id's member holds the placeholder action
(`set_binding_without_tunnel`, the same as a de-registered binding's, RFC 5213
§5.3.5: it forwards nothing). A new binding is then a MODIFY of its member plus
the INSERTs naming it, a deleted one the DELETEs plus a MODIFY back to the
placeholder, and the members that raise M are INSERTs that nothing in the batch
names: all in one request. Only when a batch names an id above M (a burst
larger than the headroom) do the raising INSERTs go first, in their own request.
M only grows while the node runs; a restart sets it from the restored ids.
"""
from __future__ import annotations

from finsy import P4ActionProfileMember, P4TableAction

from .entries import BINDING_PROFILE, Key, member_key

PLACEHOLDER_ACTION = "set_binding_without_tunnel"
HEADROOM = 1024  # ids ahead of the highest used: a full batch (node.MAX_BATCH) of new bindings


def placeholder(binding_id: int) -> P4ActionProfileMember:
    """The member of a free binding id: no tunnel (downlink dropped, uplink refused)."""
    return P4ActionProfileMember(BINDING_PROFILE, member_id=binding_id,
                                 action=P4TableAction(PLACEHOLDER_ACTION, binding_id=binding_id))


def is_placeholder(member: object) -> bool:
    action = getattr(member, "action", None)
    return getattr(action, "name", None) == PLACEHOLDER_ACTION


def member_id_of(key: Key) -> int | None:
    """The binding id of a binding-profile member key, None for any other key."""
    if key[0] != BINDING_PROFILE:
        return None
    return int(key[1][0][1])


class MemberPool:
    """How far the members go (``top`` = M) and how far they may go (``size``)."""

    __slots__ = ("size", "headroom", "top")

    def __init__(self, size: int, headroom: int = HEADROOM) -> None:
        if size < 1:
            raise ValueError(f"binding profile size {size}: at least 1 member is needed")
        self.size = size
        self.headroom = headroom
        self.top = 0

    def target(self, highest_used: int) -> int:
        """M for ``highest_used``: never below the current M, never above ``size``."""
        return max(self.top, min(self.size, highest_used + self.headroom))


__all__ = ["HEADROOM", "MemberPool", "PLACEHOLDER_ACTION", "is_placeholder", "member_id_of", "placeholder"]
