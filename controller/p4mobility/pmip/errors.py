"""Typed PBU outcomes: each rejection carries its RFC 5213 §8.9 status.

Rule: validation raises; the LMA core catches ``PbuRejected`` and answers with
a PBA whose Status is the class attribute ``status`` (RFC 5213 §5.3.6), and
catches ``PbuIgnored`` and answers nothing (``action`` says why). Callers
branch on the class or ``status``, never on the message text. Nothing raises
after the binding cache has been changed, so a rejection leaves no state.
"""
from __future__ import annotations

from typing import ClassVar

from p4mobility.mh.constants import BaStatus

SILENT_DISCARD = "silent_discard"


class PbuRejected(Exception):
    """Reject the PBU with a PBA carrying ``status``."""

    status: ClassVar[BaStatus] = BaStatus.REASON_UNSPECIFIED

    def __init__(self, detail: str = "", *, sequence: int | None = None) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        self.sequence = sequence  # PBA sequence override (135: last accepted)


class InsufficientResources(PbuRejected):
    """RFC 5213 §5.3.2: no prefix or binding/tunnel slot left."""

    status = BaStatus.INSUFFICIENT_RESOURCES  # 130


class NotHomeAgentForThisMobileNode(PbuRejected):
    """RFC 6275 §10.3.2 (via RFC 5213 §5.3.1): de-registration without a binding."""

    status = BaStatus.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE  # 133


class SequenceNumberOutOfWindow(PbuRejected):
    """RFC 5213 §5.5 / RFC 6275 §9.5.1: sequence mode, not newer than accepted."""

    status = BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW  # 135


class ProxyRegNotEnabled(PbuRejected):
    """RFC 5213 §5.3.1: MN not authorized for network-based mobility."""

    status = BaStatus.PROXY_REG_NOT_ENABLED  # 152


class NotLmaForThisMobileNode(PbuRejected):
    """RFC 5213 §5.3.1: this LMA holds no profile for the MN."""

    status = BaStatus.NOT_LMA_FOR_THIS_MOBILE_NODE  # 153


class MagNotAuthorized(PbuRejected):
    """RFC 5213 §4, §5.3.1: sender not allowed to send PBUs for this MN."""

    status = BaStatus.MAG_NOT_AUTHORIZED_FOR_PROXY_REG  # 154


class NotAuthorizedForHnp(PbuRejected):
    """RFC 5213 §5.3.2, §5.4.1.1: prefix not the MN's to claim."""

    status = BaStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX  # 155


class TimestampMismatch(PbuRejected):
    """RFC 5213 §5.5: timestamp outside TimestampValidityWindow (or absent)."""

    status = BaStatus.TIMESTAMP_MISMATCH  # 156


class TimestampLowerThanPrevAccepted(PbuRejected):
    """RFC 5213 §5.5: older than the BCE's last accepted timestamp."""

    status = BaStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED  # 157


class MissingHnpOption(PbuRejected):
    """RFC 5213 §5.3.1: no Home Network Prefix option."""

    status = BaStatus.MISSING_HOME_NETWORK_PREFIX_OPTION  # 158


class BcePbuPrefixSetMismatch(PbuRejected):
    """RFC 5213 §5.4.1.1: the PBU's prefixes are not the BCE's prefix set."""

    status = BaStatus.BCE_PBU_PREFIX_SET_DO_NOT_MATCH  # 159


class MissingMnIdOption(PbuRejected):
    """RFC 5213 §5.3.1: no MN Identifier option (PBA carries an empty one)."""

    status = BaStatus.MISSING_MN_IDENTIFIER_OPTION  # 160


class MissingHandoffIndicatorOption(PbuRejected):
    """RFC 5213 §5.3.1: no Handoff Indicator option."""

    status = BaStatus.MISSING_HANDOFF_INDICATOR_OPTION  # 161


class MissingAccessTechTypeOption(PbuRejected):
    """RFC 5213 §5.3.1: no Access Technology Type option."""

    status = BaStatus.MISSING_ACCESS_TECH_TYPE_OPTION  # 162


class InvalidCareofAddress(PbuRejected):
    """RFC 6275 §9.5.1 (via RFC 5213): the Proxy-CoA (an Alternate Care-of Address option)
    is not a unicast routable address, or is the LMA's own."""

    status = BaStatus.INVALID_CARE_OF_ADDRESS  # 174


class PbuIgnored(Exception):
    """Answer nothing; ``action`` names the RFC behaviour, ``counter`` the core's count."""

    action: ClassVar[str] = SILENT_DISCARD
    counter: ClassVar[str] = "pbu_ignored"


class NotAProxyBindingUpdate(PbuIgnored):
    """P flag clear: a MIPv6 BU, not for the PMIPv6 LMA (RFC 5213 §8.1)."""

    counter = "bu_not_proxy"


class NotAddressedToThisLma(PbuIgnored):
    """Destination is not our LMAA (RFC 5213 §2.2): not ours to answer."""

    counter = "pbu_not_to_lmaa"


class StaleDeregistration(PbuIgnored):
    """RFC 5213 §5.3.5: lifetime 0 from a MAG other than the BCE's Proxy-CoA -> ignore."""

    counter = "pbu_stale_deregistration"


class BceTransitionError(RuntimeError):
    """A (BceState, BceEvent) pair missing from BCE_TRANSITIONS: a core bug."""


__all__ = [name for name in dir() if name[0].isupper()]
