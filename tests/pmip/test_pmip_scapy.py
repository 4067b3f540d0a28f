"""scapy as an independent oracle for what the cores put on the wire: the
demo's PBUs (RFC 5213 §6.9.1.5) and PBAs (§5.3.6), encoded by our codec and
parsed by scapy's MIPv6 layers (unknown PMIPv6 options read as raw TLVs)."""
from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest

pytest.importorskip("scapy")
from p4mobility.mh import BindingUpdate, encode_mh  # noqa: E402
from p4mobility.pmip.demo import EPOCH, LMAA, MAG1, MN, build  # noqa: E402
from scapy.layers.inet6 import MIP6MH_BA, MIP6MH_BU, IPv6, MIP6OptMNID  # noqa: E402
from scapy.packet import Raw  # noqa: E402

LL = b"\x02\x00\x00\x00\x00\x01"


def on_wire(msg, src, dst):
    wire = encode_mh(msg, src, dst)
    pkt = IPv6(bytes(IPv6(src=str(src), dst=str(dst), nh=135) / Raw(wire)))
    layer = pkt[MIP6MH_BU] if isinstance(msg, BindingUpdate) else pkt[MIP6MH_BA]
    redone = pkt.copy()
    del redone[MIP6MH_BU if isinstance(msg, BindingUpdate) else MIP6MH_BA].cksum
    again = IPv6(bytes(redone))
    return layer, (again[MIP6MH_BU] if isinstance(msg, BindingUpdate) else again[MIP6MH_BA]).cksum


def tlvs(layer):
    out = {}
    for opt in layer.options:
        if isinstance(opt, MIP6OptMNID):
            out[8] = opt.id
        elif hasattr(opt, "odata"):
            out.setdefault(opt.otype, bytes(opt.odata))
    return out


@pytest.fixture(scope="module")
def exchange():
    sim = build()
    sim.attach("MAG1", MN, port=1, att=4, mn_ll_id=LL)
    (bu_rec,) = [r for r in sim.timeline if r.kind == "PBU"]
    (ba_rec,) = [r for r in sim.timeline if r.kind == "PBA"]
    return sim, bu_rec, ba_rec


def test_rfc5213_6_9_1_5_pbu_as_scapy_sees_it(exchange):
    sim, bu_rec, _ = exchange
    bu, cksum = on_wire(bu_rec.obj, MAG1, LMAA)
    assert bu.cksum == cksum  # scapy computes the same checksum over the same pseudo-header
    assert "A" in bu.flags and "P" in bu.flags and "H" not in bu.flags
    assert bu.mhtime == 40 // 4
    opts = tlvs(bu)
    assert opts[8] == MN
    assert opts[22] == bytes(18)  # HNP ALL_ZERO: Reserved, Prefix Length 0, ::
    assert opts[23] == b"\x00\x01" and opts[24] == b"\x00\x04"  # HI=1 new attachment, ATT=802.11
    assert opts[25] == b"\x00\x00" + LL
    assert IPv6Address(opts[26]).is_link_local
    (raw,) = struct.unpack("!Q", opts[27])
    assert raw >> 16 == int(EPOCH + bu_rec.t)  # 48-bit seconds since 1970 (not NTP)


def test_rfc5213_5_3_6_pba_as_scapy_sees_it(exchange):
    sim, bu_rec, ba_rec = exchange
    ba, cksum = on_wire(ba_rec.obj, LMAA, MAG1)
    bu, _ = on_wire(bu_rec.obj, MAG1, LMAA)
    assert ba.cksum == cksum
    assert ba.status == 0 and "P" in ba.flags and ba.seq == bu.seq and ba.mhtime == bu.mhtime
    b, a = tlvs(bu), tlvs(ba)
    assert a[8] == MN and a[23] == b[23] and a[24] == b[24] and a[25] == b[25] and a[27] == b[27]
    assert a[26] == b[26]  # link-local offered by the MAG, stored and echoed
    pool = sim.lma.policy.pools["home"].pool.network
    assert a[22][1] == 64 and IPv6Address(a[22][2:]) == pool.network_address  # the pool's first /64
