"""scapy as an independent oracle: its MIPv6 layers parse our bytes to the
fields we encoded, we parse the bytes scapy builds (checksums and padding
computed by scapy, including RFC 6275 §6.1.1's HoA/RH2 address rule)."""
from __future__ import annotations

from ipaddress import IPv6Address

import pytest

pytest.importorskip("scapy")
from scapy.layers.inet6 import (  # noqa: E402
    HAO,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
    MIP6MH_BA,
    MIP6MH_BE,
    MIP6MH_BRR,
    MIP6MH_BU,
    MIP6MH_CoT,
    MIP6MH_CoTI,
    MIP6MH_HoT,
    MIP6MH_HoTI,
    MIP6OptAltCoA,
    MIP6OptBindingAuthData,
    MIP6OptBRAdvice,
    MIP6OptMNID,
    MIP6OptMobNetPrefix,
    MIP6OptNonceIndices,
    in6_chksum,
)

from p4mobility.mh import (  # noqa: E402
    AlternateCareofAddress,
    BindingAck,
    BindingAuthorizationData,
    BindingError,
    BindingRefreshAdvice,
    BindingRefreshRequest,
    BindingUpdate,
    CareofTest,
    CareofTestInit,
    HomeAddressOption,
    HomeTest,
    HomeTestInit,
    MnIdentifier,
    MobileNetworkPrefix,
    NonceIndices,
    Type2RoutingHeader,
    decode_destination_options_header,
    decode_mh,
    encode_destination_options_header,
    encode_mh,
)
from tests.mh.mh_testlib import COA, HA, HOA, LMA, MAG, catalogue, ipv6, pba, pbu  # noqa: E402

_LAYER = {0: MIP6MH_BRR, 1: MIP6MH_HoTI, 2: MIP6MH_CoTI, 3: MIP6MH_HoT, 4: MIP6MH_CoT,
          5: MIP6MH_BU, 6: MIP6MH_BA, 7: MIP6MH_BE}


def _scapy_parse(msg, src=MAG, dst=LMA):
    raw = ipv6(src, dst, 135, encode_mh(msg, src, dst))
    pkt = IPv6(raw)
    return pkt, pkt[_LAYER[int(msg.mh_type)]]


def _scapy_checksum(pkt, layer) -> int:
    zeroed = layer.copy()
    zeroed.cksum = 0
    return in6_chksum(135, pkt, bytes(zeroed))


def test_rfc6275_6_1_1_scapy_agrees_with_our_checksum_for_every_message():
    for msg in catalogue():
        pkt, layer = _scapy_parse(msg)
        assert layer.cksum == _scapy_checksum(pkt, layer), type(msg).__name__
        assert layer.len == len(bytes(layer)) // 8 - 1


def test_rfc5213_8_1_scapy_reads_our_pbu_and_pba():
    _, bu = _scapy_parse(pbu(seq=0x1234))
    assert bu.seq == 0x1234
    assert bu.mhtime == 900  # raw 4-second units
    assert "A" in bu.flags and "P" in bu.flags and "H" not in bu.flags
    mnid = bu.options[0]
    assert isinstance(mnid, MIP6OptMNID) and mnid.subtype == 1 and mnid.id == b"mn1@example.com"
    _, ba = _scapy_parse(pba(seq=0x1234))
    assert ba.seq == 0x1234 and ba.status == 0 and ba.mhtime == 900
    assert "P" in ba.flags and "K" not in ba.flags


def test_rfc6275_6_1_scapy_reads_our_rr_and_error_messages():
    _, hoti = _scapy_parse(HomeTestInit(b"ABCDEFGH"))
    assert hoti.cookie == b"ABCDEFGH"
    _, coti = _scapy_parse(CareofTestInit(b"abcdefgh"))
    assert coti.cookie == b"abcdefgh"
    _, hot = _scapy_parse(HomeTest(77, b"ABCDEFGH", b"12345678"))
    assert (hot.index, hot.cookie, hot.token) == (77, b"ABCDEFGH", b"12345678")
    _, cot = _scapy_parse(CareofTest(78, b"abcdefgh", b"87654321"))
    assert (cot.index, cot.cookie, cot.token) == (78, b"abcdefgh", b"87654321")
    _, be = _scapy_parse(BindingError(1, HOA))
    assert be.status == 1 and be.ha == str(HOA)
    _, brr = _scapy_parse(BindingRefreshRequest())
    assert brr.mhtype == 0


