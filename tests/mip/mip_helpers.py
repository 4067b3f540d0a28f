"""Helpers for the mobile-node core tests: addresses, a core builder, BA
builders that answer a SendMh as RFC 6275 §10.3.1 / RFC 5555 / RFC 5648 home
agent would (written from the RFC, not from the core), and a wire check that
encodes every BU with the project's MH codec and decodes it back."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from p4mobility.mh import BindingAck, BindingIdentifier, BindingUpdate, decode_mh, encode_mh
from p4mobility.mip import BaReceived, MnConfig, MobileNode, OuterUdp4, SendMh

HOA = IPv6Address("2001:db8:1::100")
HA = IPv6Address("2001:db8:1::1")
HA4 = IPv4Address("203.0.113.1")
COA_A = IPv6Address("2001:db8:a::100")
COA_A2 = IPv6Address("2001:db8:a::200")
COA_B = IPv6Address("2001:db8:b::100")
COA4 = IPv4Address("192.168.1.20")  # private: behind a NAT in the DSMIPv6 tests
NAT4 = IPv4Address("198.51.100.7")  # the NAT's public address
HOME_LINK = IPv6Address("2001:db8:1::100")  # the home address itself, on the home link
T0 = 1000.0


def make_mn(sequence: int = 0, **cfg) -> MobileNode:
    """A core on the test addresses; no prefix solicitation after the first registration
    unless asked (test_rfc6275_mn_prefixes.py asks), so BU tests see BUs only."""
    cfg.setdefault("home_agent_ipv4", HA4)
    cfg.setdefault("solicit_prefixes_after_registration", False)
    return MobileNode(MnConfig(HOA, HA, **cfg), sequence=sequence)


def of(actions, cls) -> list:
    return [a for a in actions if isinstance(a, cls)]


def the(actions, cls):
    found = of(actions, cls)
    assert len(found) == 1, f"expected one {cls.__name__}, got {actions!r}"
    return found[0]


def wire(send: SendMh) -> BindingUpdate:
    """The BU as the HA would decode it: encoded with the checksum over the
    home address (RFC 6275 §6.1.1), decoded with the checksum verified."""
    data = encode_mh(send.message, send.checksum_src, send.checksum_dst)
    decoded = decode_mh(data, send.home_address, send.ipv6_dst)
    assert decoded == send.message
    assert len(data) % 8 == 0
    return decoded


def bu_of(actions) -> SendMh:
    send = the(actions, SendMh)
    wire(send)
    return send


def ba(send: SendMh, status: int = 0, lifetime: int | None = None, options: tuple = (),
       sequence: int | None = None, src=HA, dst=HOA, outer: OuterUdp4 | None | str = "auto",
       bid_statuses: dict[int, int] | None = None) -> BaReceived:
    """A BA answering ``send``: Sequence Number copied (RFC 6275 §10.3.1),
    lifetime granted = asked unless given; over UDP it comes back from the HA's
    IPv4 address and port 4191 to the port the BU came from (RFC 5555 §4.1)."""
    bu = send.message
    opts = list(options)
    if bid_statuses is not None:  # RFC 5648 §6.1: echo each BID option with its status
        opts += [BindingIdentifier(b.bid, bid_statuses.get(b.bid, 0), coa=b.coa)
                 for b in bu.options_of(BindingIdentifier)]
    msg = BindingAck(status, bu.sequence if sequence is None else sequence,
                     bu.lifetime if lifetime is None else lifetime, options=tuple(opts))
    if outer == "auto":
        outer = (OuterUdp4(HA4, send.path.coa, 4191, send.path.mn_port)
                 if send.path.encapsulation.value == "udp4191" else None)
    return BaReceived(msg, src, dst, outer)


def registered(mn: MobileNode, interface: str = "eth0", coa=COA_A, now: float = T0, **ba_kw):
    """Bring ``mn`` to a bound binding on ``coa``; returns (BU SendMh, BA actions)."""
    from p4mobility.mip import AddressAdded

    send = bu_of(mn.handle(AddressAdded(interface, coa), now))
    return send, mn.handle(ba(send, **ba_kw), now + 0.1)
