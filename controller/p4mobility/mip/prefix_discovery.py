"""Mobile prefix discovery on the mobile node (RFC 6275 §11.4.2, §11.4.3; RFC 3776 §5.2.3).

Rules.
- A Mobile Prefix Solicitation is sent when the home agent asks for it (BA
  status 1, §11.7.3), once after the first accepted registration (so the
  node knows its home prefixes; ``solicit_prefixes_after_registration``), and
  when someone requests it (PrefixSolicitationRequested). Only while a binding
  is accepted: the home agent answers only a solicitation from a registered
  care-of address (the Monami6 slides' transport-mode rule), so it leaves from
  a bound CoA, framed like a BU (Home Address option from an IPv6 CoA; the home
  address as source inside UDP 4191 over IPv4). One solicitation is outstanding
  at a time.
- Retransmission: the same Identifier after INITIAL_SOLICIT_TIMER (§12), the
  wait doubling each time; given up when the next wait would exceed
  MAX_BINDACK_TIMEOUT (a limit of ours, as UMIP has one; the RFC leaves it open).
- An advertisement counts only from the home agent, to the home address (over
  UDP: from its IPv4 address and port 4191), carrying the Identifier of the
  outstanding solicitation (§11.4.3). One that matches none is not processed; a
  fresh solicitation asks the home agent to confirm it (as UMIP does).
- Accepted: each Prefix Information option is processed as on the home link
  (§11.4.3, RFC 4862 §5.5.3): a valid lifetime 0 removes the prefix, a
  preferred lifetime above the valid one makes the option ignored, 0xFFFFFFFF
  is infinite. HomePrefixesLearned lists every prefix now known; when none of
  them holds the home address a warning says so (forming a new home address
  is not done here).
"""
from __future__ import annotations

from dataclasses import dataclass

from p4mobility.binding.actions import LogEvent
from p4mobility.nd.mobile_prefix import MobilePrefixSolicitation

from .actions import HomePrefix, HomePrefixesLearned, SendPrefixSolicitation
from .bul import BulState

SOLICIT = "solicit"
INFINITE = 0xFFFFFFFF  # RFC 4861 §4.6.2: all ones = infinity


@dataclass(slots=True)
class PendingSolicitation:
    identifier: int
    wait: float  # the timeout before the next retransmission


class PrefixDiscoveryMixin:
    """Part of MobileNode (mn.py); shares its attributes (``_mps``, ``_home_prefixes``,
    ``_mps_identifier``, ``_solicited``)."""

    def home_prefixes(self) -> list[HomePrefix]:
        """The home prefixes the home agent advertised, still valid at the last update."""
        return sorted(self._home_prefixes.values(), key=lambda p: (p.prefix.version, p.prefix))

    @property
    def pending_solicitation(self) -> int | None:
        """Identifier of the outstanding Mobile Prefix Solicitation, or None."""
        return None if self._mps is None else self._mps.identifier

    # --- sending ---------------------------------------------------------------------------

    def _solicit(self, now: float, why: str) -> list:
        if self._stopping:
            return []
        if self._mps is not None:
            return [LogEvent("info", f"prefix solicitation already outstanding ({why})",
                             {"identifier": self._mps.identifier})]
        coas = [e.bound for e in self._entries.values() if e.state is BulState.BOUND and self._present(e.bound)]
        if not coas:  # RFC 6275 §11.4.2 from a CoA the HA holds: nothing to send it from
            return [LogEvent("info", f"no prefix solicitation ({why}): no accepted binding")]
        self._mps_identifier = (self._mps_identifier + 1) & 0xFFFF
        self._mps = PendingSolicitation(self._mps_identifier, self.config.initial_solicit_timer)
        self._solicited = True
        self._timers.set((SOLICIT, 0), now + self._mps.wait)
        return [LogEvent("info", f"soliciting home prefixes ({why})", {"identifier": self._mps.identifier}),
                self._solicitation(coas)]

    def _solicitation(self, coas) -> SendPrefixSolicitation:
        cfg = self.config
        path = self._signalling_path(coas)
        hao = not path.is_ipv4  # RFC 6275 §6.7: from the CoA with a HAO; RFC 5555 §4.1: HoA inside UDP
        return SendPrefixSolicitation(MobilePrefixSolicitation(self._mps.identifier), path,
                                      path.coa if hao else cfg.home_address, cfg.home_agent, cfg.home_address, hao)

    def _on_solicit_due(self, key: int, now: float) -> list:
        if self._mps is None:
            return []
        wait = self._mps.wait * 2  # RFC 6275 §11.4.2: retransmit, backing off
        if wait > self.config.max_bindack_timeout:
            ident, self._mps = self._mps.identifier, None
            return [LogEvent("warning", "no Mobile Prefix Advertisement: solicitation given up",
                             {"identifier": ident})]
        coas = [e.bound for e in self._entries.values() if e.state is BulState.BOUND and self._present(e.bound)]
        if not coas:
            self._mps = None
            return [LogEvent("info", "prefix solicitation dropped: no accepted binding left")]
        self._mps.wait = wait
        self._timers.set((SOLICIT, 0), now + wait)
        return [self._solicitation(coas)]

    def _on_solicit_requested(self, ev, now: float) -> list:
        return self._solicit(now, "requested")

    def _after_answer(self, needed: bool, registered: bool, now: float) -> list:
        """After a BA: status 1 asks for discovery; the first accepted registration too."""
        if needed:
            return self._solicit(now, "home agent asked (BA status 1)")
        if registered and not self._solicited and self.config.solicit_prefixes_after_registration:
            return self._solicit(now, "first registration accepted")
        return []

    # --- receiving -------------------------------------------------------------------------

    def _on_mpa(self, ev, now: float) -> list:
        msg = ev.message
        problem = self._not_from_ha(ev)
        if problem is not None:
            return [LogEvent("info", f"Mobile Prefix Advertisement ignored: {problem}",
                             {"identifier": msg.identifier})]
        if self._mps is None or msg.identifier != self._mps.identifier:  # RFC 6275 §11.4.3
            return [LogEvent("info", "Mobile Prefix Advertisement answering no solicitation of ours: not processed",
                             {"identifier": msg.identifier})] + self._solicit(now, "unsolicited advertisement")
        self._timers.cancel((SOLICIT, 0))
        self._mps = None
        for p in msg.prefixes:
            if p.router_address:
                continue  # RFC 6275 §7.2: a router's address, not a prefix of ours
            if p.valid_lifetime == 0:
                self._home_prefixes.pop(p.prefix, None)
                continue
            if p.preferred_lifetime > p.valid_lifetime:  # RFC 4862 §5.5.3 c)
                continue
            self._home_prefixes[p.prefix] = HomePrefix(
                p.prefix, None if p.valid_lifetime == INFINITE else now + p.valid_lifetime,
                None if p.preferred_lifetime == INFINITE else now + p.preferred_lifetime,
                p.on_link, p.autonomous, p.router_address)
        hoa = self.config.home_address
        covered = any(hoa in p.prefix for p in self._home_prefixes.values())
        actions: list = [HomePrefixesLearned(msg.identifier, tuple(self.home_prefixes()), covered)]
        if not covered:
            actions.append(LogEvent("warning", f"no advertised home prefix holds the home address {hoa}",
                                    {"prefixes": tuple(str(p) for p in self._home_prefixes)}))
        return actions


__all__ = ["PrefixDiscoveryMixin", "PendingSolicitation", "SOLICIT", "INFINITE"]
