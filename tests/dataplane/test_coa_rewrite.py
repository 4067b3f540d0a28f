"""draft-laganier-mext-dsmipv6-ipsec requirement 1: a packet returning from the
crypto path, already ESP tunnel-mode protected and addressed to the home
address, leaves towards the binding's current care-of address; the SA is
never touched, a handover is one write."""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP

from .p4consts import CRYPTO_PORT, CryptoDirection
from .packets import (
    COA1, COA1_PREFIX, COA2, COA2_PREFIX, COA_V4, COA_V4_PREFIX, DSMIPV6_PORT, HNP, LMA,
    LMA_V4, MN, NAT_PORT, CryptoMeta, eth_in, eth_out,
)

BINDING = 31
ESP_BODY = ESP(spi=0x4000, seq=77, data=b"\x5a" * 80)


def encrypted_result(dst: str = MN):
    return (eth_in() / CryptoMeta(sa_index=3, direction=CryptoDirection.ENCRYPTED, port=1)
            / IPv6(src=LMA, dst=dst, hlim=64) / ESP_BODY)


def test_draft_laganier_req1_outer_destination_follows_the_binding(dp):
    dp.add_route(COA1_PREFIX, 2)
    dp.add_route(COA2_PREFIX, 3)
    dp.add_binding(HNP, BINDING, LMA, COA1)
    dp.send(CRYPTO_PORT, encrypted_result())
    dp.verify_packet(eth_out(2) / IPv6(src=LMA, dst=COA1, hlim=64) / ESP_BODY, 2)
    dp.move_binding(BINDING, LMA, COA2)  # new binding: next packet to the new CoA
    dp.send(CRYPTO_PORT, encrypted_result())
    dp.verify_packet(eth_out(3) / IPv6(src=LMA, dst=COA2, hlim=64) / ESP_BODY, 3)
    dp.verify_no_other_packets()


def test_draft_laganier_req1_ipv4_care_of_address_behind_nat_is_udp_encapsulated(dp):
    dp.add_route(COA_V4_PREFIX, 2)
    dp.add_binding(HNP, BINDING, LMA_V4, COA_V4, udp=(DSMIPV6_PORT, NAT_PORT))
    dp.send(CRYPTO_PORT, encrypted_result())
    dp.verify_packet(eth_out(2) / IP(src=LMA_V4, dst=COA_V4, ttl=64, id=0, flags="DF")
                     / UDP(sport=DSMIPV6_PORT, dport=NAT_PORT, chksum=0)
                     / IPv6(src=LMA, dst=MN, hlim=64) / ESP_BODY, 2)
    dp.verify_no_other_packets()


def test_plain_packet_to_home_address_is_encapsulated_not_rewritten(dp):
    """Only ESP handed back by the crypto path is rewritten."""
    dp.add_route(COA1_PREFIX, 2)
    dp.add_binding(HNP, BINDING, LMA, COA1)
    dp.send(1, eth_in() / IPv6(src=LMA, dst=MN, hlim=64) / ESP_BODY)
    dp.verify_packet(eth_out(2) / IPv6(src=LMA, dst=COA1, hlim=64)
                     / IPv6(src=LMA, dst=MN, hlim=63) / ESP_BODY, 2)
    dp.verify_no_other_packets()


def test_rfc5648_encrypted_flows_spread_over_the_coas_by_the_flow_they_had_before_esp(dp):
    """All tunnel-mode ESP of one SA looks alike (HA -> HoA, ESP, no ports); the flow byte the
    switch put in the crypto header before encryption, echoed back, places each flow on one of
    the binding's CoAs, always the same one, and the destination is rewritten to it (req. 1)."""
    dp.add_route(COA1_PREFIX, 2)
    dp.add_route(COA2_PREFIX, 3)
    dp.add_tunnel_peer(1, LMA, COA1)
    dp.add_tunnel_peer(2, LMA, COA2)
    dp.add_multi_coa_binding(HNP, BINDING, [1, 2], coas=(COA1, COA2))
    seen: dict[int, int] = {}
    for rnd in range(2):
        for flow in range(16):
            dp.send(CRYPTO_PORT, eth_in() / CryptoMeta(sa_index=3, direction=CryptoDirection.ENCRYPTED, port=1,
                                                       flow=flow) / IPv6(src=LMA, dst=MN, hlim=64) / ESP_BODY)
            choice = dp.verify_any_packet([(eth_out(2) / IPv6(src=LMA, dst=COA1, hlim=64) / ESP_BODY, 2),
                                           (eth_out(3) / IPv6(src=LMA, dst=COA2, hlim=64) / ESP_BODY, 3)])
            assert seen.setdefault(flow, choice) == choice, "a flow changed CoA"
    assert set(seen.values()) == {0, 1}, "16 flows all on one CoA"
    dp.verify_no_other_packets()
