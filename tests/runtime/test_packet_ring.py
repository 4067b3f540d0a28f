"""runtime/packet_ring.py on a real veth pair in a namespace the test makes.

Rule checked: frames sent on one end arrive through the RX ring in order and byte for
byte, across more frames than the ring holds; frames queued in the TX ring leave with
one send(), in order, up to the MTU; a frame longer than a slot is refused, not cut;
our own transmissions do not come back into the RX ring (PACKET_IGNORE_OUTGOING).
"""
from __future__ import annotations

import os
import select

import pytest

from p4mobility.runtime.packet_ring import PacketRing, RingUnavailable
from tests.dataplane.netns import _setns, netns_available

from tests.ipsec.crypto_port_lab import CryptoLab, recv_frame

WAIT = 5.0


def ring_in_netns(netns: str, ifname: str, frames: int) -> PacketRing:
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            return PacketRing(ifname, frames)
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(target)


@pytest.fixture
def veth(tmp_path):
    reason = netns_available()
    if reason:
        pytest.skip(reason)
    lab = CryptoLab(tmp_path)  # cry0 (lab.sock) <-> cry1, MTU 9000
    try:
        try:
            ring = ring_in_netns(lab.netns, "cry1", 16)
        except RingUnavailable as exc:
            pytest.skip(f"kernel refuses PACKET_MMAP rings here: {exc}")
        yield lab, ring
        ring.close()
    finally:
        lab.close()


def _frame(n: int, size: int) -> bytes:
    return bytes.fromhex("020000000001" "020000000002" "88b5") + n.to_bytes(4, "big") + bytes(size - 18)


def _drain(ring: PacketRing, want: int) -> list[bytes]:
    got: list[bytes] = []
    while len(got) < want:
        if not select.select([ring], [], [], WAIT)[0]:
            break
        got += ring.recv_batch(want - len(got))
    return got


def test_rx_ring_in_order_across_wraparound(veth):
    lab, ring = veth
    assert ring.frames == 16 and ring.slot >= 9000
    sizes = [60, 1514, 9014, 64] * 10  # 40 frames through a 16-slot ring, in 4 rounds
    for start in range(0, len(sizes), 10):
        sent = [_frame(n, sizes[n]) for n in range(start, start + 10)]
        for f in sent:
            lab.sock.send(f)
        assert _drain(ring, 10) == sent
    assert ring.recv_batch(8) == []


def test_tx_ring_one_flush_sends_all_in_order_and_not_back_to_us(veth):
    lab, ring = veth
    for rnd in range(3):  # 3 x 12 frames through 16 TX slots
        sent = [_frame(rnd * 100 + n, 60 + n * 700) for n in range(12)]
        assert all(ring.queue(f) for f in sent)
        assert ring.queued == 12
        ring.flush()
        assert ring.queued == 0
        assert [recv_frame(lab.sock, WAIT, None) for _ in sent] == sent
    assert ring.recv_batch(16) == []  # PACKET_IGNORE_OUTGOING: no copies of what we sent


def test_tx_ring_refuses_a_frame_longer_than_a_slot(veth):
    _lab, ring = veth
    assert not ring.queue(bytes(ring.max_frame + 1))
    assert ring.queued == 0
