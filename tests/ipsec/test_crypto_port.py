"""The crypto-path process on the switch's crypto port, as a real subprocess on a real veth.

`p4mob ipsec run -c ipsec.toml -i cry1` runs in a namespace the test makes; the
test plays the switch on cry0 with frames built by scapy (Ethernet / CryptoMeta /
IP). ESP comes from scapy's SecurityAssociation, and scapy decrypts what the
process encrypts. A dropped packet gets no answer: each negative case is
followed by a good frame, and the first answer must be the good frame's (the
process handles frames in order), so no test waits for silence.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether

from p4mobility.runtime.control import request
from p4mobility.runtime.logs import read_events
from tests.dataplane.netns import netns_available
from tests.dataplane.p4consts import CryptoDirection
from tests.dataplane.packets import CryptoMeta

from .conftest import AUTH_KEY, CBC_KEY, COA, GCM_KEYMAT, HA, HOA, ba_packet, bu_packet, data_packet
from .crypto_port_lab import P4MOB, CryptoLab, recv_frame

SWITCH_MAC, HOST_MAC = "00:00:5e:00:53:01", "02:00:00:00:99:99"
WAIT = 5.0

CONFIG = f"""
[[state]]   # 1: BU in (RFC 3776), transport, AES-GCM
src = "{HOA}"
dst = "{HA}"
spi = "0x1000"
reqid = 1
dir = "in"
aead = {{ name = "rfc4106(gcm(aes))", key-file = "gcm.key", icv-len = 128 }}

[[state]]   # 2: BA out, transport, AES-GCM
src = "{HA}"
dst = "{HOA}"
spi = "0x2000"
reqid = 2
dir = "out"
aead = {{ name = "rfc4106(gcm(aes))", key-file = "gcm.key", icv-len = 128 }}

[[state]]   # 3: payload in, tunnel, CBC + HMAC
src = "{COA}"
dst = "{HA}"
spi = "0x3000"
reqid = 3
mode = "tunnel"
dir = "in"
enc = {{ name = "cbc(aes)", key-file = "cbc.key" }}
auth = {{ name = "hmac(sha256)", key-file = "auth.key", trunc-len = 128 }}

[[state]]   # 4: payload out, tunnel, CBC + HMAC
src = "{HA}"
dst = "{COA}"
spi = "0x4000"
reqid = 4
mode = "tunnel"
dir = "out"
enc = {{ name = "cbc(aes)", key-file = "cbc.key" }}
auth = {{ name = "hmac(sha256)", key-file = "auth.key", trunc-len = 128 }}

[[state]]   # 5: lifetimes (RFC 4301 §4.4.2.1): soft after 2 packets, hard after 3
src = "{HA}"
dst = "{HOA}"
spi = "0x6000"
reqid = 5
dir = "out"
aead = {{ name = "rfc4106(gcm(aes))", key-file = "gcm.key", icv-len = 128 }}
limit = {{ packet-soft = 2, packet-hard = 3 }}

[[state]]   # 6: seconds lifetimes, fired by the process's timer
src = "{HA}"
dst = "{HOA}"
spi = "0x7000"
reqid = 6
dir = "out"
aead = {{ name = "rfc4106(gcm(aes))", key-file = "gcm.key", icv-len = 128 }}
limit = {{ time-soft = 1, time-hard = 2 }}

[[policy]]
dir = "in"
local = "{HA}/128"
remote = "{HOA}/128"
proto = "mh"
remote-mh-type = 5
tmpl = {{ reqid = 1 }}

