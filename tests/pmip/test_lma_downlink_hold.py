"""Downlink the switch punts for a binding that does not forward (RFC 5213
§5.3.5: de-registering): the LMA core decides to hold it, by any address of
the binding's home prefixes (not only a /64), and releases it when the
binding forwards again (handoff or revival)."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from p4mobility.pmip import (
    DownlinkPunted,
    HnpPool,
    HoldDownlink,
    MnPolicy,
    PolicyStore,
    ReleaseDownlink,
)

from tests.pmip.pmip_helpers import MAG1, MAG2, T0, make_lma, of, pbu, rx, the

WIDE = IPv6Network("2001:db8:300::/56")


def registered(lma, mn=b"mn1", **kw):
    lma.handle(rx(pbu(mn, **kw)), T0)
    return lma.bindings_for_mn(mn)[0]


def test_rfc5213_5_3_5_downlink_to_a_deregistering_binding_is_held():
    lma = make_lma()
    b = registered(lma)
    lma.handle(rx(pbu(seq=2, lifetime=0, hnps=b.home_prefixes, hi=5, ts=T0 + 1)), T0 + 1)
    dst = b.home_prefixes[0].network_address + 0x1234
    assert lma.handle(DownlinkPunted(dst, b"pkt"), T0 + 2) == [HoldDownlink(b.binding_id, b"pkt")]


def test_rfc5213_5_3_4_a_handoff_releases_what_was_held():
    lma = make_lma()
    b = registered(lma)
    lma.handle(rx(pbu(seq=2, lifetime=0, hnps=b.home_prefixes, hi=5, ts=T0 + 1)), T0 + 1)
    out = lma.handle(rx(pbu(seq=3, hnps=b.home_prefixes, hi=3, ts=T0 + 2), MAG2), T0 + 2)
    assert the(out, ReleaseDownlink) == ReleaseDownlink(b.binding_id, b.home_prefixes)


def test_downlink_punted_after_the_binding_forwards_again_is_released_at_once():
    lma = make_lma()
    b = registered(lma)
    out = lma.handle(DownlinkPunted(b.home_prefixes[0].network_address + 1, b"late"), T0 + 1)
    assert out == [HoldDownlink(b.binding_id, b"late"), ReleaseDownlink(b.binding_id, b.home_prefixes)]


def test_a_prefix_of_any_length_is_found_and_unknown_destinations_are_not_held():
    policy = PolicyStore([MAG1], [HnpPool("wide", WIDE.supernet(8), 56)], [MnPolicy(b"net", pool="wide")])
    lma = make_lma(policy=policy)
    b = registered(lma, b"net")
    assert b.home_prefixes[0].prefixlen == 56
    dst = b.home_prefixes[0].network_address + (5 << 64)  # outside the first /64 of the /56
    assert of(lma.handle(DownlinkPunted(dst, b"x"), T0 + 1), HoldDownlink) == [HoldDownlink(b.binding_id, b"x")]
    assert lma.handle(DownlinkPunted(IPv6Address("2001:db8:ffff::1"), b"x"), T0 + 1) == []
