"""Known-answer tests from published vectors (spec digest §10).

GCM: draft-mcgrew-gcm-test-01 (RFC 4106 ESP, with and without ESN); CBC:
RFC 3602 §4 case #5; HMAC-SHA-256-128: RFC 4868 §2.7.2.1. The expected bytes
are the published ones, not computed by the code under test.
"""
from __future__ import annotations

import pytest

from p4mobility.ipsec import AEAD_GCM, AUTH_SHA256, ENC_CBC, Algo, Sa, esp
from p4mobility.ipsec.transforms import AesGcm, _HmacSha256_128

GCM_A = dict(
    keymat="feffe9928665731c6d6a8f9467308308" "cafebabe", spi=0xA5F8, seq=0x0A, iv="facedbaddecaf888",
    pt="4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
       "0001000000000000037369700963796265726369747902646b00000100010001",
    ct="deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
       "3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1",
    icv="83b70d3aa8bc6ee4c309e9d85a41ad4a", esn=False)
GCM_B = dict(
    keymat="4c80cdefbb5d10da906ac73c3613a634" "2e443b68", spi=0x4321, seq=0x8765432100000000,
    iv="4956ed7e3b244cfe",
    pt="45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
       "00000000045f736970045f756470037369700963796265726369747902646b00" "0021000101020201",
    ct="fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
       "cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce" "61bc17d768fd9732",
    icv="459018148f6cbe722fd04796562dfdb4", esn=True)


def _split(pt: bytes) -> tuple[bytes, int]:
    padlen = pt[-2]
    return pt[:len(pt) - 2 - padlen], pt[-1]


@pytest.mark.parametrize("v", [GCM_A, GCM_B], ids=["gcm-32bit-sn", "gcm-esn"])
def test_rfc4106_gcm_vector_seal(v):
    payload, nh = _split(bytes.fromhex(v["pt"]))
    wire = esp.seal(AesGcm(bytes.fromhex(v["keymat"])), v["spi"], v["seq"], v["esn"],
                    bytes.fromhex(v["iv"]), payload, nh)
    expected = (v["spi"].to_bytes(4, "big") + (v["seq"] & 0xFFFFFFFF).to_bytes(4, "big")
                + bytes.fromhex(v["iv"] + v["ct"] + v["icv"]))
    assert wire == expected


@pytest.mark.parametrize("v", [GCM_A, GCM_B], ids=["gcm-32bit-sn", "gcm-esn"])
def test_rfc4106_gcm_vector_open_through_sa(v):
    """The published packet is accepted by an inbound SA, ESN high bits inferred (RFC 4303 App. A)."""
    wire = (v["spi"].to_bytes(4, "big") + (v["seq"] & 0xFFFFFFFF).to_bytes(4, "big")
            + bytes.fromhex(v["iv"] + v["ct"] + v["icv"]))
    sa = Sa(v["spi"], "192.168.1.2", "192.168.1.1", dir="in", mode="tunnel",
            aead=Algo(AEAD_GCM, bytes.fromhex(v["keymat"])), esn=v["esn"])
    if v["esn"]:  # receiver already at the top of the previous subspace
        sa.window.top = v["seq"] - 1
    payload, nh, seq = sa.open(wire, now=0.0)
    assert (payload, nh) == _split(bytes.fromhex(v["pt"]))
    assert seq == v["seq"]


def test_rfc3602_4_case5_cbc_transport():
    icmp = bytes.fromhex("08000ebda70a00008e9c083db95b0700") + bytes(range(0x08, 0x38))
    ct = bytes.fromhex("f663c25d325c18c6a9453e194e120849a4870b66cc6b9965330013b4898dc856"
                       "a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c538ab50c551b874a"
                       "a269add047ad2d5913ac19b7cfbad4a6")
    iv = bytes.fromhex("e96e8c08ab465763fd098d45dd3ff893")
    sa = Sa(0x4321, "192.168.123.100", "192.168.123.3", dir="out",
            enc=Algo(ENC_CBC, bytes.fromhex("90d382b410eeba7ad938c46cec1a82bf")),
            auth=Algo(AUTH_SHA256, bytes(32)))
    wire = sa.seal(icmp, 1, now=0.0, iv=iv)
    assert wire[:8] == bytes.fromhex("0000432100000001")
    assert wire[8:8 + 16 + len(ct)] == iv + ct
    assert len(wire) == 8 + 16 + len(ct) + 16


@pytest.mark.parametrize("key,data,mac", [
    (bytes([0x0B] * 32), b"Hi There", "198a607eb44bfbc69903a0f1cf2bbdc5"),
    (b"Jefe" * 8, b"what do ya want for nothing?", "167f928588c5cc2eef8e3093caa0e87c"),
    (bytes([0xAA] * 32), bytes([0xDD] * 50), "cdcb1220d1ecccea91e53aba3092f962"),
    (bytes(range(1, 33)), bytes([0xCD] * 50), "372efcf9b40b35c2115b1346903d2ef4"),
], ids=["AUTH256-1", "AUTH256-2", "AUTH256-3", "AUTH256-4"])
def test_rfc4868_2_7_2_1_hmac_sha256_128(key, data, mac):
    assert _HmacSha256_128(key).mac(data) == bytes.fromhex(mac)
