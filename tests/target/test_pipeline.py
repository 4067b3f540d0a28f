"""v1model semantics of the embedded target on tests/target/p4/features.p4.

Expected packets come from scapy (checksums recomputed by scapy), expected
arithmetic from plain Python on the P4 definitions; entries are encoded by
finsy from the P4Info.
"""

from __future__ import annotations

import finsy as fy
import pytest
from finsy.proto import p4r
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import checksum

from p4mob_switch.errors import PermissionDenied

from .tlib import Rig, require_features

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"


@pytest.fixture
def rig() -> Rig:
    require_features()
    return Rig()


def ipv4_pkt(dst="10.1.2.3", src="192.0.2.1", ttl=64, tos=0, dport=5000, payload=b"x" * 20) -> Ether:
    return Ether(dst=M1, src=M2) / IP(src=src, dst=dst, ttl=ttl, tos=tos) / UDP(sport=1234, dport=dport) / payload


def fixed(p) -> bytes:
    """scapy's own rendering with recomputed IPv4/UDP checksums."""
    p = p.copy()
    if IP in p:
        del p[IP].chksum
    if UDP in p:
        del p[UDP].chksum
    return bytes(p)


def fwd_entry(prefix: str, port: int, dmac: str = "02:00:00:00:00:99") -> fy.P4TableEntry:
    return fy.P4TableEntry("ipv4_lpm", match=fy.P4TableMatch(dst=prefix),
                           action=fy.P4TableAction("ipv4_forward", port=port, dmac=dmac))


def test_l2_exact_hit_forwards_unchanged_and_counts_direct(rig: Rig) -> None:
    rig.write(+fy.P4TableEntry("l2", match=fy.P4TableMatch(dst=M1),
                               action=fy.P4TableAction("set_port_counted", port=2)))
    frame = bytes(Ether(dst=M1, src=M2, type=0x1234) / Raw(b"hello world!" * 4))
    out = rig.send(1, frame)
    assert out == {2: [frame]}
    [e] = rig.read(fy.P4TableEntry("l2", counter_data=fy.P4CounterData()))
    assert (e.counter_data.packet_count, e.counter_data.byte_count) == (1, len(frame))


def test_ipv4_lpm_longest_prefix_wins_ttl_and_checksums(rig: Rig) -> None:
    rig.write(+fwd_entry("10.0.0.0/8", 2), +fwd_entry("10.1.2.0/24", 3, "02:00:00:00:00:33"))
    pkt = ipv4_pkt()
    out = rig.send(1, bytes(pkt))
    assert list(out) == [3]
    exp = pkt.copy()
    exp[Ether].src, exp[Ether].dst = M1, "02:00:00:00:00:33"
    exp[IP].ttl = 63
    assert out[3][0] == fixed(exp)


def test_ipv4_ttl_zero_wraps_to_255(rig: Rig) -> None:
    rig.write(+fwd_entry("10.0.0.0/8", 2))
    out = rig.send(1, bytes(ipv4_pkt(ttl=0)))
    assert Ether(out[2][0])[IP].ttl == 255
    assert out[2][0] == fixed(Ether(out[2][0]))


def test_ipv4_bad_checksum_is_dropped_and_counted(rig: Rig) -> None:
    rig.write(+fwd_entry("10.0.0.0/8", 2))
    pkt = Ether(bytes(ipv4_pkt()))
    pkt[IP].chksum ^= 0xFFFF
    assert rig.send(1, bytes(pkt)) == {}
    assert rig.stats.checksum_errors == 1


def test_lpm_miss_runs_const_default_drop(rig: Rig) -> None:
    rig.write(+fwd_entry("10.0.0.0/8", 2))
    assert rig.send(1, bytes(ipv4_pkt(dst="11.0.0.1"))) == {}
    assert rig.stats.dropped == 1