[[policy]]
dir = "in"
remote = "{HOA}/128"
tmpl = {{ reqid = 3, mode = "tunnel" }}
"""

GCM = dict(crypt_algo="AES-GCM", crypt_key=GCM_KEYMAT, auth_algo="NULL")
CBC = dict(crypt_algo="AES-CBC", crypt_key=CBC_KEY, auth_algo="SHA2-256-128", auth_key=AUTH_KEY)


def write_config(d: Path, text: str = CONFIG) -> Path:
    for name, key in (("gcm.key", GCM_KEYMAT), ("cbc.key", CBC_KEY), ("auth.key", AUTH_KEY)):
        fd = os.open(d / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
    path = d / "ipsec.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    reason = netns_available()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("crypto")
    lab = CryptoLab(tmp)
    try:
        lab.start(write_config(tmp))
        yield lab
    finally:
        lab.close()


def frame(direction: int, sa_index: int, packet: bytes, port: int = 2) -> bytes:
    version = packet[0] >> 4
    return bytes(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                 / CryptoMeta(sa_index=sa_index, direction=direction, port=port,
                              type=0x86DD if version == 6 else 0x0800)) + packet


def exchange(lab: CryptoLab, data: bytes) -> bytes:
    lab.sock.send(data)
    got = recv_frame(lab.sock, WAIT)
    assert got is not None, "no answer from the crypto process"
    return got


def reply_of(got: bytes) -> CryptoMeta:
    eth = Ether(got)
    assert (eth.dst, eth.src) == (HOST_MAC, SWITCH_MAC)  # the request's MACs, swapped
    return CryptoMeta(got[14:])  # not eth[CryptoMeta]: tests/dataplane may bind its own copy of the class


def sa_rows(lab: CryptoLab) -> dict[int, dict]:
    ans = request(lab.control, {"cmd": "show", "what": "sas"})
    assert ans["ok"]
    return {r[0]: dict(zip(ans["columns"], r)) for r in ans["rows"]}


def test_rfc3776_transport_bu_decrypted_and_port_echoed(lab):
    ssa = SecurityAssociation(ESP, spi=0x1000, **GCM)
    bu = bu_packet(seq=11)
    wire = bytes(ssa.encrypt(IPv6(bu), seq_num=1))
    meta = reply_of(exchange(lab, frame(CryptoDirection.DECRYPT, 1, wire, port=300)))
    assert (meta.sa_index, meta.getfieldval("direction"), meta.port, meta.type) == (1, CryptoDirection.DECRYPTED, 300, 0x86DD)
    assert bytes(meta.payload) == bu  # ESP removed, HAO kept (RFC 4303 §3.1.1)


def test_rfc4303_tunnel_mode_decrypt_returns_inner_packet(lab):
    ssa = SecurityAssociation(ESP, spi=0x3000, tunnel_header=IPv6(src=COA, dst=HA), **CBC)
    inner = data_packet(100)
    wire = bytes(ssa.encrypt(IPv6(inner), seq_num=1))
    meta = reply_of(exchange(lab, frame(CryptoDirection.DECRYPT, 3, wire, port=1)))
    assert (meta.sa_index, meta.getfieldval("direction"), meta.port) == (3, CryptoDirection.DECRYPTED, 1)
    assert bytes(meta.payload) == inner


def test_rfc4303_3_3_encrypt_transport_ba_scapy_decrypts(lab):
    ssa = SecurityAssociation(ESP, spi=0x2000, **GCM)
    ba = ba_packet(seq=11)
    for want_seq in (1, 2):  # RFC 4303 §3.3.3: the first packet sent is 1
        meta = reply_of(exchange(lab, frame(CryptoDirection.ENCRYPT, 2, ba, port=255)))
        assert (meta.sa_index, meta.getfieldval("direction"), meta.port) == (2, CryptoDirection.ENCRYPTED, 255)
        out = IPv6(bytes(meta.payload))
        assert out[ESP].seq == want_seq
        assert bytes(ssa.decrypt(out)) == ba  # verifies the ICV too


def test_rfc4303_3_3_encrypt_tunnel_scapy_decrypts(lab):
    ssa = SecurityAssociation(ESP, spi=0x4000, tunnel_header=IPv6(src=HA, dst=COA), **CBC)
    inner = data_packet(300)
    meta = reply_of(exchange(lab, frame(CryptoDirection.ENCRYPT, 4, inner, port=1)))
    out = IPv6(bytes(meta.payload))
    assert (out.src, out.dst, out.nh) == (HA, COA, 50)
    assert bytes(ssa.decrypt(out)) == inner


def test_rfc4303_3_4_icv_replay_unknown_sa_not_answered_and_counted(lab):
    ssa = SecurityAssociation(ESP, spi=0x1000, **GCM)
    before = sa_rows(lab)[1]
    status0 = request(lab.control, {"cmd": "status"})
    good = [bytes(ssa.encrypt(IPv6(bu_packet(seq=20 + n)), seq_num=100 + n)) for n in range(3)]
    bad_icv = bytearray(good[1])
    bad_icv[-1] ^= 1  # RFC 4303 §3.4.4
    lab.sock.send(frame(CryptoDirection.DECRYPT, 1, bytes(bad_icv), port=7))
    lab.sock.send(frame(CryptoDirection.DECRYPT, 99, good[0], port=7))  # no such SA
    lab.sock.send(frame(CryptoDirection.DECRYPT, 2, good[0], port=7))  # outbound SA, wrong SPI
    lab.sock.send(frame(CryptoDirection.ENCRYPT, 77, bu_packet(), port=7))  # no outbound SA 77
    meta = reply_of(exchange(lab, frame(CryptoDirection.DECRYPT, 1, good[0], port=8)))
    assert (meta.port, bytes(meta.payload)) == (8, bu_packet(seq=20))  # first answer: the good one
    lab.sock.send(frame(CryptoDirection.DECRYPT, 1, good[0], port=7))  # replay (RFC 4303 §3.4.3)
    meta = reply_of(exchange(lab, frame(CryptoDirection.DECRYPT, 1, good[2], port=9)))
    assert (meta.port, bytes(meta.payload)) == (9, bu_packet(seq=22))
    after = sa_rows(lab)[1]
    shown = subprocess.run([P4MOB, "show", "sas", "--socket", lab.control], capture_output=True, text=True)
    assert shown.returncode == 0 and "0x00001000" in shown.stdout and "icv_failures" in shown.stdout
    assert after["icv_failures"] == before["icv_failures"] + 1
    assert after["replay_drops"] == before["replay_drops"] + 1
    assert after["packets"] == before["packets"] + 2
    assert after["other_drops"] == before["other_drops"]
    status = request(lab.control, {"cmd": "status"})
    assert status["unknown_sa"] == status0["unknown_sa"] + 3
    assert status["frames_in"] == status0["frames_in"] + 7
    assert status["frames_out"] == status0["frames_out"] + 2


def test_rfc4301_4_4_2_1_lifetimes_logged_as_rekey_and_hard_limit_stops_answers(lab):
    ssa = SecurityAssociation(ESP, spi=0x2000, **GCM)
    for seq in (1, 2, 3):  # the packet reaching the hard limit is still processed
        meta = reply_of(exchange(lab, frame(CryptoDirection.ENCRYPT, 5, ba_packet(seq), port=1)))
        assert IPv6(bytes(meta.payload))[ESP].seq == seq
    lab.sock.send(frame(CryptoDirection.ENCRYPT, 5, ba_packet(4), port=1))  # SaExpired: no answer
    meta = reply_of(exchange(lab, frame(CryptoDirection.ENCRYPT, 2, ba_packet(), port=6)))
    assert meta.port == 6 and ssa.decrypt(IPv6(bytes(meta.payload)))
    rekeys = [(e["sa_index"], e["reason"], e["hard"]) for e in read_events(lab.log) if e["event"] == "rekey"]
    assert (5, "packets", False) in rekeys and (5, "packets", True) in rekeys
    assert sa_rows(lab)[5]["other_drops"] == 1  # expired_drops


def test_rfc4301_4_4_2_1_seconds_lifetimes_fire_from_the_timer(lab):
    """No packet uses SA 6: only the process's timer can raise its soft and hard events."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rekeys = {(e["reason"], e["hard"]) for e in read_events(lab.log)
                  if e["event"] == "rekey" and e["sa_index"] == 6}
        if rekeys == {("time", False), ("time", True)}:
            break
        time.sleep(0.1)
    assert rekeys == {("time", False), ("time", True)}
    lab.sock.send(frame(CryptoDirection.ENCRYPT, 6, ba_packet(), port=1))  # dead SA: no answer
    meta = reply_of(exchange(lab, frame(CryptoDirection.ENCRYPT, 2, ba_packet(), port=5)))
    assert meta.port == 5


