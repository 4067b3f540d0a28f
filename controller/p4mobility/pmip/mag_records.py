"""The MAG core's records: its Binding Update List (RFC 5213 §6.1) and whole state as
typed, read-only snapshots, and the rebuild of a core from them.

Rule: a mixin of MobileAccessGateway (the same object: nothing outside the core
reads its fields). Views are records.py values (enums, addresses, the entry's
deadlines); ``state()`` is what persistence writes (mag_persist.py turns it into
JSON and back, never importing the core) and ``from_state`` rebuilds a core that
resumes exactly: no new PBU for a bound MN before its refresh is due, a PBA for
the PBU in flight still taken.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from p4mobility.binding import DeadlineHeap, TunnelEndpoints, TunnelPeerTable

from .actions import Action, MagBindingInstalled, TunnelPeerAdded
from .bul import BulEntry
from .config import MagConfig
from .policy import MagMnProfile
from .records import BulView, MagCoreState, MagState, TunnelPeerView

RETRANSMIT, REFRESH, EXPIRE, SEND = "retransmit", "refresh", "expire", "send"
TIMER_KINDS = (RETRANSMIT, REFRESH, EXPIRE, SEND)


class MagRecords:
    config: MagConfig
    clock_offset: float
    _bul: dict[int, BulEntry]
    _by_seq: dict[int, int]
    _seq: int
    _timers: DeadlineHeap
    _peers: TunnelPeerTable
    _touched: set[int]

    def _installed(self, entry: BulEntry) -> MagBindingInstalled:  # the core's: its install action
        raise NotImplementedError

    def binding_update_list(self) -> list[BulView]:
        """The BUL as typed records, by access port."""
        return [self._view(e) for _, e in sorted(self._bul.items())]

    def entry(self, access_port: int) -> BulView | None:
        e = self._bul.get(access_port)
        return None if e is None else self._view(e)

    def tunnel_peers(self) -> list[TunnelPeerView]:
        return sorted((TunnelPeerView(p.tunnel_peer_id, p.endpoints.local, p.endpoints.remote,  # type: ignore[arg-type]
                                      p.refcount) for p in self._peers), key=lambda v: v.tunnel_peer_id)

    def _view(self, e: BulEntry) -> BulView:
        timers = tuple((k, w) for k in TIMER_KINDS if (w := self._timers.get((k, e.access_port))) is not None)
        awaiting = e.last_sequence is not None and self._by_seq.get(e.last_sequence) == e.access_port
        return BulView(e.access_port, e.mn_id, e.mn_ll_id, e.att, e.lma_address, e.requested_hnps,
                       e.requested_lifetime, e.handoff_indicator, e.state, e.hnps, e.mag_link_local,
                       e.tunnel_peer_id, e.installed, e.granted_lifetime, e.bound_at, e.expires_at, e.last_sequence,
                       e.last_timestamp, e.last_sent_at, e.sending_lifetime, e.retransmissions, e.timeout,
                       awaiting, timers)

    # --- state (records.py; mag_persist.py turns it into JSON) ----------------------------

    def core_state(self) -> MagCoreState:
        return MagCoreState(self._seq, self.clock_offset)

    def state(self) -> MagState:
        return MagState(self.core_state(), tuple(self.binding_update_list()))

    @classmethod
    def from_state(cls, config: MagConfig, profiles: Iterable[MagMnProfile] | Mapping[bytes, MagMnProfile],
                   state: MagState) -> "MagRecords":
        """Rebuild a core from ``state()`` (checked by mag_persist when it came from
        disk): a restored core resumes exactly, no new PBU for a bound MN before its
        refresh is due, a PBA for the PBU in flight is still taken. ValueError when
        entries conflict (two tunnel peer ids for one LMA, one PBA awaited twice)."""
        mag = cls(config, profiles)  # type: ignore[call-arg]
        mag._seq, mag.clock_offset = state.core.seq, state.core.clock_offset
        for v in state.bul:
            if v.awaiting_pba:
                if v.last_sequence in mag._by_seq:
                    raise ValueError(f"bul[{v.access_port}]: two entries await the PBA of {v.last_sequence}")
                mag._by_seq[v.last_sequence] = v.access_port  # type: ignore[index]
            if v.installed:
                mag._peers.restore(TunnelEndpoints(config.proxy_coa, v.lma_address), v.tunnel_peer_id)
            mag._bul[v.access_port] = BulEntry(
                v.access_port, v.mn_id, v.mn_ll_id, v.att, v.lma_address, v.requested_hnps, v.requested_lifetime,
                v.handoff_indicator, v.state, v.hnps, v.mag_link_local, v.tunnel_peer_id, v.installed,
                v.granted_lifetime, v.bound_at, v.expires_at, v.last_sequence, v.last_timestamp, v.last_sent_at,
                v.sending_lifetime, v.retransmissions, v.timeout)
            for kind, when in v.timers:
                mag._timers.set((kind, v.access_port), when)
        return mag

    def snapshot_actions(self) -> list[Action]:
        """Actions that rebuild the data plane from scratch (after a restore)."""
        actions: list[Action] = [TunnelPeerAdded(p.tunnel_peer_id, p.endpoints)
                                 for p in sorted(self._peers, key=lambda p: p.tunnel_peer_id)]
        for e in sorted(self._bul.values(), key=lambda e: e.access_port):
            if e.installed:
                actions.append(self._installed(e))
        return actions

    def take_changes(self) -> tuple[MagCoreState, dict[int, BulView | None]]:
        """(core state, {access port: its entry, or None if gone}) changed since the last call."""
        touched, self._touched = self._touched, set()
        return self.core_state(), {p: self.entry(p) for p in sorted(touched)}


__all__ = ["MagRecords", "TIMER_KINDS", "RETRANSMIT", "REFRESH", "EXPIRE", "SEND"]
