"""p4rt/fastenc encodes every update entries.py makes byte for byte as finsy does
(finsy's generic encoder is the oracle), and leaves what it does not handle to finsy."""
from __future__ import annotations

import copy
from ipaddress import IPv4Address, ip_network
from ipaddress import IPv6Address as A, IPv6Network as N

import pytest
from finsy import (P4ActionProfileGroup, P4ActionProfileMember, P4IndirectAction, P4PacketOut, P4Schema, P4TableAction, P4TableEntry,
                   P4TableMatch)
from hypothesis import given, settings
from hypothesis import strategies as st

from p4mobility.binding import Path, TunnelEndpoints, Transport
from p4mobility.p4rt.entries import Route, lma_base_entries, lma_changes, mag_base_entries, mag_changes
from p4mobility.p4rt.fastenc import UpdateEncoder
from p4mobility.pmip.actions import (BindingCreated, BindingDeleted, BindingDeregistered, BindingMoved,
                                     BindingUpdated, MagBindingInstalled, MagBindingRemoved, TunnelPeerAdded,
                                     TunnelPeerRemoved)
from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO

SCHEMA = P4Schema(DEFAULT_P4INFO)
ENC = UpdateEncoder(SCHEMA)
LMA, MAG1, MAG2 = A("2001:db8:ffff::1"), A("2001:db8:a::1"), A("2001:db8:b::1")
HA4, COA4 = IPv4Address("192.0.2.1"), IPv4Address("198.51.100.7")
HNPS = (N("2001:db8:100::/64"), N("2001:db8:100:1::/64"))
MN = b"mn1"


def _all_changes():
    r = Route(N("2001:db8:c::/64"), 3, "02:00:00:00:00:0a", "02:00:00:00:00:0b")
    out = lma_base_entries(LMA, [r]) + mag_base_entries(MAG1, [r], [1, 2])
    peers = [TunnelEndpoints(LMA, MAG1), TunnelEndpoints(HA4, COA4, Transport.IPV4),
             TunnelEndpoints(HA4, COA4, Transport.UDP_IPV4, 4191, 40001)]
    for i, ends in enumerate(peers, 1):
        out += lma_changes(TunnelPeerAdded(i, ends, inner_ipv4=i > 1)) + lma_changes(TunnelPeerRemoved(i, ends))
    p1, p2 = Path(0, peers[0], 1), Path(0, TunnelEndpoints(LMA, MAG2), 2)
    homes = HNPS + (ip_network("10.1.0.5/32"),)
    out += lma_changes(BindingCreated(7, MN, homes, (p1,), 40.0, 140.0))
    out += lma_changes(BindingMoved(7, MN, homes, (p1,), (p2,), 40.0, 150.0))
    out += lma_changes(BindingUpdated(7, MN, homes, (p1,), 40.0, 240.0, reactivated=True))
    out += lma_changes(BindingDeregistered(7, MN, homes, (p1,), 200.0))
    out += lma_changes(BindingDeleted(7, MN, homes, (p1,), "deregistered"))
    p4, p5 = Path(1, peers[1], 2), Path(2, peers[2], 3)  # IPv4 and UDP tunnels; both: RFC 5648
    out += lma_changes(BindingCreated(8, MN, homes, (p4,), 40.0, 140.0))
    out += lma_changes(BindingMoved(8, MN, homes, (p4,), (p5,), 40.0, 150.0))
    out += lma_changes(BindingMoved(8, MN, homes, (p5,), (p4, p5), 40.0, 160.0))
    out += mag_changes(TunnelPeerAdded(1, TunnelEndpoints(MAG1, LMA)), "02:00:00:00:00:01")
    inst = MagBindingInstalled(1, MN, bytes.fromhex("0200000000aa"), HNPS, LMA, MAG1, 1, A("fe80::1"), 40.0)
    out += mag_changes(inst, "02:00:00:00:00:01")
    out += mag_changes(MagBindingRemoved(1, MN, HNPS, LMA, 1, "detached"), "02:00:00:00:00:01")
    return [e for _, e in out if e is not None]


def _name(e) -> str:
    if isinstance(e, P4ActionProfileGroup):
        return f"{e.action_profile_id}/group"
    return e.action_profile_id if isinstance(e, P4ActionProfileMember) else e.table_id


def _same(update):
    want = copy.copy(update).encode_update(SCHEMA).SerializeToString(deterministic=True)
    got = ENC.encode(copy.copy(update)).SerializeToString(deterministic=True)
    assert got == want, update


