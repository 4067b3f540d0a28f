"""Interop with scapy's independent ESP (spec digest §11): both directions.

scapy's ``SecurityAssociation`` decrypts what we encrypt and we decrypt what
it encrypts, for AES-GCM, AES-CBC+HMAC-SHA-256-128 and NULL+HMAC, transport
and tunnel mode, with and without ESN.
"""
from __future__ import annotations

import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation

from p4mobility.ipsec import Accepted, Protected

from .conftest import AUTH_KEY, CBC_KEY, COA, GCM_KEYMAT, HA, HOA, bu_packet, data_packet, path_pair

SCAPY_ALGOS = {
    "gcm": dict(crypt_algo="AES-GCM", crypt_key=GCM_KEYMAT, auth_algo="NULL"),
    "cbc": dict(crypt_algo="AES-CBC", crypt_key=CBC_KEY, auth_algo="SHA2-256-128", auth_key=AUTH_KEY),
    "null": dict(crypt_algo="NULL", auth_algo="SHA2-256-128", auth_key=AUTH_KEY),
}


def _setup(algo: str, mode: str, esn: bool):
    if mode == "tunnel":
        path, out, inb = path_pair(algo, src=COA, dst=HA, mode="tunnel", esn=esn)
        ssa = SecurityAssociation(ESP, spi=0x1000, tunnel_header=IPv6(src=COA, dst=HA), esn_en=esn,
                                  **SCAPY_ALGOS[algo])
        return path, out, inb, ssa, data_packet(100)
    path, out, inb = path_pair(algo, esn=esn)
    ssa = SecurityAssociation(ESP, spi=0x1000, esn_en=esn, **SCAPY_ALGOS[algo])
    return path, out, inb, ssa, bu_packet()


@pytest.mark.parametrize("esn", [False, True], ids=["sn32", "esn"])
@pytest.mark.parametrize("mode", ["transport", "tunnel"])
def test_rfc4303_scapy_decrypts_ours(algo, mode, esn):
    path, out, _, ssa, pkt = _setup(algo, mode, esn)
    for _ in range(3):
        r = path.process_outbound(pkt, out, 0.0)
        assert isinstance(r, Protected)
        esp = IPv6(r.packet)[ESP]
        assert esp.spi == 0x1000 and esp.seq == r.seq
        plain = ssa.decrypt(IPv6(r.packet), esn=r.seq >> 32)  # verifies the ICV
        assert bytes(plain) == pkt


@pytest.mark.parametrize("esn", [False, True], ids=["sn32", "esn"])
@pytest.mark.parametrize("mode", ["transport", "tunnel"])
def test_rfc4303_we_decrypt_scapys(algo, mode, esn):
    path, _, inb, ssa, pkt = _setup(algo, mode, esn)
    hi = 0
    if esn:  # start just below 2^32 so the packets cross the ESN boundary
        hi = 0
        path.sad.get(inb).window.update((1 << 32) - 3)
    for seq in ([(1 << 32) - 2, (1 << 32) - 1, (1 << 32) + 1] if esn else [1, 2, 5]):
        hi = seq >> 32
        wire = bytes(ssa.encrypt(IPv6(pkt), seq_num=seq & 0xFFFFFFFF, esn=hi))
        r = path.process_inbound(wire, None, 0.0)
        assert isinstance(r, Accepted), r
        assert r.seq == seq
        assert r.packet == pkt


def test_rfc3776_bu_ha_side_keeps_hao_outside_esp():
    """Scapy's transport split keeps the Home Address option before ESP, as we do (RFC 4303 §3.1.1)."""
    path, out, inb, ssa, pkt = _setup("gcm", "transport", False)
    ours = path.process_outbound(pkt, out, 0.0).packet
    theirs = bytes(ssa.encrypt(IPv6(pkt), seq_num=1, iv=(1).to_bytes(8, "big")))
    assert ours == theirs  # GCM IV = sequence number makes both byte-identical