def test_acl_ternary_range_optional_priorities(rig: Rig) -> None:
    rig.write(+fwd_entry("10.0.0.0/8", 2))
    rig.write(
        +fy.P4TableEntry("acl", match=fy.P4TableMatch(src=("192.0.2.0", "255.255.255.0"), dport=(1000, 2000)),
                         action=fy.P4TableAction("drop"), priority=10),
        +fy.P4TableEntry("acl", match=fy.P4TableMatch(src=("192.0.2.7", "255.255.255.255"), proto=17),
                         action=fy.P4TableAction("to_cpu"), priority=20),
    )
    assert list(rig.send(1, bytes(ipv4_pkt(src="192.0.2.1", dport=1500)))) == []        # drop (range in)
    assert list(rig.send(1, bytes(ipv4_pkt(src="192.0.2.1", dport=2001)))) == [2]       # range out
    assert rig.send(1, bytes(ipv4_pkt(src="192.0.2.7", dport=1500))) == {}              # prio 20 -> cpu
    assert len(rig.packet_ins) == 1
    payload, meta = rig.packet_ins[0]
    assert meta[0][1] == 1  # packet_in.ingress_port
    assert Ether(payload)[IP].src == "192.0.2.7"


def test_const_entries_and_const_default_are_enforced(rig: Rig) -> None:
    rig.write(+fwd_entry("10.0.0.0/8", 2))
    out = rig.send(1, bytes(ipv4_pkt(tos=0x2E)))  # const entry 0x2e -> class 46 -> diffserv 0
    assert Ether(out[2][0])[IP].tos == 0
    out = rig.send(1, bytes(ipv4_pkt(tos=0x0A)))
    assert Ether(out[2][0])[IP].tos == 0x0A
    entries = rig.read(fy.P4TableEntry("tos_map"))
    assert {e.match["diffserv"] for e in entries} == {0x2E, 0x0A} and all(e.is_const for e in entries)
    with pytest.raises(PermissionDenied):
        rig.write(+fy.P4TableEntry("tos_map", match=fy.P4TableMatch(diffserv=1),
                                   action=fy.P4TableAction("set_tos_class", cls=1)))
    with pytest.raises(PermissionDenied):
        rig.write(~fy.P4TableEntry("tos_map", action=fy.P4TableAction("set_tos_class", cls=1),
                                   is_default_action=True))


@pytest.mark.parametrize("tpid", [0x8100, 0x9100])
def test_vlan_stack_masked_select_and_deparse(rig: Rig, tpid: int) -> None:
    rig.write(+fwd_entry("10.0.0.0/8", 2))
    pkt = Ether(dst=M1, src=M2, type=tpid) / Dot1Q(vlan=10, type=0x8100) / Dot1Q(vlan=20) / \
        IP(src="192.0.2.1", dst="10.9.9.9", ttl=9) / UDP(sport=1, dport=2) / (b"v" * 8)
    out = rig.send(1, bytes(pkt))
    exp = pkt.copy()
    exp[IP].ttl = 8
    exp[Ether].src, exp[Ether].dst = M1, "02:00:00:00:00:99"
    assert out == {2: [fixed(exp)]}


def test_parser_verify_error_goes_to_cpu_with_ingress_port(rig: Rig) -> None:
    pkt = Ether(dst=M1, src=M2) / IP(src="192.0.2.1", dst="10.0.0.1", options=[b"\x01\x01\x01\x01"]) / b"z"
    assert rig.send(3, bytes(pkt)) == {}
    assert rig.stats.parser_errors == 1
    payload, meta = rig.packet_ins[0]
    assert meta[0][1] == 3
    # parsing stopped after ipv4 (valid): re-emitted unchanged except the header
    # checksum, which update_checksum recomputes over the 20 option-less bytes
    raw = bytearray(bytes(pkt))
    raw[24:26] = b"\x00\x00"
    raw[24:26] = checksum(bytes(raw[14:34])).to_bytes(2, "big")
    assert payload == bytes(raw)


def test_truncated_frame_takes_parser_error_path(rig: Rig) -> None:
    frame = bytes(ipv4_pkt())[:20]  # ethernet + 6 bytes of IPv4
    assert rig.send(1, frame) == {}
    assert rig.stats.parser_errors == 1 and rig.stats.faults == 0
    assert rig.packet_ins[0][0] == frame


def test_packet_out_is_sent_to_requested_port(rig: Rig) -> None:
    frame = bytes(ipv4_pkt())
    po = fy.P4PacketOut(frame, egress_port=4, _pad=0)
    rig.device.packet_out(po.encode_update(rig.schema).packet)
    assert rig.ports[4].take() == [frame]


def test_egress_mark_to_drop(rig: Rig) -> None:
    rig.write(+fwd_entry("10.0.0.0/8", 2),
              +fy.P4TableEntry("egress_filter", match=fy.P4TableMatch(port=2), action=fy.P4TableAction("drop")))
    assert rig.send(1, bytes(ipv4_pkt())) == {}


