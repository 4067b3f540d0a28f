"""Mobility Header codec: layouts, checksum, RFC 6275 §9.2 receiver checks.

Expected bytes are written out by hand from the RFC figures (not produced by
the code under test); the checksum known answer comes from the ESP test vector
in /work/shared/spec/ipsec-for-mobility.md §10 (a BU with an Alternate CoA).
"""
from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from p4mobility.mh import (
    BINDING_ERROR,
    ICMP_PARAMETER_PROBLEM,
    SILENT_DISCARD,
    AccessTechnologyType,
    AccessTechnologyTypeOption,
    AlternateCareofAddress,
    BaStatus,
    BeStatus,
    BindingAck,
    BindingError,
    BindingIdentifier,
    BindingRefreshAdvice,
    BindingRefreshRequest,
    BindingUpdate,
    GreKey,
    HandoffIndicator,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    MhChecksumError,
    MhDecodeError,
    MhEncodeError,
    MhHeaderLenError,
    MhOptionError,
    MhPayloadProtoError,
    MhTruncatedError,
    MhType,
    MhUnknownTypeError,
    MnIdentifier,
    MobOpt,
    NatDetection,
    Timestamp,
    UnknownOption,
    checksum,
    decode_mh,
    encode_mh,
    seconds_to_lifetime,
)
from tests.mh.mh_testlib import COA, HA, HOA, LMA, MAG, catalogue, pbu

ZERO = IPv6Address("::")


def _esp_vector_mh() -> bytes:
    """Decrypt the spec's BU/HAO ESP vector (AES-GCM, RFC 4106) to get its MH."""
    keymat = bytes.fromhex("feffe9928665731c6d6a8f9467308308cafebabe")
    esp = bytes.fromhex(
        "00001000" "00000001" "0001020304050607"
        "c98cf3f306aa42034def9f08fa511876bbe286741a00aee33b953ea80018b546" "2112997f"
        "8c6a2136f12487b4364bebafddf5bdca"
    )
    spi_seq, iv, ct = esp[:8], esp[8:16], esp[16:]
    pt = AESGCM(keymat[:16]).decrypt(keymat[16:] + iv, ct, spi_seq)
    padlen, nh = pt[-2], pt[-1]
    assert nh == 135
    return pt[: -2 - padlen]


def test_rfc6275_6_1_1_checksum_known_answer_uses_home_address():
    mh = _esp_vector_mh()
    # RFC 6275 §6.1.1: with a HAO the pseudo-header source is the home address.
    msg = decode_mh(mh, HOA, HA)
    assert msg == BindingUpdate(7, 100, ack=True, home_registration=True,
                                options=(AlternateCareofAddress(COA),))
    assert encode_mh(msg, HOA, HA) == mh  # byte-exact, padding included
    with pytest.raises(MhChecksumError):  # the care-of address is the wrong source
        decode_mh(mh, COA, HA)


def test_rfc6275_6_1_1_checksum_is_ones_complement_of_pseudo_header_sum():
    mh = bytearray(encode_mh(pbu(), MAG, LMA))
    sent = struct.unpack_from("!H", mh, 4)[0]
    mh[4:6] = b"\0\0"
    words = MAG.packed + LMA.packed + struct.pack("!IxxxB", len(mh), 135) + bytes(mh)
    s = sum(struct.unpack(f"!{len(words) // 2}H", words))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    assert sent == (~s & 0xFFFF)
    assert checksum(MAG, LMA, bytes(mh)) == sent
    mh[4:6] = struct.pack("!H", sent)
    assert checksum(MAG, LMA, bytes(mh)) == 0  # RFC 6275 §9.2 verification


def test_rfc5213_8_1_pbu_layout_by_hand():
    msg = BindingUpdate(0x0102, 0x0304, ack=True, proxy=True, options=(
        MnIdentifier(b"ab"), HandoffIndicatorOption(HandoffIndicator.HANDOFF_STATE_UNKNOWN),
        AccessTechnologyTypeOption(AccessTechnologyType.VIRTUAL)))
    got = encode_mh(msg, MAG, LMA)
    expect = bytes.fromhex(
        "3b" "03" "05" "00" + got[4:6].hex()  # proto, hlen 3 (32 bytes), type 5, reserved, csum
        + "0102" "8200" "0304"  # seq, A|P, lifetime (4 s units)
        + "0803" "01" "6162"  # MN-ID: len 3, subtype 1 (NAI), "ab"
        + "1702" "00" "04"  # HI: reserved, 4
        + "1802" "00" "01"  # ATT: reserved, 1
        + "01050000000000"  # PadN(5): 25 -> 32 bytes
    )
    assert got == expect
    assert decode_mh(got, MAG, LMA) == msg


def test_rfc5213_8_3_hnp_is_aligned_8n_plus_4():
    msg = BindingUpdate(1, 1, proxy=True, options=(HomeNetworkPrefix(64, IPv6Address("2001:db8:1::")),))
    got = encode_mh(msg)
    # fixed part ends at 12 = 8*1+4: the HNP follows with no padding, ends at 32
    assert got[12:32] == bytes.fromhex("1612" "00" "40" "20010db8000100000000000000000000")
    assert len(got) == 32
    msg2 = BindingUpdate(1, 1, options=(HandoffIndicatorOption(1),) + msg.options)
    got2 = encode_mh(msg2)  # HI ends at 16 -> PadN(2) so the HNP starts at 20
    assert got2[16:20] == bytes.fromhex("01020000") and got2[20:22] == b"\x16\x12"


def test_rfc5213_8_8_timestamp_48_16_format():
    ts = Timestamp.from_seconds(1_700_000_000.75)
    assert ts.value >> 16 == 1_700_000_000
    assert ts.value & 0xFFFF == 0xC000
    assert ts.seconds == 1_700_000_000.75
    mh = encode_mh(BindingUpdate(1, 1, options=(ts,)))
    assert mh[12:18] == bytes.fromhex("010400000000")  # PadN(4): TS goes to 18 = 8n+2
    assert mh[18:28] == b"\x1b\x08" + struct.pack("!Q", (1_700_000_000 << 16) | 0xC000)  # 8n+2


def test_rfc6275_6_1_7_lifetime_is_in_4_second_units():
    bu = BindingUpdate(1, 900)
    assert bu.lifetime_seconds == 3600
    assert struct.unpack_from("!H", encode_mh(bu), 10)[0] == 900
    assert seconds_to_lifetime(3600) == 900
    assert seconds_to_lifetime(10**9) == 0xFFFF


def test_rfc6275_6_1_8_ba_layout_and_status_values():
    ba = BindingAck(BaStatus.NOT_LMA_FOR_THIS_MOBILE_NODE, 0xABCD, 5, proxy=True)
    got = encode_mh(ba)
    assert got[6:12] == bytes.fromhex("99" "20" "abcd" "0005")  # 153, P flag 0x20
    assert not decode_mh(got).accepted
    # spec §5: the PMIPv6 block is 152..162
    assert [s.value for s in BaStatus if s.name in (
        "PROXY_REG_NOT_ENABLED", "MAG_NOT_AUTHORIZED_FOR_PROXY_REG", "TIMESTAMP_MISMATCH",
        "MISSING_ACCESS_TECH_TYPE_OPTION")] == [152, 154, 156, 162]
    assert BaStatus(135).name == "SEQUENCE_NUMBER_OUT_OF_WINDOW"
    assert BaStatus(139).name == "REGISTRATION_TYPE_CHANGE_DISALLOWED"


def test_rfc6275_6_1_9_binding_error_layout():
    be = BindingError(BeStatus.UNRECOGNIZED_MH_TYPE, HOA)
    got = encode_mh(be)
    assert got[:3] == b"\x3b\x02\x07" and got[6:8] == b"\x02\x00" and got[8:24] == HOA.packed


def test_rfc6275_9_2_wrong_checksum_silently_discarded():
    mh = bytearray(encode_mh(pbu(), MAG, LMA))
    mh[-1] ^= 0x40  # flip a padding bit
    with pytest.raises(MhChecksumError) as ei:
        decode_mh(bytes(mh), MAG, LMA)
    assert ei.value.action == SILENT_DISCARD
    decode_mh(bytes(mh))  # no addresses: not verified
    decode_mh(bytes(mh), MAG, LMA, verify_checksum=False)


def test_rfc6275_9_2_payload_proto_not_none_icmp_pointer_0():
    mh = bytearray(encode_mh(BindingRefreshRequest()))
    mh[0] = 6
    with pytest.raises(MhPayloadProtoError) as ei:
        decode_mh(bytes(mh))
    assert (ei.value.action, ei.value.icmp_type, ei.value.icmp_code, ei.value.icmp_pointer) == (
        ICMP_PARAMETER_PROBLEM, 4, 0, 0)


def test_rfc6275_9_2_header_len_shorter_than_type_icmp_pointer_1():
    # A Binding Error needs 24 bytes; claim 8 (Header Len 0) with a valid checksum.
    mh = bytearray(b"\x3b\x00\x07\x00\x00\x00\x02\x00")
    mh[4:6] = struct.pack("!H", checksum(MAG, LMA, bytes(mh)))
    with pytest.raises(MhHeaderLenError) as ei:
        decode_mh(bytes(mh), MAG, LMA)
    assert ei.value.action == ICMP_PARAMETER_PROBLEM and ei.value.icmp_pointer == 1


