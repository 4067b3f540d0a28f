"""How the MAG core learns of an MN from its access link (RFC 5213 §6.9.1.1):
a Router Solicitation or any frame from an identified MN on a port that does
not serve it is its attachment; frames seen before forwarding exists wait
for the tunnel. These rules used to live in the node adapter."""
from __future__ import annotations

from ipaddress import IPv6Address

from p4mobility.mh import HandoffIndicatorOption, MnLinkLayerIdentifier
from p4mobility.pmip import (
    AccessLinkUp,
    BulState,
    HoldUplink,
    LocalMobilityAnchor,
    MagConfig,
    MagMnProfile,
    MnDetached,
    MnTrafficSeen,
    MobileAccessGateway,
    ReleaseUplink,
    RouterSolicitationReceived,
    SendMh,
    SendRouterAdvertisement,
)
from p4mobility.pmip.config import LmaConfig

from tests.pmip.pmip_helpers import LMAA, MAG1, T0, make_policy, of, rx, the
from tests.pmip.test_mag import HNP, LL, answer, attach, make_mag, sent

MN_LL_ADDR = IPv6Address("fe80::aa01")


def rs(port=1, mn=b"mn1", src=MN_LL_ADDR):
    return RouterSolicitationReceived(port, src, mn_id=mn, mn_ll_id=LL, att=4)


def traffic(port=1, mn=b"mn1", frame=b"\x00" * 60):
    return MnTrafficSeen(port, mn, LL, 4, frame)


def test_rfc5213_6_9_1_1_rs_from_an_unserved_mn_is_its_attachment_with_hi_4():
    mag = make_mag()
    bu = sent(mag.handle(rs(), T0))
    assert bu.option(HandoffIndicatorOption).value == 4  # the MAG cannot tell a handoff (§5.4.1.2)
    assert bu.option(MnLinkLayerIdentifier).identifier == LL
    assert mag.entry(1).state is BulState.REGISTERING


def test_rfc5213_6_9_2_rs_while_registering_is_quiet_and_once_bound_gets_an_ra():
    mag = make_mag()
    bu = sent(mag.handle(rs(), T0))
    assert mag.handle(rs(), T0 + 0.01) == []  # no second PBU, no RA before the PBA (§6.9.1.2)
    answer(mag, bu, T0 + 0.02)
    out = mag.handle(rs(), T0 + 0.03)
    assert [type(a) for a in out] == [SendRouterAdvertisement]


def test_rfc5213_6_9_1_1_a_deregistering_entry_does_not_hold_the_port():
    mag = make_mag()
    answer(mag, sent(mag.handle(rs(), T0)), T0 + 0.01)
    mag.handle(MnDetached(None, 1), T0 + 1)  # carrier lost: whoever the port served
    assert mag.entry(1).state is BulState.DEREGISTERING
    out = mag.handle(rs(), T0 + 1.1)  # the MN is back before the de-registration is answered
    assert the(out, SendMh).message.lifetime > 0 and mag.entry(1).state is BulState.REGISTERING


def test_rfc5213_6_9_1_1_first_frame_attaches_and_waits_for_the_tunnel():
    mag = make_mag()
    out = mag.handle(traffic(frame=b"first"), T0)
    assert of(out, HoldUplink) == [HoldUplink(1, b"first")]
    bu = sent(out)
    assert mag.handle(traffic(frame=b"second"), T0 + 0.01) == [HoldUplink(1, b"second")]  # still registering
    out = answer(mag, bu, T0 + 0.02)
    assert the(out, ReleaseUplink) == ReleaseUplink(1, (HNP,), LMAA, MAG1)
    # punted before the forwarding entries were written, seen after: released at once
    out = mag.handle(traffic(frame=b"late"), T0 + 0.03)
    assert out == [HoldUplink(1, b"late"), ReleaseUplink(1, (HNP,), LMAA, MAG1)]


def test_frames_of_another_mn_on_a_served_port_are_not_held():
    mag = make_mag()
    sent(mag.handle(traffic(), T0))
    out = mag.handle(traffic(mn=b"mn2"), T0 + 0.01)
    assert of(out, HoldUplink) == [] and of(out, SendMh) == []


