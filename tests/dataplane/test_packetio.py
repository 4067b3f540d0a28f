"""Packet I/O with the controller: packet_out direct or through the pipeline,
punt rules, and what is addressed to the node without being signaling."""

from __future__ import annotations

from scapy.layers.inet import UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .lib import SWITCH_MAC
from .p4consts import CRYPTO_PORT, DropReason, PuntReason
from .packets import CN, CN_PREFIX, LMA, MN, CryptoMeta, eth_in, eth_out

PAYLOAD = Raw(b"from the controller")


def test_packet_out_direct_leaves_unchanged(dp):
    frame = Ether(src=SWITCH_MAC, dst="02:00:00:00:00:77") / IPv6(src=LMA, dst=CN, hlim=5) / PAYLOAD
    dp.packet_out(frame, egress_port=3)
    dp.verify_packet(frame, 3)
    dp.verify_no_other_packets()


def test_packet_out_through_pipeline_is_routed_without_hop_decrement(dp):
    """Node-originated packets are routed but keep their hop limit."""
    dp.add_route(CN_PREFIX, 1)
    dp.packet_out(eth_in() / IPv6(src=LMA, dst=CN, hlim=64) / PAYLOAD, through_pipeline=True)
    dp.verify_packet(eth_out(1) / IPv6(src=LMA, dst=CN, hlim=64) / PAYLOAD, 1)
    dp.verify_no_other_packets()


def test_punt_rule_sends_echo_to_controller_with_ingress_port(dp):
    dp.add_local_address(LMA)
    dp.add_punt_rule(ip_proto=58, icmp_type=128)
    frame = eth_in() / IPv6(src=CN, dst=LMA) / ICMPv6EchoRequest(id=1, seq=2)
    dp.send(2, frame)
    pin = dp.verify_packet_in()
    assert pin.payload == bytes(frame)
    assert pin["ingress_port"] == 2
    assert pin["punt_reason"] == PuntReason.PUNT_RULE
    assert pin["spi"] == 0 and pin["outer_ipv4_src"] == 0 and pin["udp_src_port"] == 0
    dp.verify_no_other_packets()


def test_local_non_signaling_dropped_not_punted(dp):
    """Nothing goes to the controller unless a table says so."""
    dp.add_local_address(LMA)
    dp.add_route("::/0", 1)
    before = dp.drops(DropReason.LOCAL_UNHANDLED)
    dp.send(2, eth_in() / IPv6(src=CN, dst=LMA) / UDP(sport=9, dport=9) / PAYLOAD)
    assert dp.wait_drop(DropReason.LOCAL_UNHANDLED, before) == before + 1
    dp.verify_no_packet_in()
    dp.verify_no_other_packets()


def test_crypto_header_from_a_data_port_dropped(dp):
    """Only the crypto port may speak the crypto header (no spoofed results)."""
    dp.add_route("::/0", 1)
    before = dp.drops(DropReason.BAD_CRYPTO_META)
    dp.send(2, eth_in() / CryptoMeta(sa_index=1, direction=4, port=2)
            / IPv6(src=LMA, dst=MN) / PAYLOAD)
    assert dp.wait_drop(DropReason.BAD_CRYPTO_META, before) == before + 1
    dp.verify_no_other_packets()


def test_crypto_port_frame_without_result_direction_dropped(dp):
    dp.add_route("::/0", 1)
    before = dp.drops(DropReason.BAD_CRYPTO_META)
    dp.send(CRYPTO_PORT, eth_in() / CryptoMeta(sa_index=1, direction=1, port=2)
            / IPv6(src=LMA, dst=MN) / PAYLOAD)
    assert dp.wait_drop(DropReason.BAD_CRYPTO_META, before) == before + 1
    dp.verify_no_other_packets()
