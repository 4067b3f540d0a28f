"""rtnetlink parsing (runtime/netlink.py) and movement detection
(runtime/access_watch.py) on message bytes captured from a real kernel
(tests/runtime/data/rtnetlink_capture.json says how), no socket."""
from __future__ import annotations

import json
import socket
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p4mobility.mip import AddressAdded, AddressRemoved, InterfaceDown
from p4mobility.runtime import netlink as nl
from p4mobility.runtime.access_watch import AccessWatch

CAPTURE = json.loads((Path(__file__).parent / "data" / "rtnetlink_capture.json").read_text())
DATAGRAMS = [(label, bytes.fromhex(d)) for label, ds in CAPTURE["datagrams"] for d in ds]


def messages(*labels: str) -> list:
    return [m for label, d in DATAGRAMS if label in labels for m in nl.parse(d)]


def test_every_captured_datagram_parses():
    for label, d in DATAGRAMS:
        assert nl.parse(d), label


def test_address_messages_carry_flags_and_lifetime():
    (added,) = messages("v6 nodad added")
    assert (added.new, added.address, added.prefixlen) == (True, IPv6Address("2001:db8:a::2"), 64)
    assert added.flags & nl.IFA_F_NODAD and not added.flags & nl.IFA_F_TENTATIVE
    assert added.valid_lifetime is None  # permanent: forever
    first = messages("v6 with dad added")[0]
    assert first.address == IPv6Address("2001:db8:b::2") and first.flags & nl.IFA_F_TENTATIVE
    (removed,) = messages("v6 removed")
    assert not removed.new and removed.address == IPv6Address("2001:db8:a::2")
    (v4,) = messages("v4 added")
    assert v4.address == IPv4Address("10.1.0.2") and v4.prefixlen == 24


def test_link_messages_name_and_carrier():
    cap0 = [m for m in messages("links up", "carrier lost") if isinstance(m, nl.LinkMsg) and m.name == "cap0"]
    # the peer was up first, so cap0 has its carrier (IFF_LOWER_UP) as it comes up; then it is lost
    assert [(m.flags & nl.IFF_UP, m.up) for m in cap0] == [(1, True), (1, True), (1, False)]


def test_watch_turns_the_capture_into_core_events():
    watch = AccessWatch(("cap0",), tunnel="tun0")
    events = [e for m in messages(*CAPTURE["commands"]) for e in watch.feed(m)]
    a, b = IPv6Address("2001:db8:a::2"), IPv6Address("2001:db8:b::2")
    assert events == [
        AddressAdded("cap0", a),  # link-local and tentative addresses are never reported
        AddressAdded("cap0", b),  # after DAD
        AddressAdded("cap0", IPv4Address("10.1.0.2")),
        AddressRemoved("cap0", a),
        InterfaceDown("cap0"),  # carrier lost: the addresses it keeps no longer count
    ]
    assert watch.links() == {}  # deleted


def test_watch_from_a_dump_skips_loopback_and_the_tunnel():
    watch = AccessWatch((), tunnel="dum1")
    events = [e for m in messages("dump links", "dump addrs") for e in watch.feed(m)]
    assert events == [AddressAdded("dum0", IPv4Address("192.0.2.5")),
                      AddressAdded("dum0", IPv6Address("2001:db8:d::1"))]
    assert set(watch.links()) == {"dum0"}


def test_watch_link_back_up_reannounces_kept_addresses():
    watch = AccessWatch(("eth0",), tunnel="tun0")
    up, down = nl.IFF_UP | 0x10000, nl.IFF_UP
    addr = nl.AddrMsg(True, 5, IPv4Address("10.1.0.2"), 24, 0, 0, 3600)
    assert watch.feed(nl.LinkMsg(True, 5, "eth0", down)) == []
    assert watch.feed(addr) == []  # known, but no carrier
    assert watch.feed(nl.LinkMsg(True, 5, "eth0", up)) == [AddressAdded("eth0", IPv4Address("10.1.0.2"), 3600)]
    assert watch.feed(nl.LinkMsg(True, 5, "eth1", up)) == [InterfaceDown("eth0")]  # renamed away
    assert watch.feed(nl.LinkMsg(True, 6, "tun0", up)) == []


def test_requests_parse_back():
    req = nl.address_request(True, 7, IPv6Address("2001:db8:1::100"), 128, nl.IFA_F_NODAD, seq=42)
    (msg,) = nl.parse(req)
    assert (msg.index, msg.address, msg.prefixlen, msg.flags) == (7, IPv6Address("2001:db8:1::100"), 128,
                                                                  nl.IFA_F_NODAD)
    route = nl.default_route_request(True, socket.AF_INET6, 7, 16, IPv6Address("2001:db8:1::100"), seq=43)
    assert len(route) % 4 == 0 and nl.parse(route) == []  # routes are sent, never parsed


def _with_length(data: bytes, length: int) -> bytes:
    return length.to_bytes(4, "little" if socket.htonl(1) != 1 else "big") + data[4:]


@pytest.mark.parametrize("broken,why", [
    (lambda d: _with_length(d, len(d) + 4), "runs past|bytes left"),  # says longer than it is
    (lambda d: _with_length(d[:20], 20), "ifaddrmsg truncated"),  # header and half a body
    (lambda d: _with_length(d[:24] + b"\xff\x00" + d[26:], len(d)), "attribute length"),  # rta_len 255
])
def test_truncated_is_a_netlink_error(broken, why):
    data = nl.address_request(True, 7, IPv4Address("10.0.0.1"), 24, seq=1)
    with pytest.raises(nl.NetlinkError, match=why):
        nl.parse(broken(data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_raises_netlink_error_only(data):
    try:
        nl.parse(data)
    except nl.NetlinkError:
        pass


def test_watch_resync_after_lost_notifications_reports_the_difference():
    up = nl.IFF_UP | 0x10000
    a, b, c = IPv6Address("2001:db8:a::2"), IPv6Address("2001:db8:b::2"), IPv4Address("10.1.0.2")
    watch = AccessWatch(("eth0", "eth1"), tunnel="tun0")
    for m in (nl.LinkMsg(True, 5, "eth0", up), nl.AddrMsg(True, 5, a, 64, 0, 0, None),
              nl.LinkMsg(True, 6, "eth1", up), nl.AddrMsg(True, 6, c, 24, 0, 0, None)):
        watch.feed(m)
    # meanwhile (notifications lost): a went away, b came, eth1 lost its carrier
    dump = [nl.LinkMsg(True, 5, "eth0", up), nl.LinkMsg(True, 6, "eth1", nl.IFF_UP),
            nl.AddrMsg(True, 5, b, 64, 0, 0, None), nl.AddrMsg(True, 6, c, 24, 0, 0, None)]
    assert watch.resync(dump) == [AddressRemoved("eth0", a), InterfaceDown("eth1"), AddressAdded("eth0", b)]
    assert watch.addresses("eth0") == {b}