def test_indexed_counter_counts_per_ingress_port(rig: Rig) -> None:
    frame = bytes(Ether(dst=M1, src=M2, type=0x1234) / Raw(b"q" * 50))
    rig.send(1, frame)
    rig.send(1, frame)
    rig.send(2, frame)
    [c1] = rig.read(fy.P4CounterEntry("port_rx", index=1))
    [c2] = rig.read(fy.P4CounterEntry("port_rx", index=2))
    assert (c1.data.packet_count, c1.data.byte_count) == (2, 2 * len(frame))
    assert c2.data.packet_count == 1


def test_v6_encap_adds_outer_header(rig: Rig) -> None:
    inner = IPv6(src="2001:db8::1", dst="2001:db8:1::5", hlim=7) / UDP(sport=9, dport=10) / b"payload!"
    rig.write(+fy.P4TableEntry("v6_tunnel", match=fy.P4TableMatch(dst="2001:db8:1::5", inner=0),
                               action=fy.P4TableAction("encap_v6", src="2001:db8:ff::1", dst="2001:db8:ff::2",
                                                       port=3)))
    pkt = Ether(dst=M1, src=M2) / inner
    out = rig.send(1, bytes(pkt))
    exp = Ether(dst=M1, src=M2) / IPv6(src="2001:db8:ff::1", dst="2001:db8:ff::2", nh=41, hlim=64,
                                       plen=len(inner)) / inner
    assert out == {3: [bytes(exp)]}


def test_v6_decap_removes_outer_header(rig: Rig) -> None:
    inner = IPv6(src="2001:db8::1", dst="2001:db8:1::5") / UDP(sport=9, dport=10) / b"payload!"
    outer = Ether(dst=M1, src=M2) / IPv6(src="2001:db8:ff::2", dst="2001:db8:ff::1", nh=41) / inner
    rig.write(+fy.P4TableEntry("v6_tunnel", match=fy.P4TableMatch(dst="2001:db8:ff::1", inner=1),
                               action=fy.P4TableAction("decap_v6", port=2)))
    out = rig.send(1, bytes(outer))
    assert out == {2: [bytes(Ether(dst=M1, src=M2) / inner)]}


def _crc16_arc_bitwise(data: bytes) -> int:
    crc = 0
    for byte in data:
        for i in range(8):
            bit = (byte >> i) & 1
            mix = (crc ^ bit) & 1
            crc >>= 1
            if mix:
                crc ^= 0xA001
    return crc


def test_action_selector_picks_member_by_crc16_of_selector_fields(rig: Rig) -> None:
    for mid, port in ((1, 2), (2, 3), (3, 4)):
        rig.write(+fy.P4ActionProfileMember("ecmp_selector", member_id=mid, action=fy.P4TableAction("set_port", port=port)))
    rig.write(+fy.P4ActionProfileGroup("ecmp_selector", group_id=7, members=[fy.P4Member(1, weight=1), fy.P4Member(2, weight=1),
                                                                         fy.P4Member(3, weight=1)]))
    rig.write(+fy.P4TableEntry("ecmp", match=fy.P4TableMatch(dst="2001:db8:2::1"),
                               action=fy.P4IndirectAction(group_id=7)))
    seen = set()
    for sport in range(20):
        src = f"2001:db8::{sport + 1:x}"
        pkt = Ether(dst=M1, src=M2) / IPv6(src=src, dst="2001:db8:2::1") / UDP(sport=sport, dport=1) / b"e"
        out = rig.send(1, bytes(pkt))
        key = bytes(IPv6(src=src))[8:24] + sport.to_bytes(2, "big")
        expected_port = (2, 3, 4)[_crc16_arc_bitwise(key) % 3]
        assert list(out) == [expected_port]
        seen.add(expected_port)
    assert len(seen) > 1


def probe_frame(a: int, b: int, c: int) -> bytes:
    body = bytes([0xB5]) + a.to_bytes(4, "big") + b.to_bytes(2, "big") + bytes([c]) + bytes(52)
    return bytes(Ether(dst=M1, src=M2, type=0x88B5)) + body


