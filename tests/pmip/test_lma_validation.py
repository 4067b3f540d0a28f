"""LMA PBU validation (RFC 5213 §5.3.1, §5.5, §8.1): every rejection and its PBA."""
from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from p4mobility.mh import BaStatus, HomeNetworkPrefix, MnIdentifier, Timestamp
from p4mobility.pmip import LogEvent, SendMh

from tests.pmip.pmip_helpers import (
    LMAA,
    MAG1,
    MAG2,
    ROGUE,
    T0,
    make_lma,
    of,
    pbu,
    peer_map,
    rx,
    the,
)


def answer(lma, msg, src=MAG1, now=T0):
    out = lma.handle(rx(msg, src), now)
    return out, the(out, SendMh)


def assert_no_state(lma):
    assert lma.bindings() == []
    assert lma.next_deadline() is None
    assert all(p.in_use == 0 for p in lma.policy.pools.values())
    assert peer_map(lma) == {}


def test_rfc5213_5_3_1_no_mn_id_option_is_160_with_empty_identifier(lma):
    out, send = answer(lma, pbu(mn=None, seq=7))
    pba = send.message
    assert pba.status == BaStatus.MISSING_MN_IDENTIFIER_OPTION == 160
    assert pba.option(MnIdentifier).identifier == b""
    assert pba.sequence == 7 and pba.proxy and pba.lifetime == 0
    assert (send.src, send.dst) == (LMAA, MAG1)
    assert_no_state(lma)


def test_rfc5213_5_3_1_empty_mn_identifier_is_no_valid_mn_id_160(lma):
    # the codec accepts Length 1 (Subtype only, RFC 4283 §3): the LMA must not take it as an MN
    _, send = answer(lma, pbu(mn=b"", seq=8))
    assert send.message.status == BaStatus.MISSING_MN_IDENTIFIER_OPTION
    assert send.message.option(MnIdentifier).identifier == b""
    assert_no_state(lma)


def test_rfc5213_4_untrusted_mag_is_154(lma):
    _, send = answer(lma, pbu(), src=ROGUE)
    assert send.message.status == BaStatus.MAG_NOT_AUTHORIZED_FOR_PROXY_REG == 154
    assert send.dst == ROGUE
    assert_no_state(lma)


def test_rfc5213_5_3_1_mag_not_authorized_for_this_mn_is_154(lma):
    _, send = answer(lma, pbu(b"only-mag1"), src=MAG2)
    assert send.message.status == 154
    _, ok = answer(lma, pbu(b"only-mag1"), src=MAG1)
    assert ok.message.status == BaStatus.ACCEPTED


def test_rfc5213_5_3_1_unknown_mn_is_153(lma):
    _, send = answer(lma, pbu(b"stranger"))
    assert send.message.status == BaStatus.NOT_LMA_FOR_THIS_MOBILE_NODE == 153
    assert send.message.option(MnIdentifier).identifier == b"stranger"
    assert_no_state(lma)


def test_rfc5213_5_3_1_proxy_registration_not_enabled_is_152(lma):
    _, send = answer(lma, pbu(b"disabled"))
    assert send.message.status == BaStatus.PROXY_REG_NOT_ENABLED == 152
    assert_no_state(lma)


@pytest.mark.parametrize("missing,status", [
    ("hnps", BaStatus.MISSING_HOME_NETWORK_PREFIX_OPTION),
    ("hi", BaStatus.MISSING_HANDOFF_INDICATOR_OPTION),
    ("att", BaStatus.MISSING_ACCESS_TECH_TYPE_OPTION),
])
def test_rfc5213_5_3_1_missing_mandatory_option(lma, missing, status):
    kw = {"hnps": ()} if missing == "hnps" else {missing: None}
    _, send = answer(lma, pbu(**kw))
    assert send.message.status == status
    assert int(status) in (158, 161, 162)
    assert_no_state(lma)


def test_rfc5213_8_1_bu_without_p_flag_is_not_answered(lma):
    out = lma.handle(rx(pbu(proxy=False)), T0)
    assert of(out, SendMh) == [] and of(out, LogEvent)
    assert_no_state(lma)


@pytest.mark.parametrize("skew", [0.301, -0.301, 5.0, -3600.0])
def test_rfc5213_5_5_timestamp_outside_window_is_156_with_lma_time(lma, skew):
    _, send = answer(lma, pbu(ts=T0 + skew), now=T0)
    assert send.message.status == BaStatus.TIMESTAMP_MISMATCH == 156
    assert send.message.option(Timestamp).value == int(T0 * 65536)  # the LMA's clock, not the PBU's
    assert_no_state(lma)


