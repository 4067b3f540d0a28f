"""Typed Binding Update outcomes of the home agent: each carries its RFC action.

Rule: the BU checks raise; the core catches ``BuRejected`` and answers with a
BA whose Status is the class attribute ``status`` (RFC 6275 §6.1.8 codes,
RFC 5648 §6.2, RFC 3963, RFC 5213), and catches ``BuDiscarded`` and answers
nothing, counting the discard under ``counter`` in a LogEvent (RFC 6275
§9.5.1/§10.3.1 "silently discard"). Callers branch on the class or the
attributes, never on the message text. Every check runs before the binding
cache changes, so a rejected or discarded BU leaves no state.
"""
from __future__ import annotations

from typing import ClassVar

from p4mobility.mh.constants import BaStatus

SILENT_DISCARD = "silent_discard"


class BuRejected(Exception):
    """Reject the BU with a BA carrying ``status``."""

    status: ClassVar[BaStatus] = BaStatus.REASON_UNSPECIFIED

    def __init__(self, detail: str = "", *, sequence: int | None = None) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        self.sequence = sequence  # BA Sequence Number override (135: the last accepted)


class AdministrativelyProhibited(BuRejected):
    """RFC 6275 §10.3.1 (local policy): e.g. a BU naming the home agent's own address."""

    status = BaStatus.ADMINISTRATIVELY_PROHIBITED  # 129


class InsufficientResources(BuRejected):
    """RFC 6275 §10.3.1 (spec row 11): no binding or tunnel slot left."""

    status = BaStatus.INSUFFICIENT_RESOURCES  # 130


class HomeRegistrationNotSupported(BuRejected):
    """RFC 6275 §10.3.1 (row 5): H=1 sent to an address where this node is no home agent."""

    status = BaStatus.HOME_REGISTRATION_NOT_SUPPORTED  # 131


class NotHomeSubnet(BuRejected):
    """RFC 6275 §10.3.1 (row 8): the home address is in none of our home prefixes."""

    status = BaStatus.NOT_HOME_SUBNET  # 132


class NotHomeAgentForThisMobileNode(BuRejected):
    """RFC 6275 §10.3.2 (row 9): de-registration for a home address we hold no binding for."""

    status = BaStatus.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE  # 133


class SequenceNumberOutOfWindow(BuRejected):
    """RFC 6275 §9.5.1 (row 6): not newer (mod 2^16) than the last accepted; BA carries that one."""

    status = BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW  # 135


class RegistrationTypeChangeDisallowed(BuRejected):
    """RFC 6275 §9.5.1, §10.3.1 (row 7): H flag differs from the existing entry's."""

    status = BaStatus.REGISTRATION_TYPE_CHANGE_DISALLOWED  # 139


class MobileRouterOperationNotPermitted(BuRejected):
    """RFC 3963 §6.6: R flag, and this home agent serves no mobile network prefixes."""

    status = BaStatus.MOBILE_ROUTER_OPERATION_NOT_PERMITTED  # 140


class ProxyRegistrationNotEnabled(BuRejected):
    """RFC 5213 §5.3.1: P flag at a home agent that does no proxy registration."""

    status = BaStatus.PROXY_REG_NOT_ENABLED  # 152


class McoaMalformed(BuRejected):
    """RFC 5648 §5.2: Binding Identifier option malformed (BID 0, a BID twice, two without CoA)."""

    status = BaStatus.MCOA_MALFORMED  # 164


class McoaNonMcoaBindingExists(BuRejected):
    """RFC 5648 §5.2 (decision): BID options while a binding without BIDs exists."""

    status = BaStatus.MCOA_NON_MCOA_BINDING_EXISTS  # 165


class McoaProhibited(BuRejected):
    """RFC 5648 §5.2: BID options, and multiple CoAs are off (HA or the MN's profile)."""

    status = BaStatus.MCOA_PROHIBITED  # 166


class McoaUnknownCoa(BuRejected):
    """RFC 5648 §5.2: a BID to de-register that has no binding, or a care-of address in a
    BID option the home agent cannot use (an IPv4 CoA not carried by the BU itself)."""

    status = BaStatus.MCOA_UNKNOWN_COA  # 167


class McoaBulkRegistrationProhibited(BuRejected):
    """RFC 5648 §4.3, §5.2: several BID options, bulk registration off."""

    status = BaStatus.MCOA_BULK_REGISTRATION_PROHIBITED  # 168


class McoaSimultaneousHomeAndForeignProhibited(BuRejected):
    """RFC 5648 §5.2: H flag in a BID option; this HA keeps no home-link binding."""

    status = BaStatus.MCOA_SIMULTANEOUS_HOME_AND_FOREIGN_PROHIBITED  # 169


class InvalidCareofAddress(BuRejected):
    """RFC 6275 §9.5.1 (status 174): the care-of address is not a unicast routable
    address, or (RFC 5555 decision) an IPv4 CoA without the IPv4 transport that proves it."""

    status = BaStatus.INVALID_CARE_OF_ADDRESS  # 174


class BuDiscarded(Exception):
    """Answer nothing; count it under ``counter``."""

    action: ClassVar[str] = SILENT_DISCARD
    counter: ClassVar[str] = "discarded"


class UnprotectedBindingUpdate(BuDiscarded):
    """RFC 3776 §4.1, RFC 6275 §10.3.1 (row 2): a home registration not carried by the
    MN-HA ESP SA is silently discarded."""

    counter = "unprotected"


class SaHomeAddressMismatch(BuDiscarded):
    """RFC 3776 §4.3 / RFC 4301 §5.2 (inbound selector check): the SA that carried the BU
    is bound to another home address; an MN may register only its own."""

    counter = "sa_home_address_mismatch"


class CircularRegistration(BuDiscarded):
    """RFC 6275 §9.5.1 (row 3): a care-of address is the home address of another binding."""

    counter = "circular"


class NonceIndicesInHomeRegistration(BuDiscarded):
    """RFC 6275 §10.3.1 (row 4): Nonce Indices option in a home registration."""

    counter = "nonce_indices"


class CorrespondentRegistration(BuDiscarded):
    """RFC 6275 §9.5.1: H=0 needs return-routability authorization, and this node does
    no route optimization (issue 13: the correspondent side is out of scope)."""

    counter = "correspondent_registration"


class NoIpv4Endpoint(BuDiscarded):
    """A BU in UDP 4191 over IPv4 while no ``ha_address_v4`` is configured: no way to answer."""

    counter = "no_ipv4_endpoint"


__all__ = [name for name in dir() if name[0].isupper()] + ["SILENT_DISCARD"]
