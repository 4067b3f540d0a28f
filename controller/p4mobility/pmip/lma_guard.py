"""What the LMA does with signaling it will not process (RFC 6275 §9.2, §9.3.3).

Rules (sans-I/O; the core owns one ``LmaGuard`` and its ``counters``).
- A Mobility Header that did not decode (``MhUndecodable``): answered by the
  rules every core shares (binding/mh_answers.py): an unknown MH Type ->
  Binding Error status 2; Payload Proto not 59 or a Header Len that does not
  fit -> discarded and an ICMPv6 Parameter Problem code 0 pointing at the field
  (§9.2 SHOULD, RFC 4443 §3.4) when the adapter could quote the IPv6 packet
  (not for one that came tunnelled); both rate limited by one token bucket of
  ``max_binding_errors_per_second`` (§9.3.3, RFC 4443 §2.4(f)); anything else
  (checksum, truncation, an option overrunning the message) silently
  discarded. Counted under ``mh_undecodable``.
- A Mobility Header of a known type other than a BU (a BA, a BRR, a HoTI...): an
  LMA has nothing to do with it (RFC 5213 §5: it processes PBUs); silently
  discarded and counted.
- A flood from one source: at most ``max_pbus_per_second_per_mag`` PBUs per
  second per IPv6 source reach validation (0: no limit); the rest are silently
  dropped before any state is read. One log line when a source starts being
  limited, then at most one a second per source with the count since.
- Every drop and every Binding Error bumps ``counters[name]``; the adapter
  exports them (Prometheus ``p4mob_core_events_total{counter}``).
"""
from __future__ import annotations

from ipaddress import IPv6Address

from p4mobility.binding.mh_answers import MhAnswers, Undecodable
from p4mobility.binding.ratelimit import FloodGate

from .actions import Action, LogEvent
from .config import LmaConfig
from .events import MhUndecodable, OtherMhReceived

FLOOD_LOG_INTERVAL = 1.0  # seconds between two log lines about one flooding source


class LmaGuard:
    def __init__(self, config: LmaConfig) -> None:
        self.config = config
        self.counters: dict[str, int] = {}
        self._answers = MhAnswers(config.max_binding_errors_per_second, self.count, config.lma_address)
        self._pbus = FloodGate(config.max_pbus_per_second_per_mag, FLOOD_LOG_INTERVAL)

    def count(self, name: str) -> int:
        self.counters[name] = n = self.counters.get(name, 0) + 1
        return n

    # --- a flood from one source ---------------------------------------------------------

    def admit(self, src: IPv6Address, now: float) -> list[Action] | None:
        """None: the PBU from ``src`` goes on to validation; else it is dropped (the log lines)."""
        passes, dropped = self._pbus.check(src, now)
        if passes:
            return None
        n = self.count("pbu_rate_limited")
        if dropped is None:
            return []
        return [LogEvent("warning", f"PBUs from {src} over {self.config.max_pbus_per_second_per_mag}/s dropped",
                         {"src": str(src), "dropped": dropped, "counter": "pbu_rate_limited", "count": n})]

    # --- RFC 6275 §9.2 ---------------------------------------------------------------------

    def undecodable(self, ev: MhUndecodable, now: float) -> list[Action]:
        # RFC 4303 §1: what came in ESP stays confidential; a Parameter Problem quoting the
        # decrypted packet would put it on the wire in the clear (the HA does the same)
        return self._answers.undecodable(
            Undecodable(ev.error, ev.src, ev.dst, ev.packet, ev.mh_offset), now, icmp_allowed=not ev.in_esp,
            no_icmp_because="came in ESP: the quote would carry its decrypted bytes in the clear" if ev.in_esp
            else "tunnelled: no IPv6 packet of its own to quote")

    def not_handled(self, ev: OtherMhReceived) -> list[Action]:
        n = self.count("mh_not_handled")
        name = type(ev.message).__name__
        return [LogEvent("info", f"{name} from {ev.src} silently discarded: the LMA handles PBUs only",
                         {"src": str(ev.src), "mh_type": int(ev.message.mh_type), "counter": "mh_not_handled",
                          "count": n})]


__all__ = ["LmaGuard", "FLOOD_LOG_INTERVAL"]
