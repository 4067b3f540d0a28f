"""BU transactions of the mobile node: start, send, retransmit, give up.

Rule (RFC 6275 §11.8): a BU for a binding the HA does not hold yet waits
InitialBindackTimeoutFirstReg for its BA, any other INITIAL_BINDACK_TIMEOUT;
each retransmission doubles the wait up to MAX_BINDACK_TIMEOUT and carries a
new, greater Sequence Number (one counter for all BIDs, modulo 2^16). At most
MAX_UPDATE_RATE BUs leave per second; a BU over the limit is deferred, not
dropped. Registrations retry ``max_bu_retransmissions`` times (None: for
ever, at the slow rate), de-registrations ``max_dereg_retransmissions``.
A binding moved to a newer transaction leaves the older one; an empty
transaction is forgotten (a late BA for it is then ignored).

Grouping (RFC 5648 §5.3): with bulk registration, bindings due at the same
moment whose CoAs are IPv6 share one BU (each BID option carrying its CoA);
a binding with an IPv4 CoA always gets its own BU over its own UDP path,
since only that BU lets the HA see its NAT (RFC 5555 §4.1).
"""
from __future__ import annotations

from p4mobility.binding.actions import LogEvent

from .access import Coa
from .bu_build import build_bu, bu_lifetime
from .bul import BulEntry, BulEvent, BulState, Transaction, TxKind, bul_next, seq_next

RETRANSMIT, SEND, REFRESH, EXPIRE, KEEPALIVE = "retransmit", "send", "refresh", "expire", "keepalive"


class TransactionsMixin:
    """Part of MobileNode (mn.py); shares its attributes."""

    def _register(self, items: list[tuple[int, Coa]], now: float, first_reg: bool = False) -> list:
        if not items:
            return []
        cfg = self.config
        if cfg.multiple_coa and cfg.bulk_registration and self._bulk_allowed:
            v6 = [it for it in items if not it[1].is_ipv4]
            groups = ([v6] if v6 else []) + [[it] for it in items if it[1].is_ipv4]
        else:
            groups = [[it] for it in items]
        actions: list = []
        for group in groups:
            coas = dict(group)
            actions += self._start(TxKind.REGISTER, list(coas), self._bu_path(group[0][1]), now,
                                   coas=coas, first_reg=first_reg)
        return actions

    def _start(self, kind: TxKind, bids: list[int], path, now: float, coas: dict | None = None,
               first_reg: bool = False) -> list:
        cfg = self.config
        self._tx_ids += 1
        tx = Transaction(self._tx_ids, kind, list(bids), path, dict(coas or {}),
                         bulk=kind is TxKind.REGISTER and len(bids) > 1)
        if kind is TxKind.REGISTER:
            tx.lifetime = bu_lifetime(cfg, [c.expires_at for c in tx.coas.values()], now)
        # RFC 6275 §11.8: no binding at the HA yet -> InitialBindackTimeoutFirstReg
        fresh = first_reg or any(self._entries[b].state in (BulState.IDLE, BulState.REGISTERING) for b in bids)
        tx.timeout = (cfg.initial_bindack_timeout_first_reg if kind is TxKind.REGISTER and fresh
                      else cfg.initial_bindack_timeout)
        event = BulEvent.REGISTER if kind is TxKind.REGISTER else BulEvent.DEREGISTER
        for bid in bids:
            e = self._entries[bid]
            self._detach(e)
            e.state = bul_next(e.state, event)
            e.pending = tx
        self._txs[tx.ident] = tx
        return self._send(tx, now)

    def _detach(self, e: BulEntry) -> None:
        """Take ``e`` out of its transaction; forget the transaction if it is empty."""
        tx, e.pending = e.pending, None
        if tx is None:
            return
        if e.bid in tx.bids:
            tx.bids.remove(e.bid)
        tx.coas.pop(e.bid, None)
        if not tx.bids:
            self._close_tx(tx)

    def _close_tx(self, tx: Transaction) -> None:
        self._txs.pop(tx.ident, None)
        if tx.sequence is not None and self._by_seq.get(tx.sequence) == tx.ident:
            del self._by_seq[tx.sequence]
        self._timers.cancel((RETRANSMIT, tx.ident))
        self._timers.cancel((SEND, tx.ident))

    def _send(self, tx: Transaction, now: float) -> list:
        times = self._send_times
        while times and now - times[0] >= 1.0:
            times.popleft()
        if len(times) >= self.config.max_update_rate:  # RFC 6275 §11.8: MAX_UPDATE_RATE
            when = times[0] + 1.0
            self._timers.cancel((RETRANSMIT, tx.ident))
            self._timers.set((SEND, tx.ident), when)
            return [LogEvent("info", "BU rate limited", {"bids": tuple(tx.bids), "until": when})]
        self._seq = seq_next(self._seq)  # RFC 6275 §11.7.1: greater than the previous one
        if tx.sequence is not None and self._by_seq.get(tx.sequence) == tx.ident:
            del self._by_seq[tx.sequence]
        tx.sequence, tx.sent_at = self._seq, now
        self._by_seq[self._seq] = tx.ident
        times.append(now)
        self._timers.set((RETRANSMIT, tx.ident), now + tx.timeout)
        return [build_bu(self.config, tx, self._seq, self._ipv4_hoa)]

    def _on_deferred_send(self, ident: int, now: float) -> list:
        tx = self._txs.get(ident)
        return self._send(tx, now) if tx is not None else []

    def _on_retransmit(self, ident: int, now: float) -> list:
        tx = self._txs.get(ident)
        if tx is None:
            return []
        cfg = self.config
        limit = cfg.max_bu_retransmissions if tx.kind is TxKind.REGISTER else cfg.max_dereg_retransmissions
        if limit is not None and tx.retransmissions >= limit:
            return self._give_up(tx, now, f"no BA after {tx.retransmissions} retransmissions")
        tx.retransmissions += 1
        tx.timeout = min(tx.timeout * 2, cfg.max_bindack_timeout)  # RFC 6275 §11.8: exponential back-off
        return self._send(tx, now)

    def _give_up(self, tx: Transaction, now: float, why: str) -> list:
        self._close_tx(tx)
        actions: list = [LogEvent("error", why, {"bids": tuple(tx.bids), "kind": tx.kind.value})]
        for bid in list(tx.bids):
            e = self._entries.get(bid)
            if e is None or e.pending is not tx:
                continue
            e.pending = None
            if tx.kind is not TxKind.REGISTER:
                actions += self._removed(e, "no answer")
                continue
            coa = tx.coas.get(bid)
            e.refused = coa.address if coa is not None else None  # retried when the address comes back
            e.state = bul_next(e.state, BulEvent.GAVE_UP)  # an IDLE entry keeps ``refused``
        if tx.kind is TxKind.HOME:
            actions += self._home_done(tx)
        return actions + self._check_stopped()


__all__ = ["TransactionsMixin", "RETRANSMIT", "SEND", "REFRESH", "EXPIRE", "KEEPALIVE"]