def test_garbage_frames_counted_and_process_alive(lab):
    status0 = request(lab.control, {"cmd": "status"})
    ether = bytes(Ether(dst=SWITCH_MAC, src=HOST_MAC, type=0x88B5))
    ssa = SecurityAssociation(ESP, spi=0x1000, **GCM)
    garbage = [
        ether + b"\x00\x00",                                      # header truncated
        ether + bytes(CryptoMeta(sa_index=1, direction=9)) + bu_packet(),   # unknown direction
        ether + bytes(CryptoMeta(sa_index=1, direction=1, pad=3)) + bu_packet(),   # pad bits set
        ether + bytes(CryptoMeta(sa_index=1, direction=1, type=0x0806)) + bu_packet(),
        ether + bytes(CryptoMeta(sa_index=1, direction=1, type=0x0800)) + bu_packet(),  # v6 as v4
        ether + bytes(CryptoMeta(sa_index=1, direction=1)),       # no packet
        ether + b"\xff" * 200,
    ]
    for g in garbage:
        lab.sock.send(g)
    # not for the crypto path at all: ignored, not counted
    lab.sock.send(bytes(Ether(dst=SWITCH_MAC, src=HOST_MAC) / IPv6(src=HA, dst=HOA)))
    lab.sock.send(frame(CryptoDirection.DECRYPTED, 1, bu_packet()))  # a result: not answered
    meta = reply_of(exchange(lab, frame(CryptoDirection.DECRYPT, 1,
                                        bytes(ssa.encrypt(IPv6(bu_packet(seq=30)), seq_num=500)))))
    assert bytes(meta.payload) == bu_packet(seq=30)
    status = request(lab.control, {"cmd": "status"})
    assert status["bad_frames"] - status0["bad_frames"] == len(garbage)
    assert status["frames_in"] - status0["frames_in"] == 1


