"""Carrier of the MAG's access interfaces from rtnetlink link messages.

Rule: a watched interface (by name) is up with IFF_UP and a carrier
(IFF_LOWER_UP, ``LinkMsg.up``); ``feed`` returns the changes a message makes,
as (name, up) pairs, once each: the kernel repeats RTM_NEWLINK for changes
that are not the carrier. An interface that goes away, or is renamed, is down
under its old name. The first message about an interface reports its state,
up or down (at start the dump tells what the links are). ``resync`` starts
over from a dump after lost notifications (ENOBUFS) and reports the
difference. No protocol rule: what a link change means is the MAG core's call
(RFC 5213 §6.9.1.1 attach, §6.9.1.4 detach).
"""
from __future__ import annotations

from typing import Iterable

from .netlink import LinkMsg, Message


class PortLinks:
    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self._by_index: dict[int, str] = {}  # ifindex -> watched name
        self._up: dict[str, bool] = {}  # watched name -> carrier, once known

    def feed(self, msg: Message) -> list[tuple[str, bool]]:
        if not isinstance(msg, LinkMsg):
            return []
        out: list[tuple[str, bool]] = []
        old = self._by_index.get(msg.index)
        if old is not None and (not msg.new or (msg.name and msg.name != old)):
            del self._by_index[msg.index]  # removed, or renamed: the old name is gone
            out += self._set(old, False)
        name = msg.name or old
        if msg.new and name in self.names:
            self._by_index[msg.index] = name
            out += self._set(name, msg.up)
        return out

    def _set(self, name: str, up: bool) -> list[tuple[str, bool]]:
        if self._up.get(name) is up:
            return []
        self._up[name] = up
        return [(name, up)]

    def resync(self, messages: list[Message]) -> list[tuple[str, bool]]:
        fresh = PortLinks(self.names)
        for m in messages:
            fresh.feed(m)
        out = [(n, up) for n, up in fresh._up.items() if self._up.get(n) is not up]
        out += [(n, False) for n, up in self._up.items() if up and n not in fresh._up]
        self._by_index = fresh._by_index
        self._up = {**{n: False for n in self._up}, **fresh._up}
        return out

    def up(self, name: str) -> bool:
        return self._up.get(name, False)


__all__ = ["PortLinks"]
