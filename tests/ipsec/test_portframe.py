"""The crypto-port frame codec against scapy's independent CryptoMeta layer (dataplane.md)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from p4mobility.ipsec.portframe import (CryptoDirection, PortFrameError, decode, encode, encode_reply,
                                        split)
from tests.dataplane.p4consts import CryptoDirection as P4CryptoDirection
from tests.dataplane.p4consts import ETHERTYPE_CRYPTO_META
from tests.dataplane.packets import CryptoMeta

A, B = "00:00:5e:00:53:01", "02:00:00:00:99:99"
V6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2"))
V4 = bytes(IP(src="192.0.2.1", dst="192.0.2.2"))


def test_enum_and_ethertype_agree_with_p4_source():
    assert {m.name: m.value for m in CryptoDirection} == {m.name: m.value for m in P4CryptoDirection}
    from p4mobility.ipsec.portframe import ETHERTYPE_CRYPTO_META as ours
    assert ours == ETHERTYPE_CRYPTO_META


@pytest.mark.parametrize("packet,etype", [(V6, 0x86DD), (V4, 0x0800)])
def test_decode_scapy_frame(packet, etype):
    frame = bytes(Ether(dst=A, src=B) / CryptoMeta(sa_index=0xDEADBEEF, direction=2, port=511, type=etype)) + packet
    f = decode(frame)
    assert (f.sa_index, f.direction, f.port, f.ether_type, f.packet) == (0xDEADBEEF, CryptoDirection.ENCRYPT,
                                                                        511, etype, packet)
    assert f.is_request and split(frame) == (0xDEADBEEF, 2, 511, packet)


@pytest.mark.parametrize("packet,etype", [(V6, 0x86DD), (V4, 0x0800)])
def test_reply_swaps_macs_echoes_port_and_sets_result_direction(packet, etype):
    req = bytes(Ether(dst=A, src=B) / CryptoMeta(sa_index=7, direction=1, port=300)) + V6
    raw = encode_reply(req, 7, 300, CryptoDirection.DECRYPT, packet)
    got = Ether(raw)
    meta = CryptoMeta(raw[14:])  # not got[CryptoMeta]: tests/dataplane may bind its own copy of the class
    assert (got.dst, got.src, got.type) == (B, A, 0x88B5)
    assert (meta.sa_index, meta.getfieldval("direction"), meta.flow, meta.pad, meta.port, meta.type) == (
        7, 3, 0, 0, 300, etype)
    assert bytes(meta.payload) == packet
    enc = CryptoMeta(encode_reply(req, 7, 300, CryptoDirection.ENCRYPT, packet)[14:])
    assert enc.getfieldval("direction") == 4


def test_the_flow_byte_is_opaque_and_echoed():
    """The switch's flow hash (ENCRYPT requests) comes back unchanged: it tells the flows of one
    tunnel-mode SA apart when the switch picks one of several CoAs (RFC 5648)."""
    req = bytes(Ether(dst=A, src=B) / CryptoMeta(sa_index=7, direction=2, flow=0xA5, port=3)) + V6
    assert split(req) == (7, 2, 3, V6)
    assert CryptoMeta(encode_reply(req, 7, 3, CryptoDirection.ENCRYPT, V6)[14:]).flow == 0xA5


@pytest.mark.parametrize("frame,problem", [
    (b"", "shorter"),
    (bytes(Ether(dst=A, src=B, type=0x88B5)) + b"\x00", "shorter"),
    (bytes(Ether(dst=A, src=B, type=0x86DD)) + bytes(10) + V6, "not 0x88b5"),
    (bytes(Ether(dst=A, src=B) / CryptoMeta(direction=0)) + V6, "direction"),
    (bytes(Ether(dst=A, src=B) / CryptoMeta(direction=5)) + V6, "direction"),
    (bytes(Ether(dst=A, src=B) / CryptoMeta(direction=1, pad=1)) + V6, "pad"),
    (bytes(Ether(dst=A, src=B) / CryptoMeta(direction=1, type=0x0806)) + V6, "neither"),
    (bytes(Ether(dst=A, src=B) / CryptoMeta(direction=1, type=0x0800)) + V6, "IP header"),
    (bytes(Ether(dst=A, src=B) / CryptoMeta(direction=1)), "shorter"),
])
def test_malformed_frames_raise_typed_error(frame, problem):
    with pytest.raises(PortFrameError, match=problem):
        split(frame)


def test_encode_refuses_non_ip_and_out_of_range():
    with pytest.raises(PortFrameError):
        encode(bytes(6), bytes(6), 1, CryptoDirection.ENCRYPTED, 1, b"\x00" * 40)
    with pytest.raises(PortFrameError):
        encode(bytes(6), bytes(6), 1, CryptoDirection.ENCRYPTED, 512, V6)
    with pytest.raises(PortFrameError):
        encode_reply(bytes(24), 1, 1, CryptoDirection.DECRYPTED, V6)  # a result is not answered


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_garbage_never_escapes_as_another_exception(data):
    frame = bytes(Ether(dst=A, src=B, type=0x88B5)) + data
    try:
        sa_index, direction, port, packet = split(frame)
    except PortFrameError:
        return
    assert direction in (1, 2, 3, 4) and port < 512 and packet == data[10:]