def probe_fields(frame: bytes) -> dict[str, int]:
    names = [("marker", 8), ("a", 32), ("b", 16), ("c", 8), ("add", 32), ("sub", 32), ("mul", 32),
             ("shl", 32), ("shr", 32), ("cat_hi", 16), ("slice", 16), ("cast", 8), ("tern", 32),
             ("bits", 32), ("cmp", 8), ("crc16", 16), ("crc32", 32), ("ident", 32), ("csum", 16),
             ("reg_old", 32), ("sat", 8), ("neg", 8)]
    v = int.from_bytes(frame[14:14 + 60], "big")
    out, shift = {}, 60 * 8
    for n, w in names:
        shift -= w
        out[n] = (v >> shift) & ((1 << w) - 1)
    return out


@settings(max_examples=150, deadline=None)
@given(a=st.integers(0, 2**32 - 1), b=st.integers(0, 2**16 - 1), c=st.integers(0, 255))
def test_probe_expressions_match_p4_semantics(a: int, b: int, c: int) -> None:
    import binascii
    import zlib

    from scapy.utils import checksum
    require_features()
    rig = Rig()
    out = rig.send(1, probe_frame(a, b, c))
    f = probe_fields(out[1][0])
    m32 = 0xFFFFFFFF
    assert f["add"] == (a + b) & m32
    assert f["sub"] == (b - a) & m32
    assert f["mul"] == (a * 3) & m32
    assert f["shl"] == (a << (c & 31)) & m32
    assert f["shr"] == a >> 3
    assert f["cat_hi"] == ((a << 16 | b) >> 32) & 0xFFFF
    assert f["slice"] == (a >> 8) & 0xFFFF
    assert f["cast"] == a & 0xFF
    assert f["tern"] == (a if c > 100 else b)
    assert f["bits"] == (a & 0xFF00FF00) | ((~a & 0xFF) ^ b)
    assert f["cmp"] == (1 if a == b else 0) | (2 if a > b else 0) | (4 if b != 0 else 0)
    data = a.to_bytes(4, "big") + b.to_bytes(2, "big")
    assert f["crc16"] == _crc16_arc_bitwise(data)
    assert f["crc32"] == zlib.crc32(data + bytes([c])) == binascii.crc32(data + bytes([c]))
    assert f["ident"] == a  # identity of { a }
    assert f["csum"] == checksum(data)
    assert f["reg_old"] == 0
    assert f["sat"] == min(255, c + 200)
    assert f["neg"] == (-c) & 0xFF


def test_register_keeps_state_between_packets(rig: Rig) -> None:
    olds = [probe_fields(rig.send(1, probe_frame(1, 2, 5))[1][0])["reg_old"] for _ in range(3)]
    assert olds == [0, 1, 2]
    assert probe_fields(rig.send(1, probe_frame(1, 2, 6))[1][0])["reg_old"] == 0


@settings(max_examples=200, deadline=None)
@given(frame=st.binary(min_size=0, max_size=200), port=st.integers(1, 4))
def test_hostile_frames_never_raise(frame: bytes, port: int) -> None:
    require_features()
    rig = Rig()
    rig.send(port, frame)
    assert rig.stats.faults == 0 and rig.stats.rx == 1


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(0, 70))
def test_every_truncation_of_a_udp_packet_is_handled(cut: int) -> None:
    require_features()
    rig = Rig()
    rig.write(+fwd_entry("10.0.0.0/8", 2))
    frame = bytes(ipv4_pkt())
    rig.send(1, frame[:cut])
    assert rig.stats.faults == 0
    if cut < 14 + 20 + 8:
        assert rig.stats.parser_errors == 1


def test_read_default_entry_and_modify_reset(rig: Rig) -> None:
    [d] = rig.read(fy.P4TableEntry("ipv4_lpm", is_default_action=True))
    assert d.action.name.endswith("drop")
    rig.write(~fy.P4TableEntry("ipv4_lpm", action=fy.P4TableAction("ipv4_forward", port=4, dmac=1),
                               is_default_action=True))
    out = rig.send(1, bytes(ipv4_pkt(dst="99.0.0.1")))
    assert list(out) == [4]
    upd = rig.update(~fy.P4TableEntry("ipv4_lpm", is_default_action=True))
    upd.entity.table_entry.ClearField("action")
    rig.device.write(upd)
    assert rig.send(1, bytes(ipv4_pkt(dst="99.0.0.1"))) == {}
    assert isinstance(upd, p4r.Update)
