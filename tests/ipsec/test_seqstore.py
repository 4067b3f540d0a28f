"""RFC 4303 §3.3.3 with manual keys: the sender's sequence counter survives a
restart of the crypto path, so the peer's anti-replay window accepts what it
sends next; a corrupt state file is refused, never guessed around."""
from __future__ import annotations

import json

import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP

from p4mobility.ipsec import CryptoPath, Sad
from p4mobility.ipsec.events import Accepted, Dropped, Protected
from p4mobility.runtime.seqstore import SequenceStore, SeqStoreError

from .conftest import bu_packet, sa_pair


def _seq(wire: bytes) -> int:
    return IPv6(wire)[ESP].seq  # scapy reads the ESP header, not our code


def _ends(tmp_path, reserve=8):
    """A restartable sender (fresh SA objects each time, as a new process has) and one receiver."""
    out, inb = sa_pair("gcm")
    rx = Sad()
    rx_index = rx.add(inb, 0.0)
    return CryptoPath(rx), rx_index


def _sender(tmp_path, reserve=8):
    out, _ = sa_pair("gcm")
    sad = Sad()
    index = sad.add(out, 0.0)
    store = SequenceStore(tmp_path / "seq.state", reserve=reserve)
    store.attach(sad)
    path = CryptoPath(sad)

    def send(packet: bytes) -> bytes:
        store.before_seal(sad.get(index))
        r = path.process_outbound(packet, index, 0.0)
        assert isinstance(r, Protected)
        return r.packet

    return send, sad.get(index)


def test_rfc4303_3_3_3_restart_never_reuses_a_sequence_number(tmp_path):
    receiver, rx_index = _ends(tmp_path)
    send, sa = _sender(tmp_path, reserve=8)
    seen = []
    for n in range(20):  # crosses two reservations
        wire = send(bu_packet(n))
        seen.append(_seq(wire))
        assert isinstance(receiver.process_inbound(wire, rx_index, 0.0), Accepted)
    stored = json.loads((tmp_path / "seq.state").read_text())["reserved"]
    assert max(stored.values()) >= seen[-1]  # the file always covers what was sent
    send2, sa2 = _sender(tmp_path, reserve=8)  # the process restarts
    wire = send2(bu_packet(99))
    assert _seq(wire) > max(seen)
    assert isinstance(receiver.process_inbound(wire, rx_index, 0.0), Accepted)  # not a replay


def test_without_the_store_a_restart_is_a_replay_at_the_peer(tmp_path):
    """What the store prevents (the peer's window at work)."""
    receiver, rx_index = _ends(tmp_path)
    out, _ = sa_pair("gcm")
    sad = Sad()
    i = sad.add(out, 0.0)
    first = CryptoPath(sad).process_outbound(bu_packet(1), i, 0.0).packet
    assert isinstance(receiver.process_inbound(first, rx_index, 0.0), Accepted)
    out2, _ = sa_pair("gcm")
    sad2 = Sad()
    j = sad2.add(out2, 0.0)
    again = CryptoPath(sad2).process_outbound(bu_packet(2), j, 0.0).packet
    assert isinstance(receiver.process_inbound(again, rx_index, 0.0), Dropped)


@pytest.mark.parametrize("content", ["not json", '{"reserved": {"0x1@::1": -1}}', '{"reserved": []}', "[]"])
def test_corrupt_state_file_is_refused(tmp_path, content):
    (tmp_path / "seq.state").write_text(content)
    out, _ = sa_pair("gcm")
    sad = Sad()
    sad.add(out, 0.0)
    with pytest.raises(SeqStoreError):
        SequenceStore(tmp_path / "seq.state").attach(sad)
