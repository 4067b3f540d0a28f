"""Answers to a Mobility Header a node will not process (RFC 6275 §9.2, §9.3.3), for every core.

Rules (sans-I/O; one ``MhAnswers`` per core, counting with the core's ``count``).
- ``undecodable``: a Mobility Header ``decode_mh`` refused. An unknown MH Type
  (the error's action "binding_error") -> Binding Error with its status (2,
  §9.2). Anything else is discarded, counted under ``undecodable_counter`` and
  logged with the error's RFC action; when that action is an ICMPv6 Parameter
  Problem (Payload Proto not 59, a Header Len that does not fit: §9.2 SHOULD)
  and ``icmp_allowed``, also an ICMPv6 Parameter Problem code 0 whose pointer is
  the field's offset in the invoking packet (RFC 4443 §3.4).
- Both kinds of error share one token bucket of ``rate`` per second (§9.3.3:
  Binding Errors are limited like ICMPv6 errors, RFC 4443 §2.4(f)).
- Never an error to a multicast or unspecified address: a Binding Error to such
  a source is not sent (§9.3.3); no ICMPv6 error about a packet from or to one
  (RFC 4443 §2.4(e)). The invoking packet is cut to fit the minimum IPv6 MTU
  (§2.4(c)).
- Counters: ``binding_errors_sent``, ``binding_errors_rate_limited``,
  ``binding_errors_not_sent``, ``icmp_parameter_problems_sent``,
  ``icmp_errors_rate_limited``; each with one LogEvent naming its counter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import Callable

from p4mobility.mh import BINDING_ERROR, ICMP_PARAMETER_PROBLEM, BindingError, MhDecodeError

from .actions import LogEvent, SendMh
from .ratelimit import TokenBucket

UNSPECIFIED = IPv6Address(0)
ICMP_ROOM = 1280 - 40 - 8  # RFC 4443 §2.4(c): the error fits the minimum IPv6 MTU


@dataclass(frozen=True, slots=True)
class SendIcmpParameterProblem:
    """RFC 6275 §9.2, RFC 4443 §3.4: an ICMPv6 Parameter Problem, code ``code``, from ``src``
    to ``dst``, ``pointer`` = the octet offset of the offending field in ``invoking`` (the
    packet that caused it, as much of it as fits the minimum MTU, RFC 4443 §2.4(c))."""

    code: int
    pointer: int
    invoking: bytes = field(repr=False)
    src: IPv6Address = UNSPECIFIED
    dst: IPv6Address = UNSPECIFIED


@dataclass(frozen=True, slots=True)
class Undecodable:
    """What the rules need of an MH that did not decode: ``packet`` is the IPv6 packet that
    carried it (empty: none to quote) with the MH at ``mh_offset``."""

    error: MhDecodeError
    src: IPv6Address
    dst: IPv6Address
    packet: bytes = field(default=b"", repr=False)
    mh_offset: int = 0
    home_address: IPv6Address = UNSPECIFIED  # the Binding Error's Home Address field (§6.1.9)


class MhAnswers:
    def __init__(self, rate: float, count: Callable[[str], int], own_address: IPv6Address,
                 undecodable_counter: str = "mh_undecodable") -> None:
        self._bucket = TokenBucket(rate)
        self._count = count
        self.own_address = own_address
        self.undecodable_counter = undecodable_counter

    def undecodable(self, ev: Undecodable, now: float, icmp_allowed: bool = True,
                    no_icmp_because: str = "") -> list:
        err = ev.error
        why = f"{type(err).__name__}: {err}"
        if err.action == BINDING_ERROR and err.be_status is not None:
            return self.binding_error(err.be_status, ev.home_address, ev.dst, ev.src, now, why)
        counter = self.undecodable_counter
        n = self._count(counter)
        fields = {"src": str(ev.src), "action": err.action, "icmp_pointer": err.icmp_pointer, "counter": counter,
                  "count": n}
        wants_icmp = err.action == ICMP_PARAMETER_PROBLEM and err.icmp_pointer is not None
        if wants_icmp and not (icmp_allowed and ev.packet):
            fields["icmp_not_sent"] = no_icmp_because or "no invoking packet to quote"
        out: list = [LogEvent("info", f"MH from {ev.src} discarded: {why}", fields)]
        if wants_icmp and icmp_allowed and ev.packet:
            out += self.parameter_problem(ev, err.icmp_code or 0, ev.mh_offset + (err.icmp_pointer or 0), now)
        return out

    def parameter_problem(self, ev: Undecodable, code: int, pointer: int, now: float) -> list:
        if any(a.is_multicast or a.is_unspecified for a in (ev.src, ev.dst)):
            return []  # RFC 4443 §2.4(e)
        if not self._bucket.take(now):
            self._count("icmp_errors_rate_limited")
            return []
        n = self._count("icmp_parameter_problems_sent")
        return [LogEvent("info", f"ICMPv6 Parameter Problem to {ev.src}, pointer {pointer}",
                         {"src": str(ev.src), "pointer": pointer, "counter": "icmp_parameter_problems_sent",
                          "count": n}),
                SendIcmpParameterProblem(code, pointer, ev.packet[:ICMP_ROOM], ev.dst, ev.src)]

    def binding_error(self, status: int, home_address: IPv6Address, own: IPv6Address, to: IPv6Address,
                      now: float, why: str) -> list:
        """RFC 6275 §9.3.3: Binding Error ``status`` from ``own`` (the offending packet's
        destination; ours when that was multicast) to ``to``."""
        if to.is_multicast or to.is_unspecified:
            n = self._count("binding_errors_not_sent")
            return [LogEvent("info", f"no Binding Error to {to}: {why}",
                             {"counter": "binding_errors_not_sent", "count": n})]
        if not self._bucket.take(now):
            n = self._count("binding_errors_rate_limited")
            return [LogEvent("info", f"Binding Error rate limited: {why}",
                             {"src": str(to), "count": n, "counter": "binding_errors_rate_limited"})]
        n = self._count("binding_errors_sent")
        src = own if not own.is_multicast else self.own_address
        return [LogEvent("info", f"Binding Error {status} to {to}: {why}",
                         {"src": str(to), "be_status": status, "counter": "binding_errors_sent", "count": n}),
                SendMh(BindingError(status, home_address), src, to)]


__all__ = ["MhAnswers", "SendIcmpParameterProblem", "Undecodable", "ICMP_ROOM"]