@pytest.mark.parametrize("skew", [0.0, 0.299, -0.299])
def test_rfc5213_5_5_timestamp_inside_window_is_accepted(lma, skew):
    _, send = answer(lma, pbu(ts=T0 + skew), now=T0)
    assert send.message.status == 0
    assert send.message.option(Timestamp) == Timestamp.from_seconds(T0 + skew)  # echoed


def test_rfc5213_5_5_missing_timestamp_in_timestamp_mode_is_156(lma):
    _, send = answer(lma, pbu(ts=None))
    assert send.message.status == 156
    assert_no_state(lma)


def test_rfc5213_5_5_timestamp_not_newer_than_accepted_is_157(lma):
    _, first = answer(lma, pbu(ts=T0))
    hnp = first.message.option(HomeNetworkPrefix)
    before = lma.bindings()
    net = [lma.bindings()[0].home_prefixes[0]]
    for ts in (T0, T0 - 0.1):
        _, send = answer(lma, pbu(seq=2, hnps=net, hi=5, ts=ts), now=T0 + 0.05)
        assert send.message.status == BaStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED == 157
        assert send.message.option(HomeNetworkPrefix) == hnp  # echo of the request
    assert lma.bindings() == before


def test_rfc5213_5_5_sequence_mode_out_of_window_is_135_with_last_accepted():
    lma = make_lma(timestamp_based_approach_in_use=False)
    _, first = answer(lma, pbu(seq=1000, ts=None))
    assert first.message.status == 0
    net = list(lma.bindings()[0].home_prefixes)
    for seq in (1000, 999, 1000 + 0x8000):
        _, send = answer(lma, pbu(seq=seq, hnps=net, hi=5, ts=None))
        assert send.message.status == BaStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW == 135
        assert send.message.sequence == 1000
    _, ok = answer(lma, pbu(seq=1001, hnps=net, hi=5, ts=None))
    assert ok.message.status == 0 and ok.message.sequence == 1001


def test_rfc6275_9_5_1_sequence_comparison_wraps():
    lma = make_lma(timestamp_based_approach_in_use=False)
    answer(lma, pbu(seq=0xFFFF, ts=None))
    net = list(lma.bindings()[0].home_prefixes)
    _, ok = answer(lma, pbu(seq=0, hnps=net, hi=5, ts=None))
    assert ok.message.status == 0


@pytest.mark.parametrize("opt", [HomeNetworkPrefix(200, IPv6Address("2001:db8:100::")),
                                 HomeNetworkPrefix(48, IPv6Address("2001:db8:100::1"))])
def test_hostile_prefix_option_is_155_not_a_traceback(lma, opt):
    _, send = answer(lma, pbu(hnp_opts=[opt]))
    assert send.message.status == BaStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX
    assert_no_state(lma)


def test_lma_ignores_events_it_does_not_own(lma):
    from p4mobility.pmip import MnDetached
    out = lma.handle(MnDetached(b"mn1", 1), T0)
    assert of(out, LogEvent) and not of(out, SendMh)


def test_rfc5213_2_2_pbu_not_sent_to_our_lmaa_is_not_answered(lma):
    from p4mobility.pmip import PbuReceived
    out = lma.handle(PbuReceived(pbu(), MAG1, IPv6Address("2001:db8::99")), T0)
    assert of(out, SendMh) == [] and of(out, LogEvent)
    assert_no_state(lma)


@pytest.mark.parametrize("coa", ["ff02::1", "::", "::1", "fe80::1", "2001:db8::1"])
def test_rfc6275_9_5_1_proxy_coa_that_is_not_unicast_routable_or_is_the_lmaa_is_174(lma, coa):
    """An Alternate Care-of Address option names the Proxy-CoA (RFC 5213 §2.2 via RFC 6275);
    a multicast, unspecified, loopback or link-local one, or the LMA's own address (a tunnel
    to itself), is refused with 174 INVALID_CARE_OF_ADDRESS and no tunnel is set up."""
    from p4mobility.mh.options import AlternateCareofAddress
    msg = pbu()
    msg = type(msg)(msg.sequence, msg.lifetime_seconds // 4, ack=True, proxy=True,
                    options=msg.options + (AlternateCareofAddress(IPv6Address(coa)),))
    _, send = answer(lma, msg)
    assert send.message.status == BaStatus.INVALID_CARE_OF_ADDRESS == 174
    assert_no_state(lma)


def test_rfc5213_alternate_coa_that_is_unicast_is_the_proxy_coa(lma):
    from p4mobility.mh.options import AlternateCareofAddress
    msg = pbu()
    alt = IPv6Address("2001:db8:1::99")
    msg = type(msg)(msg.sequence, msg.lifetime_seconds // 4, ack=True, proxy=True,
                    options=msg.options + (AlternateCareofAddress(alt),))
    _, send = answer(lma, msg)
    assert send.message.status == 0 and lma.bindings()[0].paths[0].coa == alt
