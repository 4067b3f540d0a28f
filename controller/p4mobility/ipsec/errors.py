"""Typed IPsec errors: every way a packet or a configuration can be refused.

Rule: each error class carries, as class attributes, the RFC action taken
(``action``: always a drop for packets) and the auditable event name
(``audit``, RFC 4303 §3.4 / RFC 4301 §5.2 "auditable event"), plus the SA
counter it increments (``counter``). Callers match on the class, never on the
message text. Nothing here raises for a packet except these classes.
"""
from __future__ import annotations


class IpsecError(Exception):
    """Base of every per-packet IPsec failure; the packet is dropped."""

    action = "drop"
    audit: str | None = None
    counter = "malformed"


class MalformedPacket(IpsecError):
    """Too short, bad lengths or an unparsable header chain (RFC 4303 §3.4)."""

    audit = "malformed-packet"


class FragmentReceived(IpsecError):
    """RFC 4303 §3.4.1: a fragment reaching ESP processing is dropped."""

    audit = "fragment"


class UnknownSpi(IpsecError):
    """RFC 4303 §3.4.2: no valid SA for the SPI (+dst/src) -> drop + audit."""

    audit = "no-valid-sa"
    counter = "unknown_spi"


class ReplayError(IpsecError):
    """RFC 4303 §3.4.3: sequence number duplicated or left of the window."""

    audit = "replay"
    counter = "replay_drops"


class DuplicateSequence(ReplayError):
    """RFC 4303 §3.4.3: the sequence number was already received."""


class StaleSequence(ReplayError):
    """RFC 4303 §3.4.3: the sequence number falls left of the window."""


class IcvError(IpsecError):
    """RFC 4303 §3.4.4: ICV mismatch -> drop + audit; window not updated."""

    audit = "icv-failure"
    counter = "icv_failures"


class PaddingError(IpsecError):
    """RFC 4303 §2.4/§3.4.4.1: bad pad length or pad bytes after decryption."""

    audit = "bad-padding"
    counter = "padding_errors"


class DummyPacket(IpsecError):
    """RFC 4303 §2.6: Next Header 59 (dummy) -> discard silently, no audit."""

    audit = None
    counter = "dummy_packets"


class PolicyMismatch(IpsecError):
    """RFC 4301 §5.2: decrypted packet does not match the SA's selectors."""

    audit = "policy-mismatch"
    counter = "policy_drops"


class PolicyDiscard(IpsecError):
    """RFC 4301 §5.1/§5.2: the SPD says DISCARD (or PROTECT for a clear packet)."""

    audit = "policy-discard"
    counter = "policy_drops"


class NoOutboundSa(IpsecError):
    """RFC 4301 §5.1: PROTECT entry but no SA for its template -> drop."""

    audit = "no-outbound-sa"
    counter = "no_sa"


class SaExpired(IpsecError):
    """RFC 4301 §4.4.2.1: the hard lifetime passed; the SA may not be used."""

    audit = "sa-expired"
    counter = "expired_drops"


class SequenceOverflow(IpsecError):
    """RFC 4303 §3.3.3: the sender counter must not cycle -> refuse, rekey."""

    audit = "sequence-overflow"
    counter = "overflow_drops"


class IpsecConfigError(ValueError):
    """A configuration problem; ``key`` names the offending setting."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem
