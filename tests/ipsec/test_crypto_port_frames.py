"""CryptoPortNode.handle_frame without a socket: hostile frames and the drop log.

Rule checked: whatever arrives on the crypto port, the adapter returns a reply
frame or None and counts it; it never raises (docs/ipsec.md, the crypto-path
process). crypto_drop lines are rate-limited per reason, with a suppressed count.
"""
from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether

from p4mobility.ipsec.portframe import CryptoDirection, split
from p4mobility.runtime.crypto_port import CryptoPortNode, DropLog
from p4mobility.runtime.logs import EventLog
from tests.dataplane.packets import CryptoMeta

from .conftest import GCM_KEYMAT, bu_packet
from .test_crypto_port import write_config



@pytest.fixture(scope="module")
def node(tmp_path_factory):
    node = CryptoPortNode(str(write_config(tmp_path_factory.mktemp("frames"))), "unused", None,
                          EventLog("crypto", io.StringIO()))
    yield node
    assert "InternalError" not in node.drops  # nothing escaped the core


def _frame(direction: int, sa_index: int, packet: bytes, etype: int = 0x86DD) -> bytes:
    return bytes(Ether() / CryptoMeta(sa_index=sa_index, direction=direction, port=3, type=etype)) + packet


@settings(max_examples=400, deadline=None)
@given(direction=st.integers(0, 255), sa_index=st.integers(0, 8), body=st.binary(max_size=120),
       v6=st.booleans())
def test_hostile_packets_on_every_sa_never_raise(node, direction, sa_index, body, v6):
    packet = (b"\x60" if v6 else b"\x45") + body
    reply = node.handle_frame(_frame(direction, sa_index, packet, 0x86DD if v6 else 0x0800), 1.0)
    if reply is not None:  # only a real request may be answered, with a valid frame
        assert direction in (CryptoDirection.DECRYPT, CryptoDirection.ENCRYPT)
        assert split(reply)[1] == direction + 2


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_frames_never_raise(node, data):
    assert node.handle_frame(data, 1.0) is None or data[12:14] == b"\x88\xb5"


def test_rfc4303_3_4_4_icv_failures_logged_once_per_second_with_suppressed_count(tmp_path):
    stream = io.StringIO()
    node = CryptoPortNode(str(write_config(tmp_path)), "unused", None,
                          EventLog("crypto", stream))
    ssa = SecurityAssociation(ESP, spi=0x1000, crypt_algo="AES-GCM", crypt_key=GCM_KEYMAT, auth_algo="NULL")
    for n in range(5):
        wire = bytearray(bytes(ssa.encrypt(IPv6(bu_packet()), seq_num=n + 1)))
        wire[-1] ^= 0xFF
        assert node.handle_frame(_frame(CryptoDirection.DECRYPT, 1, bytes(wire)), 10.0 + n * 0.1) is None
    wire = bytearray(bytes(ssa.encrypt(IPv6(bu_packet()), seq_num=9)))
    wire[-1] ^= 0xFF
    node.handle_frame(_frame(CryptoDirection.DECRYPT, 1, bytes(wire)), 11.5)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    drops = [(e["reason"], e["suppressed"]) for e in lines if e["event"] == "crypto_drop"]
    assert drops == [("IcvError", 0), ("IcvError", 4)]
    assert node.path.sad.get(1).counters.icv_failures == 6


def test_drop_log_limits_per_reason_independently():
    stream = io.StringIO()
    log = DropLog(EventLog("crypto", stream), interval=1.0)
    for t in (0.0, 0.2, 0.4):
        log.drop(t, "A")
        log.drop(t, "B")
    log.drop(1.5, "A")
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [(e["reason"], e["suppressed"]) for e in lines] == [("A", 0), ("B", 0), ("A", 2)]