def test_rfc5213_6_9_1_4_detach_without_mn_id_ends_whoever_the_port_serves():
    mag = make_mag()
    answer(mag, sent(attach(mag)), T0)
    out = mag.handle(MnDetached(None, 1), T0 + 1)
    assert the(out, SendMh).message.lifetime == 0
    assert mag.handle(MnDetached(None, 2), T0 + 1) and of(mag.handle(MnDetached(None, 2), T0 + 1), SendMh) == []


def test_issue12_requested_lifetime_under_4_s_is_not_a_deregistration():
    """Bug: a 2 s lifetime became 0 units in the PBU (a de-registration the LMA rejects with 133)."""
    mag = MobileAccessGateway(MagConfig(MAG1, LMAA, requested_lifetime=2.0),
                              [MagMnProfile(b"mn1"), MagMnProfile(b"mn2", lifetime=1.0)])
    lma = LocalMobilityAnchor(LmaConfig(LMAA), make_policy())
    for mn, port in ((b"mn1", 1), (b"mn2", 2)):
        bu = sent(attach(mag, mn, port))
        assert bu.lifetime == 1 and bu.lifetime_seconds == 4  # rounded up to one 4 s unit
        pba = the(lma.handle(rx(bu), T0), SendMh).message
        assert pba.status == 0 and pba.lifetime == 1


def test_rfc5213_6_9_1_4_a_repeated_detach_changes_nothing():
    """Found by the BUL property test: a second carrier-loss event while the
    de-registration is in flight raised from the BUL transition table."""
    mag = make_mag()
    answer(mag, sent(attach(mag)), T0)
    first = mag.handle(MnDetached(b"mn1", 1), T0 + 1)
    assert the(first, SendMh).message.lifetime == 0
    assert mag.handle(MnDetached(b"mn1", 1), T0 + 1.01) == []
    assert mag.handle(MnDetached(None, 1), T0 + 1.02) == []
    assert mag.entry(1).state is BulState.DEREGISTERING


def link_up(port=1, mn=b"mn1"):
    return AccessLinkUp(port, 4, mn_id=mn, mn_ll_id=None if mn is None else LL)


def test_rfc5213_6_9_1_1_link_up_naming_the_mn_sends_the_pbu_before_any_frame():
    mag = make_mag()
    bu = sent(mag.handle(link_up(), T0))
    assert bu.option(HandoffIndicatorOption).value == 4  # a link-up cannot tell a handoff either
    assert bu.option(MnLinkLayerIdentifier).identifier == LL
    assert mag.entry(1).state is BulState.REGISTERING
    # the MN's first frames find the registration in flight: held, no second PBU
    assert mag.handle(traffic(frame=b"first"), T0 + 0.001) == [HoldUplink(1, b"first")]
    assert mag.handle(rs(), T0 + 0.002) == []
    out = answer(mag, bu, T0 + 0.02)
    assert the(out, ReleaseUplink) == ReleaseUplink(1, (HNP,), LMAA, MAG1)
    assert of(out, SendRouterAdvertisement)


def test_rfc5213_6_9_1_1_link_up_without_an_identity_waits_for_the_mn():
    mag = make_mag()
    assert mag.handle(link_up(mn=None), T0) == [] and mag.entry(1) is None
    sent(mag.handle(traffic(), T0 + 0.01))  # the first frame identifies it, as before


def test_rfc5213_6_9_1_1_link_up_after_the_first_frame_sends_no_second_pbu():
    mag = make_mag()
    bu = sent(mag.handle(traffic(), T0))
    assert mag.handle(link_up(), T0 + 0.001) == []
    answer(mag, bu, T0 + 0.01)
    assert [type(a) for a in mag.handle(link_up(), T0 + 1)] == [SendRouterAdvertisement]  # bound: RA only


def test_rfc5213_6_9_1_1_link_up_while_deregistering_is_a_new_attachment():
    mag = make_mag()
    answer(mag, sent(mag.handle(link_up(), T0)), T0 + 0.01)
    mag.handle(MnDetached(None, 1), T0 + 1)
    out = mag.handle(link_up(), T0 + 1.1)
    assert the(out, SendMh).message.lifetime > 0 and mag.entry(1).state is BulState.REGISTERING


def test_rfc5213_6_2_link_up_for_an_mn_without_profile_is_not_served():
    mag = make_mag()
    out = mag.handle(link_up(mn=b"stranger"), T0)
    assert of(out, SendMh) == [] and mag.entry(1) is None