def test_rfc6275_9_2_unknown_mh_type_binding_error_status_2():
    mh = bytearray(b"\x3b\x00\x63\x00\x00\x00\x00\x00")
    with pytest.raises(MhUnknownTypeError) as ei:
        decode_mh(bytes(mh))
    assert ei.value.action == BINDING_ERROR
    assert ei.value.be_status == BeStatus.UNRECOGNIZED_MH_TYPE == 2
    assert ei.value.mh_type == 0x63
    mh[2] = MhType.FBU  # an IANA type we do not implement is "unrecognised" too
    with pytest.raises(MhUnknownTypeError):
        decode_mh(bytes(mh))


def test_truncated_and_overlong_input():
    mh = encode_mh(pbu())
    with pytest.raises(MhTruncatedError):
        decode_mh(mh[:-8])
    with pytest.raises(MhTruncatedError):
        decode_mh(mh[:5])
    with pytest.raises(MhHeaderLenError):
        decode_mh(mh + bytes(8))


def test_rfc6275_6_2_1_unknown_option_skipped_and_kept():
    msg = BindingUpdate(1, 2, options=(UnknownOption(200, b"\x01\x02\x03"), GreKey(7)))
    got = decode_mh(encode_mh(msg))
    assert got == msg
    assert got.option(GreKey) == GreKey(7)


def test_rfc6275_6_2_option_running_past_message_is_malformed():
    mh = bytearray(encode_mh(BindingUpdate(1, 2, options=(NatDetection(False, 110),))))
    i = mh.index(bytes((MobOpt.NAT_DETECTION, 6)))
    mh[i + 1] = 40
    with pytest.raises(MhOptionError) as ei:
        decode_mh(bytes(mh))
    assert ei.value.action == SILENT_DISCARD


def test_rfc5213_8_known_option_with_wrong_length_is_malformed():
    mh = bytearray(encode_mh(BindingUpdate(1, 2, options=(HandoffIndicatorOption(1),))))
    # replace HI (len 2) by HI with len 1 followed by a Pad1
    i = mh.index(b"\x17\x02")
    mh[i : i + 4] = b"\x17\x01\x00\x00"
    with pytest.raises(MhOptionError):
        decode_mh(bytes(mh))


def test_rfc6275_6_2_padding_is_dropped_on_decode():
    # BU with explicit Pad1, PadN(3) and a BRA: only the BRA is an option.
    body = bytes.fromhex("3b020500" "0000" "0001" "0000" "0001" "00" "010100" "020200ff" "01020000")
    assert len(body) == 24
    msg = decode_mh(body)
    assert msg.options == (BindingRefreshAdvice(0xFF),)


def test_option_helpers():
    msg = pbu()
    assert msg.option(MnIdentifier) == MnIdentifier(b"mn1@example.com")
    assert msg.option(GreKey) is None
    assert msg.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix(64, IPv6Address("2001:db8:1:2::")),)
    assert msg.options_of(BindingIdentifier) == ()


def test_rfc5648_6_1_bid_lengths():
    for coa, length in ((None, 4), (IPv4Address("192.0.2.1"), 8), (COA, 20)):
        mh = encode_mh(BindingUpdate(1, 1, options=(BindingIdentifier(9, 0, True, False, coa),)))
        i = mh.index(bytes((35, length)))
        assert i % 8 == 2  # 8n+2
        assert decode_mh(mh).option(BindingIdentifier) == BindingIdentifier(9, 0, True, False, coa)


def test_rfc5845_3_1_gre_key_with_and_without_key():
    for key in (None, 0xFFFFFFFF):
        assert decode_mh(encode_mh(BindingAck(0, 1, 1, options=(GreKey(key),)))).option(GreKey) == GreKey(key)


@pytest.mark.parametrize("bad", [
    BindingUpdate(70000, 1),
    BindingUpdate(1, -1),
    BindingUpdate(1, 1, options=(MnIdentifier(b"x" * 300),)),
    BindingUpdate(1, 1, options=(HomeNetworkPrefix(64, "not an address"),)),
    BindingUpdate(1, 1, options=tuple(MnIdentifier(b"x" * 200) for _ in range(12))),
])
def test_encode_rejects_unencodable_values(bad):
    with pytest.raises(MhEncodeError):
        encode_mh(bad)


def test_every_catalogue_message_round_trips():
    for msg in catalogue():
        assert decode_mh(encode_mh(msg, MAG, LMA), MAG, LMA) == msg


def test_decode_raises_only_mh_decode_error_for_junk():
    for junk in (b"", b"\x3b", bytes(7), bytes(8), b"\xff" * 64, bytes.fromhex("3b0105000000000100000001ffff0000")):
        try:
            decode_mh(junk, ZERO, ZERO)
        except MhDecodeError:
            pass
