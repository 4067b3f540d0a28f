"""AfPacketPort's batched I/O (mmsg.py) on real veths: one recvmmsg delivers
what per-frame recvmsg delivers (VLAN tags the kernel took off put back); the
frames of one receive batch leave in order with one sendmmsg, a frame the
kernel refuses is counted as a tx error and the frames after it still leave;
a port without a batch sends as before."""

from __future__ import annotations

import pytest

from p4mob_switch import mmsg
from p4mob_switch.ports import MAX_FRAME, AfPacketPort

from .veth import VethSet, veth_unavailable

pytestmark = pytest.mark.root


@pytest.fixture
def veths():
    reason = veth_unavailable()
    if reason:
        pytest.skip(reason)
    v = VethSet(2)
    yield v
    v.close()


def _frame(n: int, size: int = 64) -> bytes:
    return bytes.fromhex("02000000000102000000000288b5") + n.to_bytes(2, "big") + b"\x00" * (size - 16)


def _received(veths: VethSet, port: int, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        f = veths.recv(port, 2.0)
        if f is None:
            break
        out.append(f)
    return out


def test_a_batch_leaves_in_order_and_a_refused_frame_is_counted(veths) -> None:
    if mmsg._SENDMMSG is None:
        pytest.skip("no sendmmsg in libc here: ports send one frame at a time")
    batch = mmsg.MmsgBatch()
    ifs = veths.switch_ifs()
    port = AfPacketPort(1, ifs[1], lambda p, f: None, batch)
    try:
        veths.drain(1)
        frames = [_frame(n) for n in range(mmsg.MAX_MSGS + 10)]  # more than one sendmmsg chunk
        frames.insert(5, _frame(999, 9000))  # longer than the veth's MTU: the kernel refuses it
        batch.active = True
        for f in frames:
            port.send(f)
        assert veths.recv(1, 0.2) is None  # nothing leaves before the batch ends
        batch.active = False
        batch.flush()
        want = [f for f in frames if len(f) < 9000]
        assert _received(veths, 1, len(want)) == want
        assert (port.tx, port.tx_errors) == (len(want), 1)
        assert port.queued == [] and batch.waiting == []
    finally:
        port.close()


def test_without_a_batch_frames_leave_at_once(veths) -> None:
    ifs = veths.switch_ifs()
    port = AfPacketPort(1, ifs[1], lambda p, f: None)
    try:
        veths.drain(1)
        port.send(_frame(1))
        port.send(bytearray(_frame(2)))
        assert _received(veths, 1, 2) == [_frame(1), _frame(2)]
        assert port.tx == 2
    finally:
        port.close()


def _vlan_frame(n: int) -> bytes:
    return (bytes.fromhex("020000000001020000000002") + bytes.fromhex("81000005") + b"\x88\xb5"
            + n.to_bytes(2, "big") + b"\x00" * 50)


def test_recvmmsg_delivers_what_recvmsg_delivers(veths) -> None:
    if mmsg._RECVMMSG is None or mmsg._SENDMMSG is None:
        pytest.skip("no recvmmsg/sendmmsg in libc here: ports receive one frame at a time")
    ifs = veths.switch_ifs()
    frames = [_vlan_frame(n) if n % 3 == 0 else _frame(n, 60 + n) for n in range(mmsg.MAX_MSGS + 20)]
    got: dict[str, list[bytes]] = {"mmsg": [], "plain": []}
    for kind in got:
        batch = mmsg.MmsgBatch(rx_bufsize=MAX_FRAME + 1) if kind == "mmsg" else None
        port = AfPacketPort(1, ifs[1], lambda p, f, k=kind: got[k].append(f), batch)
        assert (port.rxbufs is not None) == (kind == "mmsg")
        try:
            for f in frames:
                veths.send(1, f)
            for _ in range(10):
                port._readable()
            assert port.rx == len(frames)
        finally:
            port.close()
    assert got["mmsg"] == got["plain"] == frames
