"""Shared builders for the IPsec tests: SA pairs and mobility packets.

Packets are built with scapy (IPv6, Home Address option, type 2 routing
header) around a Mobility Header from the project's codec ``p4mobility.mh``.
"""
from __future__ import annotations

import pytest
from scapy.layers.inet6 import HAO, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting
from scapy.packet import Raw

from p4mobility.ipsec import AEAD_GCM, AUTH_SHA256, ENC_CBC, ENC_NULL, Algo, CryptoPath, Sa, Sad
from p4mobility.mh import BindingAck, BindingUpdate, encode_mh

HOA = "2001:db8:1::100"
HA = "2001:db8:1::1"
COA = "2001:db8:2::5"

GCM_KEYMAT = bytes.fromhex("feffe9928665731c6d6a8f9467308308cafebabe")
CBC_KEY = bytes.fromhex("90d382b410eeba7ad938c46cec1a82bf")
AUTH_KEY = bytes(range(0x40, 0x60))

ALGOS = {
    "gcm": dict(aead=Algo(AEAD_GCM, GCM_KEYMAT)),
    "cbc": dict(enc=Algo(ENC_CBC, CBC_KEY), auth=Algo(AUTH_SHA256, AUTH_KEY)),
    "null": dict(enc=Algo(ENC_NULL), auth=Algo(AUTH_SHA256, AUTH_KEY)),
}


def mh_bu(seq: int = 7, src: str = HOA, dst: str = HA) -> bytes:
    return encode_mh(BindingUpdate(sequence=seq, lifetime=100, ack=True, home_registration=True), src, dst)


def mh_ba(seq: int = 7, src: str = HA, dst: str = HOA) -> bytes:
    return encode_mh(BindingAck(status=0, sequence=seq, lifetime=100), src, dst)


def bu_packet(seq: int = 7) -> bytes:
    """MN -> HA BU: IPv6{CoA->HA} DestOpt{HAO=HoA} MH BU (RFC 6275 §11.7.1)."""
    return bytes(IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(nh=135, options=[HAO(hoa=HOA)]) / Raw(mh_bu(seq)))


def ba_packet(seq: int = 7) -> bytes:
    """HA -> MN BA: IPv6{HA->CoA} RH2{HoA} MH BA (RFC 6275 §6.4)."""
    rh2 = IPv6ExtHdrRouting(nh=135, type=2, segleft=1, addresses=[HOA])
    return bytes(IPv6(src=HA, dst=COA) / rh2 / Raw(mh_ba(seq)))


def data_packet(n: int = 64) -> bytes:
    """Payload from the HoA, for tunnel mode."""
    from scapy.layers.inet6 import UDP
    return bytes(IPv6(src=HOA, dst="2001:db8:9::9") / UDP(sport=5000, dport=6000) / Raw(bytes(n)))


def sa_pair(algo: str = "gcm", src: str = HOA, dst: str = HA, spi: int = 0x1000, **kw) -> tuple[Sa, Sa]:
    """(outbound, inbound) SAs with the same keys, as the two ends would hold."""
    return (Sa(spi, src, dst, dir="out", reqid=1, **ALGOS[algo], **kw),
            Sa(spi, src, dst, dir="in", reqid=1, **ALGOS[algo], **kw))


def path_pair(algo: str = "gcm", **kw) -> tuple[CryptoPath, int, int]:
    """A crypto path holding both SAs of a pair -> (path, out index, in index)."""
    out, inb = sa_pair(algo, **kw)
    sad = Sad()
    return CryptoPath(sad), sad.add(out, 0.0), sad.add(inb, 0.0)


@pytest.fixture(params=sorted(ALGOS))
def algo(request) -> str:
    return request.param