def test_status_digest_log_events_and_sigterm(tmp_path):
    """A second process of its own: status names the file's digest, SIGTERM exits 0 with crypto_stop."""
    import hashlib

    reason = netns_available()
    if reason:
        pytest.skip(reason)
    cfg = write_config(tmp_path)
    lab = CryptoLab(tmp_path)
    try:
        lab.start(cfg)
        st = request(lab.control, {"cmd": "status"})
        assert st == {"ok": True, "role": "crypto", "sas": 6,
                      "config_digest": hashlib.sha256(cfg.read_bytes()).hexdigest(),
                      "unknown_sa": 0, "frames_in": 0, "frames_out": 0, "bad_frames": 0, "io": "ring"}
        ssa = SecurityAssociation(ESP, spi=0x1000, **GCM)
        wire = bytes(ssa.encrypt(IPv6(bu_packet()), seq_num=1))
        lab.sock.send(frame(CryptoDirection.DECRYPT, 42, wire))
        exchange(lab, frame(CryptoDirection.DECRYPT, 1, wire))
        assert lab.stop() == 0
    finally:
        lab.close()
    events = read_events(lab.log)
    names = [e["event"] for e in events]
    assert names[0] == "crypto_start" and names[-1] == "crypto_stop"
    drop = next(e for e in events if e["event"] == "crypto_drop")
    assert (drop["reason"], drop["sa_index"], drop["direction"]) == ("UnknownSpi", 42, "DECRYPT")
    assert events[-1]["frames_out"] == 1 and events[-1]["unknown_sa"] == 1


def test_own_frames_skipped_without_packet_ignore_outgoing(tmp_path):
    """Kernels before 4.20 hand a packet socket copies of what it sent (PACKET_OUTGOING):
    the node, driven in this process on a socket without the option, reads them in the
    same batch as the request (the copy is queued when send returns) and skips them."""
    import select

    from p4mobility.runtime.crypto_port import CryptoPortNode
    from p4mobility.runtime.logs import EventLog

    from .crypto_port_lab import socket_in_netns

    reason = netns_available()
    if reason:
        pytest.skip(reason)
    lab = CryptoLab(tmp_path)  # veth only; the node runs here, not as a process
    try:
        node = CryptoPortNode(str(write_config(tmp_path)), "cry1", None, EventLog("crypto", open(os.devnull, "w")))
        node._sock = socket_in_netns(lab.netns, "cry1", ignore_outgoing=False)
        ssa = SecurityAssociation(ESP, spi=0x1000, **GCM)
        for seq in (1, 2):
            lab.sock.send(frame(CryptoDirection.DECRYPT, 1, bytes(ssa.encrypt(IPv6(bu_packet(seq)), seq_num=seq))))
            assert select.select([node._sock], [], [], WAIT)[0]
            node.on_readable()  # answers, then reads and skips the copy of its answer
            meta = reply_of(recv_frame(lab.sock, WAIT))
            assert bytes(meta.payload) == bu_packet(seq)  # the first answer is this request's
        assert (node.frames_in, node.frames_out, node.bad_frames) == (2, 2, 0)
        assert not select.select([node._sock], [], [], 0)[0]  # the copies were consumed
    finally:
        if node._sock is not None:
            node._sock.close()
        lab.close()


def test_config_error_is_one_line_exit_2(tmp_path):
    cfg = write_config(tmp_path, CONFIG.replace('spi = "0x1000"', 'spi = "0x10"'))
    r = subprocess.run([P4MOB, "ipsec", "run", "-c", str(cfg), "-i", "cry1"], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "state[0].spi" in r.stderr and "Traceback" not in r.stderr
