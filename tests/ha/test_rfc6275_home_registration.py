"""RFC 6275 §9.5.1, §10.3.1, §10.3.2: home registration at the home agent, one test per row
of the decision table in spec/mipv6-dsmipv6.md §1 (rows 2 and its SA check: test_rfc3776_sa.py),
plus lifetimes, sequence-number wrap, moves and the BA's route (§9.5.4)."""
from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest
from p4mobility.binding import (
    BindingCreated,
    BindingDeleted,
    BindingMoved,
    BindingUpdated,
    LogEvent,
    SendMh,
    Transport,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from p4mobility.ha import HomeState, Ipv6Route, SendBindingAck
from p4mobility.mh import (
    BaStatus,
    BindingError,
    BindingRefreshAdvice,
    MhChecksumError,
    MhDecodeError,
    MhUnknownTypeError,
    NonceIndices,
    decode_mh,
)
from p4mobility.ha import MhUndecodable

from tests.ha.ha_helpers import (
    COA,
    COA2,
    HA,
    HOA,
    HOA2,
    at_home,
    ba_of,
    bu,
    from_coa,
    make_ha,
    of,
    only,
    sent,
)


def register(ha, seq=1, coa=COA, hoa=HOA, now=0.0, lifetime=100):
    return ha.handle(from_coa(bu(seq, lifetime), coa, hoa), now)


def test_rfc6275_10_3_1_row12_first_registration_creates_binding_tunnel_and_ba():
    ha = make_ha()
    actions = register(ha, seq=7)
    peer, created, ack = actions
    assert isinstance(peer, TunnelPeerAdded) and isinstance(created, BindingCreated) and isinstance(ack, SendBindingAck)
    assert peer.endpoints.local == HA and peer.endpoints.remote == COA and peer.transport is Transport.IPV6
    assert created.paths[0].tunnel_peer_id == peer.tunnel_peer_id and created.paths[0].bid == 0
    assert [str(n) for n in created.home_prefixes] == [f"{HOA}/128"]
    ba, act = ba_of(actions)
    assert (ba.status, ba.sequence, ba.lifetime, ba.key_mgmt_compat, ba.proxy) == (0, 7, 100, False, False)
    # §9.5.4: to the BU's source (the CoA) with a Type 2 Routing Header carrying the HoA
    assert act.route == Ipv6Route(HA, COA, HOA) and act.route.type2_routing_header == HOA
    v = ha.binding_for(HOA)
    assert v.state is HomeState.ACTIVE and v.sequence == 7 and v.expires_at == 400.0
    assert v.careofs[0].coa == COA and ha.next_deadline() == 400.0


def test_rfc6275_10_3_1_refresh_same_coa_is_binding_updated_without_tunnel_changes():
    ha = make_ha()
    register(ha, seq=1)
    actions = register(ha, seq=2, now=100.0)
    assert [type(a) for a in actions] == [BindingUpdated, SendBindingAck]
    assert ha.binding_for(HOA).expires_at == 500.0 and ha.next_deadline() == 500.0


def test_rfc6275_10_3_1_move_adds_new_peer_before_and_removes_old_after_the_binding():
    ha = make_ha()
    register(ha, seq=1)
    actions = register(ha, seq=2, coa=COA2, now=10.0)
    assert [type(a) for a in actions] == [TunnelPeerAdded, BindingMoved, TunnelPeerRemoved, SendBindingAck]
    moved = only(actions, BindingMoved)
    assert moved.old_paths[0].coa == COA and moved.paths[0].coa == COA2
    assert only(actions, TunnelPeerRemoved).endpoints.remote == COA
    assert [p.endpoints.remote for p in ha.tunnel_peers()] == [COA2]
    assert ba_of(actions)[1].route.dst == COA2


def test_rfc6275_9_2_row1_unknown_mh_type_gets_binding_error_2_and_bad_checksum_nothing():
    ha = make_ha()
    mh = bytes([59, 1, 99, 0, 0, 0]) + bytes(10)  # MH Type 99, 16 bytes
    with pytest.raises(MhDecodeError) as err:
        decode_mh(mh)
    assert isinstance(err.value, MhUnknownTypeError)
    actions = ha.handle(MhUndecodable(err.value, COA, HA, HOA), 0.0)
    (be,) = sent(actions)
    assert isinstance(be, BindingError) and be.status == 2 and be.home_address == HOA
    assert only(actions, SendMh).dst == COA and only(actions, SendMh).src == HA
    ok = sent(register(make_ha()))[0]
    wire = bytearray(struct.pack("!BBBBH", 59, 1, 6, 0, 0xBEEF) + bytes(10))
    with pytest.raises(MhChecksumError) as bad:
        decode_mh(bytes(wire), COA, HA)
    actions = ha.handle(MhUndecodable(bad.value, COA, HA, HOA), 0.0)
    assert of(actions, SendMh) == [] and ha.counters["undecodable"] == 1 and ok.status == 0


def test_rfc6275_9_5_1_row3_circular_registration_is_silently_discarded():
    ha = make_ha()
    register(ha, hoa=HOA2, coa=COA2)
    before = ha.state()
    actions = ha.handle(from_coa(bu(1), HOA2, HOA), 0.0)  # CoA = another MN's home address
    assert of(actions, SendBindingAck) == [] and ha.state() == before
    assert only(actions, LogEvent).fields["counter"] == "circular" and ha.counters["circular"] == 1


def test_rfc6275_10_3_1_row4_nonce_indices_in_home_registration_discarded():
    ha = make_ha()
    actions = ha.handle(from_coa(bu(1, 100, NonceIndices(1, 2))), 0.0)
    assert of(actions, SendBindingAck) == [] and ha.state() == () and ha.counters["nonce_indices"] == 1


def test_rfc6275_10_3_1_row5_home_registration_to_an_address_we_are_no_home_agent_on_gets_131():
    ha = make_ha()
    other = IPv6Address("2001:db8:1::2")
    actions = ha.handle(from_coa(bu(1), dst=other), 0.0)
    ba, act = ba_of(actions)
    assert ba.status == BaStatus.HOME_REGISTRATION_NOT_SUPPORTED and ba.lifetime == 0
    assert act.route.src == other and ha.state() == ()


@pytest.mark.parametrize("seq", [5, 4, 0x8005, 0x8006])  # equal, older, 2^15 ahead, 2^15 - 1 behind
def test_rfc6275_9_5_1_row6_sequence_not_newer_mod_2_16_gets_135_with_the_last_accepted(seq):
    ha = make_ha()
    register(ha, seq=5)
    before = ha.state()
    ba, _ = ba_of(ha.handle(from_coa(bu(seq), COA2), 1.0))
    assert ba.status == BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW and ba.sequence == 5 and ba.lifetime == 0
    assert ha.state() == before


def test_rfc6275_9_5_1_sequence_numbers_wrap_modulo_2_16():
    ha = make_ha()
    register(ha, seq=0xFFFF)
    assert ba_of(register(ha, seq=0, now=1.0))[0].status == 0  # 0 follows 0xFFFF
    assert ba_of(register(ha, seq=0x7FFF, now=2.0))[0].status == 0  # 32767 ahead: newer
    ba, _ = ba_of(register(ha, seq=0xFFFF, now=3.0))  # 0x8000 ahead: not newer
    assert ba.status == 135 and ba.sequence == 0x7FFF


def test_rfc6275_9_5_1_row7_h_flag_clear_for_a_home_registration_gets_139():
    ha = make_ha()
    register(ha, seq=1)
    ba, _ = ba_of(ha.handle(from_coa(bu(2, home=False)), 1.0))
    assert ba.status == BaStatus.REGISTRATION_TYPE_CHANGE_DISALLOWED


def test_rfc6275_9_5_1_correspondent_registration_without_binding_is_discarded():
    ha = make_ha()
    actions = ha.handle(from_coa(bu(1, home=False)), 0.0)
    assert of(actions, SendBindingAck) == [] and ha.counters["correspondent_registration"] == 1


def test_rfc6275_10_3_1_row8_home_address_outside_home_prefixes_gets_132():
    ha = make_ha()
    foreign = IPv6Address("2001:db8:99::1")
    ba, act = ba_of(ha.handle(from_coa(bu(1), hoa=foreign), 0.0))
    assert ba.status == BaStatus.NOT_HOME_SUBNET and act.route.home_address == foreign and ha.state() == ()


def test_rfc6275_10_3_2_row9_deregistration_without_binding_gets_133():
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1, 0)), 0.0))
    assert ba.status == BaStatus.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE
    ba, _ = ba_of(ha.handle(at_home(bu(2, 0)), 0.0))
    assert ba.status == BaStatus.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE


def test_rfc6275_10_3_2_row10_lifetime_zero_deletes_binding_tunnel_and_answers_0():
    ha = make_ha()
    register(ha, seq=1)
    actions = ha.handle(from_coa(bu(2, 0), COA, alt=False), 5.0)
    assert [type(a) for a in actions] == [BindingDeleted, TunnelPeerRemoved, SendBindingAck]
    assert only(actions, BindingDeleted).reason == "deregistered"
    ba, act = ba_of(actions)
    assert (ba.status, ba.lifetime, ba.sequence) == (0, 0, 2) and act.route.dst == COA
    assert ha.state() == () and ha.tunnel_peers() == [] and ha.next_deadline() is None


def test_rfc6275_11_5_4_row10_returning_home_coa_equals_hoa_deregisters_and_ba_has_no_rh2():
    ha = make_ha()
    register(ha, seq=1)
    actions = ha.handle(at_home(bu(2, 100)), 5.0)  # lifetime > 0 but CoA == HoA
    assert of(actions, BindingDeleted) and ha.state() == ()
    ba, act = ba_of(actions)
    assert ba.lifetime == 0 and act.route.dst == HOA and act.route.type2_routing_header is None


def test_rfc6275_10_3_1_row11_no_binding_slot_left_gets_130_and_no_state():
    ha = make_ha(max_bindings=2)  # ids 1..1
    register(ha)
    before = ha.state()
    ba, _ = ba_of(register(ha, hoa=HOA2, coa=COA2))
    assert ba.status == BaStatus.INSUFFICIENT_RESOURCES and ha.state() == before


