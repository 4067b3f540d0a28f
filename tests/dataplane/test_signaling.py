"""Signaling punt: Mobility Header packets addressed to the node (native,
inside UDP 4191, or ESP-protected under a signaling SA) go to the controller
with what signaling needs before any decryption; nothing else does."""

from __future__ import annotations

from ipaddress import IPv4Address

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import HAO, IPv6, IPv6ExtHdrDestOpt, MIP6MH_BU
from scapy.layers.ipsec import ESP

from .p4consts import DropReason, PuntReason
from .packets import (
    COA1, COA_V4, DSMIPV6_PORT, LMA, LMA_V4, MAG, MN, NAT_PORT, eth_in, eth_out,
)


def test_rfc5213_5_3_pbu_to_lma_punted_with_ingress_port(dp):
    dp.add_local_address(LMA)
    frame = eth_in() / IPv6(src=MAG, dst=LMA) / MIP6MH_BU(seq=7, flags="AP")
    dp.send(2, frame)
    pin = dp.verify_packet_in()
    assert pin.payload == bytes(frame)
    assert pin["ingress_port"] == 2
    assert pin["punt_reason"] == PuntReason.MOBILITY_HEADER
    dp.verify_no_other_packets()


def test_rfc6275_9_5_1_bu_with_home_address_option_punted(dp):
    dp.add_local_address(LMA)
    frame = (eth_in() / IPv6(src=COA1, dst=LMA)
             / IPv6ExtHdrDestOpt(options=[HAO(hoa=MN)]) / MIP6MH_BU(seq=1, flags="AH"))
    dp.send(3, frame)
    pin = dp.verify_packet_in()
    assert pin.payload == bytes(frame)
    assert (pin["ingress_port"], pin["punt_reason"]) == (3, PuntReason.MOBILITY_HEADER)
    dp.verify_no_other_packets()


def test_rfc5555_mh_in_udp_4191_punted_with_outer_ipv4_source_and_port(dp):
    dp.add_local_address(LMA_V4)
    dp.add_local_address(LMA)
    frame = (eth_in() / IP(src=COA_V4, dst=LMA_V4) / UDP(sport=NAT_PORT, dport=DSMIPV6_PORT)
             / IPv6(src=MN, dst=LMA) / MIP6MH_BU(seq=2, flags="AH"))
    dp.send(2, frame)
    pin = dp.verify_packet_in()
    assert pin.payload == bytes(frame)
    assert pin["punt_reason"] == PuntReason.MOBILITY_HEADER_UDP
    assert pin["outer_ipv4_src"] == int(IPv4Address(COA_V4))
    assert pin["udp_src_port"] == NAT_PORT
    dp.verify_no_other_packets()


def test_rfc3776_esp_under_signaling_sa_punted_with_spi(dp):
    dp.add_local_address(LMA)
    dp.add_esp_sa(LMA, 0x1000)  # a signaling SA handled by the controller
    frame = (eth_in() / IPv6(src=COA1, dst=LMA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=MN)])
             / ESP(spi=0x1000, seq=1, data=b"\x00" * 48))
    dp.send(2, frame)
    pin = dp.verify_packet_in()
    assert pin.payload == bytes(frame)
    assert pin["punt_reason"] == PuntReason.ESP_SIGNALING
    assert pin["spi"] == 0x1000
    dp.verify_no_other_packets()


def test_draft_laganier_4_esp_bu_in_udp_punted_with_nat_address_before_decryption(dp):
    dp.add_local_address(LMA_V4)
    dp.add_local_address(LMA)
    dp.add_esp_sa(LMA, 0x2000)
    frame = (eth_in() / IP(src=COA_V4, dst=LMA_V4) / UDP(sport=NAT_PORT, dport=DSMIPV6_PORT)
             / IPv6(src=MN, dst=LMA) / ESP(spi=0x2000, seq=3, data=b"\x01" * 40))
    dp.send(2, frame)
    pin = dp.verify_packet_in()
    assert pin.payload == bytes(frame)
    assert pin["punt_reason"] == PuntReason.ESP_SIGNALING
    assert (pin["outer_ipv4_src"], pin["udp_src_port"], pin["spi"]) == (
        int(IPv4Address(COA_V4)), NAT_PORT, 0x2000)
    dp.verify_no_other_packets()


def test_mh_not_addressed_to_node_is_routed_not_punted(dp):
    dp.add_local_address(LMA)
    dp.add_route("2001:db8:ffff::/48", 1)
    other = "2001:db8:ffff::99"
    body = MIP6MH_BU(seq=9, flags="A")
    dp.send(2, eth_in() / IPv6(src=MAG, dst=other, hlim=10) / body)
    dp.verify_packet(eth_out(1) / IPv6(src=MAG, dst=other, hlim=9) / body, 1)
    dp.verify_no_packet_in()
    dp.verify_no_other_packets()


def test_rfc4303_3_4_2_unknown_spi_to_node_dropped_and_counted(dp):
    dp.add_local_address(LMA)
    dp.add_esp_sa(LMA, 0x1000)
    before = dp.drops(DropReason.UNKNOWN_SPI)
    dp.send(2, eth_in() / IPv6(src=COA1, dst=LMA) / ESP(spi=0x1001, seq=1, data=b"\0" * 32))
    assert dp.wait_drop(DropReason.UNKNOWN_SPI, before) == before + 1
    dp.verify_no_packet_in()
    dp.verify_no_other_packets()
