"""Home agent messages other than the Binding Update (RFC 6275 §9.2, §9.3, §10.6).

Rules.
- Mobile Prefix Solicitation (ICMPv6 146, §6.7, §10.6.2): answered only when
  carried by the ESP SA of the home address it comes from (RFC 3776 §4.1,
  §5.2.3; the same check as a BU), that home address has a binding and the
  solicitation's source (the outer IPv4 source in UDP 4191) is one of the
  binding's care-of addresses (Monami6 slides: transport-mode signalling is
  accepted from any registered CoA, dropped otherwise); the
  advertisement (147, §6.8) copies the Identifier and lists the home
  prefixes with their configured lifetimes (§10.6.1), along the way the
  solicitation came. Otherwise silently discarded and counted.
- A packet with a Home Address option that is not a BU and matches no
  binding (home address, source = one of its care-of addresses) -> Binding
  Error status 1 to its source, the home address in the BE (§9.3.1,
  §6.1.9). An MH that did not decode: the rules every core shares
  (binding/mh_answers.py): unknown MH Type -> Binding Error status 2 (§9.2);
  Payload Proto not 59 or a Header Len that does not fit -> discarded and an
  ICMPv6 Parameter Problem code 0 pointing at the field (§9.2 SHOULD, RFC 4443
  §3.4) to the IPv6 Source (the care-of address), quoting the packet as
  received, only when it came in the clear over IPv6: not about one that came
  in ESP (the quote would put the bytes ESP kept confidential on the wire in
  the clear, RFC 4303 §1, and no SA of RFC 3776 §5.2 selects an ICMPv6 error)
  nor inside UDP 4191 (its source is an IPv4 address, RFC 5555 §4.1); other
  decode failures are discarded, counted (``undecodable``) and logged with
  their RFC action. Binding Errors and ICMPv6 errors share one token bucket of
  ``max_binding_errors_per_second`` (§9.3.3, RFC 4443 §2.4(f)); never sent to
  a multicast or unspecified address.
"""
from __future__ import annotations

from typing import Protocol

from p4mobility.binding import BindingCache
from p4mobility.binding.mh_answers import UNSPECIFIED, MhAnswers, Undecodable
from p4mobility.mh import BeStatus

from .actions import (
    Action,
    AdvertisedPrefix,
    LogEvent,
    SendMobilePrefixAdvertisement,
)
from .config import HaConfig
from .events import (
    HaEvent,
    HaoPacketReceived,
    MhUndecodable,
    MobilePrefixSolicitationReceived,
)
from .validate import route_for


class HomeAgentCore(Protocol):
    """What these handlers use of the HomeAgent that hands itself in (no import of ha.py)."""

    config: HaConfig
    cache: BindingCache

    def count(self, name: str) -> int: ...


class OtherMessages:
    def __init__(self, core: HomeAgentCore) -> None:
        self.core = core
        self._answers = MhAnswers(core.config.max_binding_errors_per_second, core.count, core.config.ha_address,
                                  undecodable_counter="undecodable")

    def handle(self, event: HaEvent, now: float) -> list[Action]:
        if isinstance(event, MobilePrefixSolicitationReceived):
            return self._on_solicitation(event)
        if isinstance(event, HaoPacketReceived):
            return self._on_hao_packet(event, now)
        if isinstance(event, MhUndecodable):
            return self._on_undecodable(event, now)
        return [LogEvent("warning", f"home agent ignores {type(event).__name__}")]

    # --- Mobile Prefix Solicitation / Advertisement ----------------------------------

    def _discard(self, counter: str, why: str, **fields) -> list[Action]:
        n = self.core.count(counter)
        return [LogEvent("warning", f"silently discarded: {why}", {"counter": counter, "count": n, **fields})]

    def _on_solicitation(self, ev: MobilePrefixSolicitationReceived) -> list[Action]:
        cfg, hoa = self.core.config, ev.home_address
        if ev.protected_by is None:
            return self._discard("mps_unprotected", "Mobile Prefix Solicitation without ESP", home_address=str(hoa))
        if ev.protected_by != hoa:
            return self._discard("sa_home_address_mismatch", f"solicitation for {hoa} on the SA of {ev.protected_by}")
        if ev.outer_v4 is not None and cfg.ha_address_v4 is None:
            return self._discard("no_ipv4_endpoint", "solicitation in UDP 4191 but no ha_address_v4")
        b = self.core.cache.for_address(hoa)
        if b is None:
            return self._discard("mps_without_binding", f"solicitation from {hoa}, which has no binding")
        source = ev.outer_v4[0] if ev.outer_v4 is not None else ev.src
        if source not in {p.coa for p in b.paths.values()}:  # Monami6: the source must be one of its CoAs
            return self._discard("mps_unknown_source", f"solicitation for {hoa} from {source}, not one of its CoAs")
        prefixes = tuple(AdvertisedPrefix(n, cfg.home_prefix_valid_lifetime, cfg.home_prefix_preferred_lifetime)
                         for n in cfg.home_prefixes)
        return [SendMobilePrefixAdvertisement(ev.identifier & 0xFFFF, prefixes, route_for(ev, hoa, cfg))]

    # --- Binding Error, ICMPv6 Parameter Problem (binding/mh_answers.py) -------------------

    def _on_hao_packet(self, ev: HaoPacketReceived, now: float) -> list[Action]:
        b = self.core.cache.for_address(ev.home_address)
        if b is not None and ev.src in b.coas():  # type: ignore[attr-defined]
            return [LogEvent("info", f"HAO packet from {ev.src} matches binding {b.binding_id}")]
        return self._answers.binding_error(BeStatus.UNKNOWN_BINDING_FOR_HOME_ADDRESS_DESTINATION_OPTION,
                                           ev.home_address, ev.dst, ev.src, now,
                                           f"no binding for {ev.home_address} at {ev.src}")

    def _on_undecodable(self, ev: MhUndecodable, now: float) -> list[Action]:
        why = ("came in ESP: the quote would carry its decrypted bytes in the clear" if ev.in_esp
               else "came inside UDP 4191: no IPv6 source to answer" if ev.outer_v4 is not None else "")
        u = Undecodable(ev.error, ev.src, ev.dst, ev.packet, ev.mh_offset, ev.home_address_option or UNSPECIFIED)
        return self._answers.undecodable(u, now, icmp_allowed=not why, no_icmp_because=why)


__all__ = ["OtherMessages"]