def test_rfc6275_10_3_1_row11_no_tunnel_peer_left_gets_130():
    ha = make_ha(max_tunnel_peers=2)  # one peer
    register(ha)
    ba, _ = ba_of(register(ha, hoa=HOA2, coa=COA2))
    assert ba.status == 130 and ha.binding_for(HOA2) is None
    assert ba_of(register(ha, hoa=HOA2, coa=COA))[0].status == 0  # the same CoA shares the peer


def test_rfc6275_10_3_1_lifetime_capped_by_local_policy():
    ha = make_ha(max_binding_lifetime=400.0)
    ba, _ = ba_of(register(ha, lifetime=0xFFFF))
    assert ba.lifetime == 100 and ha.binding_for(HOA).lifetime == 400.0


def test_rfc6275_6_2_4_binding_refresh_advice_when_configured_and_shorter_than_lifetime():
    ha = make_ha(binding_refresh_advice=200.0)
    ba, _ = ba_of(register(ha, lifetime=100))
    assert ba.option(BindingRefreshAdvice).refresh_interval == 50
    ba, _ = ba_of(register(ha, seq=2, lifetime=40))  # 160 s: advice would not be shorter
    assert ba.option(BindingRefreshAdvice) is None


def test_rfc6275_10_3_1_no_ack_requested_no_ba_but_rejections_are_answered():
    ha = make_ha()
    actions = ha.handle(from_coa(bu(1, ack=False)), 0.0)
    assert of(actions, SendBindingAck) == [] and ha.binding_for(HOA) is not None
    ba, _ = ba_of(ha.handle(from_coa(bu(1, ack=False)), 1.0))
    assert ba.status == 135


def test_rfc3963_r_flag_gets_140_and_rfc5213_p_flag_gets_152():
    ha = make_ha()
    assert ba_of(ha.handle(from_coa(bu(1, mobile_router=True)), 0.0))[0].status == 140
    assert ba_of(ha.handle(from_coa(bu(1, proxy=True)), 0.0))[0].status == 152
    assert ha.state() == ()


@pytest.mark.parametrize("coa", ["fe80::1", "ff02::1", "::1"])
def test_rfc6275_9_5_1_care_of_address_not_unicast_routable_gets_174(coa):
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1), IPv6Address(coa)), 0.0))
    assert ba.status == BaStatus.INVALID_CARE_OF_ADDRESS and ha.state() == ()


def test_rfc6275_10_3_1_home_agent_own_address_as_home_address_prohibited():
    ha = make_ha()
    ba, _ = ba_of(ha.handle(from_coa(bu(1), hoa=HA), 0.0))
    assert ba.status == BaStatus.ADMINISTRATIVELY_PROHIBITED


def test_rfc6275_sent_binding_acks_decode_with_the_rh2_checksum_addresses():
    ha = make_ha()
    acks = of(register(ha), SendBindingAck)
    (msg,) = sent(acks)  # encode over (HA, HoA), decode with the checksum verified
    assert msg == acks[0].message