@pytest.mark.parametrize("op", ["+", "-", "~"])
def test_every_entry_of_entries_py_encodes_as_finsy_does(op):
    entries = _all_changes()
    assert {_name(e) for e in entries} >= {"bindings", "uplink_sources", "binding_profile", "binding_coas",
                                           "tunnel_peers", "tunnel_terminations", "local_addresses", "routes",
                                           "punts", "mag_uplinks", "mag_downlinks", "binding_peer_selector",
                                           "binding_peer_selector/group", "binding_peers"}
    assert {e.action.name for e in entries if _name(e) == "binding_profile"} == {
        "set_binding_tunnel_ipv6", "set_binding_tunnel_ipv4", "set_binding_tunnel_udp", "set_multi_coa_binding",
        "set_binding_without_tunnel"}
    enc = UpdateEncoder(SCHEMA)
    for e in entries:
        u = copy.copy(e)
        u = {"+": u.__pos__, "-": u.__neg__, "~": u.__invert__}[op]()
        want = copy.copy(u).encode_update(SCHEMA).SerializeToString(deterministic=True)
        before = enc.fast
        assert enc.encode(u).SerializeToString(deterministic=True) == want, u
        # what a registration writes takes the fast path; ternary punts and MAC params go to finsy
        # (RFC 5648 selector groups and the binding_peers entries naming them are rare: finsy)
        assert (enc.fast > before) == (_name(e) in ("bindings", "uplink_sources", "binding_profile", "binding_coas",
                                                    "tunnel_peers", "tunnel_terminations",
                                                    "local_addresses", "mag_uplinks")), u


addr = st.integers(0, (1 << 128) - 1).map(A)


@settings(max_examples=300, deadline=None)
@given(addr, addr, st.integers(0, 128), st.integers(0, (1 << 32) - 1))
def test_p4runtime_8_4_lpm_masked_shortest_bytes_and_slash_0_omitted(coa, net, plen, bid):
    _same(+P4TableEntry("uplink_sources", match=P4TableMatch(home_addr=f"{net}/{plen}"),
                        action=P4IndirectAction(member_id=bid)))
    _same(~P4ActionProfileMember("binding_profile", member_id=bid, action=P4TableAction(
        "set_binding_tunnel_ipv6", binding_id=bid, src_addr=str(net), dst_addr=str(coa))))


def test_out_of_range_and_unhandled_values_get_finsy_behaviour():
    too_big = +P4ActionProfileMember("binding_profile", member_id=1, action=P4TableAction(
        "set_binding_without_tunnel", binding_id=1 << 32))
    with pytest.raises(ValueError):
        ENC.encode(too_big)
    missing = +P4ActionProfileMember("binding_profile", member_id=1, action=P4TableAction(
        "set_binding_tunnel_ipv6", binding_id=1))
    with pytest.raises(ValueError):
        ENC.encode(missing)
    for e in (P4TableEntry("bindings", match=P4TableMatch(dst_addr=N("2001:db8::/64")),
                           action=P4IndirectAction(member_id=1)),
              P4TableEntry("bindings", match=P4TableMatch(dst_addr=" 2001:db8::/64"),
                           action=P4IndirectAction(member_id=1)),
              P4TableEntry("bindings", match=P4TableMatch(dst_addr="2001:db8::/64"),
                           action=P4TableAction("set_binding_without_tunnel", binding_id=1)),
              P4TableEntry("tunnel_peers", match=P4TableMatch(tunnel_peer_id=1),
                           action=P4IndirectAction(member_id=1)),
              P4TableEntry("tunnel_peers", match=P4TableMatch(tunnel_peer_id="0x10"),
                           action=P4TableAction("load_tunnel_peer_ipv6", src_addr="::1", dst_addr="::2"),
                           priority=0)):
        try:
            want = copy.copy(e).__pos__().encode_update(SCHEMA)
        except ValueError:
            with pytest.raises(ValueError):
                ENC.encode(+copy.copy(e))
            continue
        assert ENC.encode(+copy.copy(e)) == want


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=200), st.integers(0, 511), st.integers(0, 1))
def test_p4runtime_16_1_packet_out_encodes_as_finsy_does(payload, port, through):
    po = P4PacketOut(payload, egress_port=port, through_pipeline=through, _pad0=0)
    enc = UpdateEncoder(SCHEMA)
    assert enc.encode(po).SerializeToString(deterministic=True) == \
        po.encode_update(SCHEMA).SerializeToString(deterministic=True)
    assert enc.fast == 1


def test_packet_out_missing_extra_or_too_wide_metadata_gets_finsy_errors():
    for po in (P4PacketOut(b"x", egress_port=1, through_pipeline=1),
               P4PacketOut(b"x", egress_port=1, through_pipeline=1, _pad0=0, extra=1),
               P4PacketOut(b"x", egress_port=512, through_pipeline=1, _pad0=0)):
        with pytest.raises(ValueError):
            po.encode_update(SCHEMA)
        with pytest.raises(ValueError):
            ENC.encode(po)
