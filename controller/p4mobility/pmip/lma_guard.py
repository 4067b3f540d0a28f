"""What the LMA does with signaling it will not process (RFC 6275 §9.2, §9.3.3).

Rules (sans-I/O; the core owns one ``LmaGuard`` and its ``counters``).
- A Mobility Header that did not decode (``MhUndecodable``): an unknown MH
  Type (the decode error's action is "binding_error") -> Binding Error status
  2 to its source (RFC 6275 §9.2); Binding Errors are rate limited like ICMPv6
  errors (§9.3.3, RFC 4443 §2.4(f)): a token bucket of
  ``max_binding_errors_per_second``, never sent to a multicast or unspecified
  source. Payload Proto not 59 and a Header Len that does not fit -> discarded
  and an ICMPv6 Parameter Problem code 0 pointing at the field (§9.2 SHOULD,
  RFC 4443 §3.4), from the same token bucket (RFC 4443 §2.4(f)), never about a
  packet from or to a multicast or unspecified address (§2.4(e)). Any other
  decode failure (checksum, truncation, an option overrunning the message) is
  silently discarded.
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

from p4mobility.binding.ratelimit import FloodGate, TokenBucket
from p4mobility.mh import BINDING_ERROR, ICMP_PARAMETER_PROBLEM, BindingError

from .actions import Action, LogEvent, SendIcmpParameterProblem, SendMh
from .config import LmaConfig
from .events import MhUndecodable, OtherMhReceived

FLOOD_LOG_INTERVAL = 1.0  # seconds between two log lines about one flooding source
UNSPECIFIED = IPv6Address(0)
ICMP_ROOM = 1280 - 40 - 8  # RFC 4443 §2.4(c): the error fits the minimum IPv6 MTU


class LmaGuard:
    def __init__(self, config: LmaConfig) -> None:
        self.config = config
        self.counters: dict[str, int] = {}
        self._errors = TokenBucket(config.max_binding_errors_per_second)
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
        err = ev.error
        why = f"{type(err).__name__}: {err}"
        if err.action == BINDING_ERROR and err.be_status is not None:
            return self._binding_error(err.be_status, ev, now, why)
        n = self.count("mh_undecodable")
        out: list[Action] = [LogEvent("info", f"MH from {ev.src} discarded: {why}",
                                      {"src": str(ev.src), "action": err.action, "icmp_pointer": err.icmp_pointer,
                                       "counter": "mh_undecodable", "count": n})]
        if err.action == ICMP_PARAMETER_PROBLEM and ev.packet and err.icmp_pointer is not None:
            out += self._parameter_problem(ev, err.icmp_code or 0, ev.mh_offset + err.icmp_pointer, now)
        return out

    def _parameter_problem(self, ev: MhUndecodable, code: int, pointer: int, now: float) -> list[Action]:
        if any(a.is_multicast or a.is_unspecified for a in (ev.src, ev.dst)):
            return []  # RFC 4443 §2.4(e)
        if not self._errors.take(now):
            self.count("icmp_errors_rate_limited")
            return []
        n = self.count("icmp_parameter_problems_sent")
        return [LogEvent("info", f"ICMPv6 Parameter Problem to {ev.src}, pointer {pointer}",
                         {"src": str(ev.src), "pointer": pointer, "counter": "icmp_parameter_problems_sent",
                          "count": n}),
                SendIcmpParameterProblem(code, pointer, ev.packet[:ICMP_ROOM], ev.dst, ev.src)]

    def not_handled(self, ev: OtherMhReceived) -> list[Action]:
        n = self.count("mh_not_handled")
        name = type(ev.message).__name__
        return [LogEvent("info", f"{name} from {ev.src} silently discarded: the LMA handles PBUs only",
                         {"src": str(ev.src), "mh_type": int(ev.message.mh_type), "counter": "mh_not_handled",
                          "count": n})]

    def _binding_error(self, status: int, ev: MhUndecodable, now: float, why: str) -> list[Action]:
        to = ev.src
        if to.is_multicast or to.is_unspecified:
            n = self.count("binding_errors_not_sent")
            return [LogEvent("info", f"no Binding Error to {to}: {why}", {"counter": "binding_errors_not_sent",
                                                                          "count": n})]
        if not self._errors.take(now):
            n = self.count("binding_errors_rate_limited")
            return [LogEvent("info", f"Binding Error rate limited: {why}", {"src": str(to), "count": n,
                                                                            "counter": "binding_errors_rate_limited"})]
        n = self.count("binding_errors_sent")
        own = ev.dst if not ev.dst.is_multicast else self.config.lma_address
        return [LogEvent("info", f"Binding Error {status} to {to}: {why}", {"src": str(to), "be_status": status,
                                                                            "counter": "binding_errors_sent",
                                                                            "count": n}),
                SendMh(BindingError(status, UNSPECIFIED), own, to)]


__all__ = ["LmaGuard", "FLOOD_LOG_INTERVAL"]