def test_rfc4303_ipv4_transport_both_ways(algo):
    """IPv4 (e.g. a DSMIPv6 IPv4 home address flow): header rewritten, checksum valid for scapy."""
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw

    path, out, inb = path_pair(algo, src="192.0.2.10", dst="198.51.100.1")
    pkt = bytes(IP(src="192.0.2.10", dst="198.51.100.1") / UDP(sport=1, dport=2) / Raw(b"v4" * 20))
    ssa = SecurityAssociation(ESP, spi=0x1000, **SCAPY_ALGOS[algo])
    wire = path.process_outbound(pkt, out, 0.0).packet
    parsed = IP(wire)
    assert parsed.proto == 50 and parsed.len == len(wire)
    assert parsed.chksum == IP(raw_ip_with_zero_checksum(wire)).chksum
    assert bytes(ssa.decrypt(parsed)) == pkt
    theirs = bytes(ssa.encrypt(IP(pkt), seq_num=2))
    r = path.process_inbound(theirs, None, 0.0)
    assert isinstance(r, Accepted) and r.packet == pkt


def raw_ip_with_zero_checksum(wire: bytes) -> bytes:
    """The same IPv4 header with the checksum removed: scapy recomputes it on build."""
    from scapy.layers.inet import IP

    p = IP(wire)
    del p.chksum
    return bytes(p)


def test_rfc5555_4_1_bu_in_udp_4191_decrypted_outer_kept():
    """DSMIPv6: IPv4{CoA4->HA4} UDP{4191} IPv6{HoA->HA} ESP{BU}: the switch sends it whole;
    the result keeps the outer IPv4/UDP (NAT detection needs it) with fixed lengths."""
    from scapy.layers.inet import IP, UDP

    from .conftest import mh_bu

    path, _, inb = path_pair("gcm")
    ssa = SecurityAssociation(ESP, spi=0x1000, **SCAPY_ALGOS["gcm"])
    inner = IPv6(src=HOA, dst=HA, nh=135) / mh_bu()
    esp6 = ssa.encrypt(IPv6(bytes(inner)), seq_num=1)
    outer = IP(src="203.0.113.7", dst="198.51.100.1") / UDP(sport=40000, dport=4191)
    r = path.process_inbound(bytes(outer / esp6), None, 0.0)
    assert isinstance(r, Accepted), r
    got = IP(r.packet)
    assert (got.src, got[UDP].sport, got[UDP].dport) == ("203.0.113.7", 40000, 4191)
    assert got.len == len(r.packet) and got[UDP].len == len(r.packet) - 20
    del got.chksum
    assert IP(bytes(got)).chksum == IP(r.packet).chksum  # header checksum valid
    assert bytes(IP(r.packet)[UDP].payload) == bytes(inner)


def test_rfc5555_4_1_ba_to_a_nat_keeps_the_udp_4191_wrapper_outside_esp():
    """The home agent's BA to a NAT'd CoA: IPv4{HA4->NAT} UDP{4191->port} IPv6{HA->HoA} MH is
    handed over whole; ESP goes into the inner IPv6 packet (transport mode), the wrapper stays as
    it came with its lengths and checksum fixed, and scapy decrypts the inner packet."""
    from scapy.layers.inet import IP, UDP

    from .conftest import mh_bu

    path, out, _ = path_pair("gcm", src=HA, dst=HOA)
    ssa = SecurityAssociation(ESP, spi=0x1000, **SCAPY_ALGOS["gcm"])
    inner = bytes(IPv6(src=HA, dst=HOA, nh=135) / mh_bu())
    clear = bytes(IP(src="198.51.100.1", dst="203.0.113.7") / UDP(sport=4191, dport=40000, chksum=0) / inner)
    r = path.process_outbound(clear, out, 0.0)
    assert isinstance(r, Protected), r
    got = IP(r.packet)
    assert (got.src, got.dst, got[UDP].sport, got[UDP].dport) == ("198.51.100.1", "203.0.113.7", 4191, 40000)
    assert got.len == len(r.packet) and got[UDP].len == len(r.packet) - 20
    del got.chksum
    assert IP(bytes(got)).chksum == IP(r.packet).chksum
    esp6 = IPv6(bytes(IP(r.packet)[UDP].payload))
    assert esp6.nh == 50 and esp6[ESP].spi == 0x1000
    assert bytes(ssa.decrypt(esp6)) == inner
