"""Punts and packet-outs on a dedicated port (runtime/punt_port.py, issue 15).

The switch process (embedded target, bmv2 when installed) runs with a veth as its
CPU_PORT and no --cpu-port; a real `p4mob lma run` with `punt_interface` reads the
punted PBUs there and writes its PBAs there, and the test plays the MAG on port 1
(tests/e2e/lma_alone.py). What the switch holds is read by an independent P4Runtime
client (lab/inspect.py). The header layouts come from p4src/include/header.p4.
"""
from __future__ import annotations

import time
from pathlib import Path

import finsy
import pytest

from p4mobility.mh import BindingAck, HomeNetworkPrefix
from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO
from p4mobility.runtime.punt_port import ControllerHeader
from tests.dataplane.targets import selected_targets

from .lma_alone import GEN_MAC, SW_MAC, LmaAlone, frame, mh_bytes, pbu


def test_controller_headers_have_the_p4_layout():
    """header.p4: packet_out = egress_port (9 bits), through_pipeline (1), padding (6);
    packet_in = ingress_port (9), padding (7), punt_reason (8), outer IPv4 source (32),
    UDP source port (16), SPI (32), sa_index: 17 bytes with the SA index's width."""
    schema = finsy.P4Schema(DEFAULT_P4INFO)
    out = ControllerHeader.of(schema, "packet_out")
    assert out.pack({"egress_port": 1, "through_pipeline": 1}) == bytes([0b00000000, 0b11000000])
    assert out.pack({"egress_port": 0x1FF, "through_pipeline": 0}) == bytes([0xFF, 0x80])
    pin = ControllerHeader.of(schema, "packet_in")
    assert pin.nbytes == 17
    raw = bytes([0x00, 0x80 | 0x00, 7]) + bytes([192, 0, 2, 1]) + (4191).to_bytes(2, "big") \
        + (0x1234).to_bytes(4, "big") + bytes(pin.nbytes - 13)
    got = pin.unpack(raw + b"frame")
    assert (got["ingress_port"], got["punt_reason"], got["outer_ipv4_src"], got["udp_src_port"], got["spi"]) \
        == (1, 7, 0xC0000201, 4191, 0x1234)
    assert pin.pack(got) == raw


@pytest.fixture(scope="module", params=selected_targets())
def lma(request, tmp_path_factory):
    h = LmaAlone.start_or_skip(request.param, Path(tmp_path_factory.mktemp(f"punt-{request.param}")), punt_port=True)
    try:
        yield h
    finally:
        h.close()


@pytest.mark.root
@pytest.mark.timeout(600)
def test_registration_and_deregistration_through_the_punt_port(lma):
    h = lma
    entries0 = len(h.snapshot()[0])
    h.drain()
    h.send(frame(mh_bytes(pbu("mn1", 1))))
    (_, pba), = h.answers(30)
    assert isinstance(pba, BindingAck) and pba.status == 0 and pba.sequence == 1
    entries, rows = h.snapshot()
    assert len(rows) == 1 and len(entries) > entries0  # the binding's entries are on the switch
    prefix = str(pba.option(HomeNetworkPrefix).prefix)
    h.drain()
    h.send(frame(mh_bytes(pbu("mn1", 2, lifetime=0, hi=1, hnps=((prefix, 64),)))))
    (_, bye), = h.answers(30)
    assert bye.status == 0 and bye.lifetime == 0 and bye.sequence == 2
    h.wait_event("BindingDeleted", since=time.time() - 60, timeout=60, where=lambda e: e.get("mn_id") == "mn1")
    assert not h.events("punt_port_error") and not h.events("packet_out_failed")



@pytest.mark.root
@pytest.mark.timeout(600)
def test_a_full_size_downlink_packet_is_held_and_released_through_the_punt_port(lma):
    """RFC 5213 §5.3.5 with buffering: the binding de-registers, a 1,500-byte downlink packet
    for its prefix is punted (1,514 + 17 bytes on the punt veth), held, and sent through the
    pipeline as a packet-out once the MN registers again: it leaves in the tunnel to the MAG."""
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    h = lma
    h.drain()
    h.send(frame(mh_bytes(pbu("mn2", 1))))
    (_, pba), = h.answers(30)
    assert pba.status == 0
    hnp = pba.option(HomeNetworkPrefix).prefix
    hnps = ((str(hnp), 64),)
    h.send(frame(mh_bytes(pbu("mn2", 2, lifetime=0, hi=1, hnps=hnps))))
    (_, bye), = h.answers(30)
    assert bye.status == 0 and bye.lifetime == 0
    mn = str(hnp + 1)  # the option carries the prefix as an address
    data = bytes(range(256)) * 6
    down = Ether(dst=SW_MAC, src=GEN_MAC) / IPv6(src="2001:db8:cc::1", dst=mn, hlim=63) \
        / UDP(sport=7, dport=7) / data[:1500 - 48]
    assert len(down) == 1514
    h.drain()
    t = time.time()
    h.send(bytes(down))  # the same port, so the switch punts it before the PBU that follows
    h.send(frame(mh_bytes(pbu("mn2", 3, hi=1, hnps=hnps))))
    flushed = h.wait_event("downlink_buffer_flushed", since=t, timeout=30)
    assert flushed["frames"] == 1
    deadline = time.monotonic() + 30
    inner = None
    while inner is None and time.monotonic() < deadline:
        raw = h.ns.recv(1, max(0.0, deadline - time.monotonic()))
        if raw is None:
            break
        pkt = Ether(raw)
        if IPv6 in pkt and pkt[IPv6].nh == 41 and IPv6 in pkt[IPv6].payload:  # RFC 2473 tunnel
            inner = pkt[IPv6].payload
    assert inner is not None, "the held packet did not leave in the tunnel"
    assert inner.dst == mn and bytes(inner[UDP].payload) == data[:1500 - 48]
