"""The crypto process's two port I/O modes: PACKET_MMAP rings (default) and a plain socket.

Rule checked: `--io socket` and the reference path (`--no-shortcut`) answer as the
default does; where the kernel refuses a ring the node says so in one crypto_io log
line and runs on a plain socket (docs/performance.md, crypto port).
"""
from __future__ import annotations

import io
import json

import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation

from p4mobility.runtime import crypto_port
from p4mobility.runtime.control import request
from p4mobility.runtime.crypto_port import CryptoPortNode
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.packet_ring import RingUnavailable
from tests.dataplane.netns import netns_available
from tests.dataplane.p4consts import CryptoDirection

from .conftest import bu_packet
from .crypto_port_lab import CryptoLab, socket_in_netns
from .test_crypto_port import GCM, exchange, frame, reply_of, write_config


@pytest.mark.parametrize("extra", [(), ("--io", "socket"), ("--io", "socket", "--no-shortcut"),
                                   ("--no-shortcut",)])
def test_every_io_mode_answers_the_same(tmp_path, extra):
    reason = netns_available()
    if reason:
        pytest.skip(reason)
    lab = CryptoLab(tmp_path)
    try:
        lab.start(write_config(tmp_path), extra=extra)
        ssa = SecurityAssociation(ESP, spi=0x1000, **GCM)
        for seq in (1, 2, 3):
            got = exchange(lab, frame(CryptoDirection.DECRYPT, 1, bytes(ssa.encrypt(IPv6(bu_packet(seq)),
                                                                                   seq_num=seq))))
            assert bytes(reply_of(got).payload) == bu_packet(seq)
        st = request(lab.control, {"cmd": "status"})
        assert st["io"] == ("socket" if "socket" in extra else "ring")
        assert (st["frames_in"], st["frames_out"]) == (3, 3)
    finally:
        lab.close()


def test_no_ring_falls_back_to_a_socket_with_a_log_line(tmp_path, monkeypatch):
    reason = netns_available()
    if reason:
        pytest.skip(reason)

    def refuse(ifname, frames=0):  # a kernel without PACKET_MMAP (cannot be had here otherwise)
        raise RingUnavailable(92, "Protocol not available")
    lab = CryptoLab(tmp_path)
    try:
        monkeypatch.setattr(crypto_port, "PacketRing", refuse)
        monkeypatch.setattr(crypto_port, "open_packet_socket",
                            lambda ifname: (socket_in_netns(lab.netns, ifname), True))
        stream = io.StringIO()
        node = CryptoPortNode(str(write_config(tmp_path)), "cry1", None, EventLog("crypto", stream))
        fd = node._open_port()
        assert node.io == "socket" and node._sock is not None and fd == node._sock.fileno()
        line = json.loads(stream.getvalue().splitlines()[0])
        assert line["event"] == "crypto_io" and line["io"] == "socket" and "PACKET_MMAP" in line["reason"]
        node._sock.close()
    finally:
        lab.close()


@pytest.mark.parametrize("io_mode", ["ring", "socket"])
def test_link_down_and_up_then_answers_again(tmp_path, io_mode):
    reason = netns_available()
    if reason:
        pytest.skip(reason)
    lab = CryptoLab(tmp_path)
    try:
        lab.start(write_config(tmp_path), extra=("--io", io_mode))
        ssa = SecurityAssociation(ESP, spi=0x1000, **GCM)
        packets = [bytes(ssa.encrypt(IPv6(bu_packet(seq)), seq_num=seq)) for seq in (1, 2)]
        exchange(lab, frame(CryptoDirection.DECRYPT, 1, packets[0]))
        lab.ns("ip", "link", "set", "cry1", "down")
        lab.ns("ip", "link", "set", "cry1", "up")
        got = exchange(lab, frame(CryptoDirection.DECRYPT, 1, packets[1]))
        assert bytes(reply_of(got).payload) == bu_packet(2)
        assert request(lab.control, {"cmd": "status"})["frames_out"] == 2
    finally:
        lab.close()