def test_rfc6275_we_decode_scapy_built_bu_with_options():
    pkt = IPv6(src=str(MAG), dst=str(LMA)) / MIP6MH_BU(
        seq=4242, flags="AHK", mhtime=321,
        # scapy 2.8 defaults olen=16 for these two (RFC 6275 §6.2.6/§6.2.7: 4 and 12)
        options=[MIP6OptAltCoA(acoa=str(COA)), MIP6OptNonceIndices(olen=4, hni=5, coni=6),
                 MIP6OptBindingAuthData(olen=12, authenticator=0x0102030405060708090A0B0C),
                 MIP6OptBRAdvice(rinter=9), MIP6OptMobNetPrefix(plen=48, prefix="2001:db8:77::"),
                 MIP6OptMNID(id=b"mn9@example.org")])
    raw = bytes(IPv6(bytes(pkt))[MIP6MH_BU])
    msg = decode_mh(raw, MAG, LMA)  # checksum computed by scapy must verify
    assert msg == BindingUpdate(
        4242, 321, ack=True, home_registration=True, key_mgmt_compat=True,
        options=(AlternateCareofAddress(COA), NonceIndices(5, 6),
                 BindingAuthorizationData(bytes.fromhex("0102030405060708090a0b0c")),
                 BindingRefreshAdvice(9), MobileNetworkPrefix(48, IPv6Address("2001:db8:77::")),
                 MnIdentifier(b"mn9@example.org")))


def test_rfc5213_we_decode_scapy_built_pba():
    pkt = IPv6(src=str(LMA), dst=str(MAG)) / MIP6MH_BA(status=160, flags="P", seq=7, mhtime=0)
    raw = bytes(IPv6(bytes(pkt))[MIP6MH_BA])
    assert decode_mh(raw, LMA, MAG) == BindingAck(160, 7, 0, proxy=True)


def test_rfc6275_6_1_1_hao_checksum_uses_home_address_scapy():
    # scapy's in6_chksum takes the source from the HAO: our decoder must agree.
    pkt = IPv6(src=str(COA), dst=str(HA)) / IPv6ExtHdrDestOpt(options=[HAO(hoa=str(HOA))]) / MIP6MH_BU(
        seq=1, flags="AH", mhtime=10)
    parsed = IPv6(bytes(pkt))
    raw_mh = bytes(parsed[MIP6MH_BU])
    assert decode_mh(raw_mh, HOA, HA) == BindingUpdate(1, 10, ack=True, home_registration=True)
    dest, n = decode_destination_options_header(bytes(parsed[IPv6ExtHdrDestOpt])[:24])
    assert n == 24 and dest.home_address == HOA and dest.next_header == 135


def test_rfc6275_6_3_scapy_reads_our_home_address_option():
    hdr = encode_destination_options_header(135, [HomeAddressOption(HOA)])
    parsed = IPv6ExtHdrDestOpt(hdr + encode_mh(BindingUpdate(1, 1), HOA, HA))
    haos = [o for o in parsed.options if isinstance(o, HAO)]
    assert len(haos) == 1 and haos[0].hoa == str(HOA)
    assert parsed.nh == 135 and parsed.len == 2


def test_rfc6275_6_4_type2_routing_header_against_scapy():
    mine = Type2RoutingHeader(135, HOA).encode()
    theirs = IPv6ExtHdrRouting(mine)
    assert theirs.type == 2 and theirs.segleft == 1 and theirs.len == 2
    assert theirs.addresses == [str(HOA)] and theirs.nh == 135
    built = bytes(IPv6ExtHdrRouting(nh=135, type=2, segleft=1, addresses=[str(HOA)]))
    assert Type2RoutingHeader.decode(built) == Type2RoutingHeader(135, HOA, 1)


def test_rfc6275_6_1_1_rh2_checksum_uses_final_destination_scapy():
    # BA from HA to the CoA with a Type 2 RH carrying the HoA: the pseudo-header dst is the HoA.
    pkt = IPv6(src=str(HA), dst=str(COA)) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[str(HOA)]) / \
        MIP6MH_BA(status=0, flags=0, seq=3, mhtime=10)
    raw = bytes(IPv6(bytes(pkt))[MIP6MH_BA])
    assert decode_mh(raw, HA, HOA) == BindingAck(0, 3, 10)
