"""SPI classification, the crypto port, and the outbound SPD.

Inbound ESP to the node is looked up by (destination, SPI): to the crypto
port with the SA index, to the controller, or dropped and counted. Outbound
traffic the SPD protects goes to the crypto port the same way; what comes
back is forwarded normally and never classified again."""

from __future__ import annotations

from scapy.layers.inet6 import (
    HAO, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BU,
)
from scapy.layers.inet import IP, UDP
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .lib import HOST_MAC, SWITCH_MAC
from .p4consts import CPU_PORT, CRYPTO_PORT, CryptoDirection, DropReason, PuntReason
from .packets import (
    CN, CN_PREFIX, COA1, COA1_PREFIX, COA_V4, HNP, LMA, LMA_V4, MN, CryptoMeta, eth_in, eth_out, flow_byte,
)

ESP_BODY = ESP(spi=0x3000, seq=5, data=b"\xaa" * 64)


def test_rfc4303_3_4_2_esp_to_node_goes_to_crypto_port_with_sa_index(dp):
    dp.add_local_address(LMA)
    dp.add_esp_sa(LMA, 0x3000, sa_index=42)
    ip = IPv6(src=COA1, dst=LMA, hlim=64) / ESP_BODY
    dp.send(2, eth_in() / ip)
    dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                     / CryptoMeta(sa_index=42, direction=CryptoDirection.DECRYPT, port=2)
                     / ip, CRYPTO_PORT)
    dp.verify_no_other_packets()


def test_rfc3776_decrypted_bu_from_crypto_port_punted_with_sa_and_original_port(dp):
    dp.add_local_address(LMA)
    inner = IPv6(src=COA1, dst=LMA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=MN)]) / MIP6MH_BU(seq=3)
    dp.send(CRYPTO_PORT, eth_in() / CryptoMeta(sa_index=42, direction=CryptoDirection.DECRYPTED,
                                               port=2) / inner)
    pin = dp.verify_packet_in()
    assert pin.payload == bytes(eth_in() / inner)
    assert pin["punt_reason"] == PuntReason.MOBILITY_HEADER_DECRYPTED
    assert (pin["ingress_port"], pin["sa_index"]) == (2, 42)
    dp.verify_no_other_packets()


def test_rfc4303_decrypted_payload_from_crypto_port_forwarded_one_hop_less(dp):
    dp.add_route(CN_PREFIX, 1)
    body = Raw(b"tunnel-mode plaintext")
    dp.send(CRYPTO_PORT, eth_in() / CryptoMeta(sa_index=7, direction=CryptoDirection.DECRYPTED,
                                               port=2) / IPv6(src=MN, dst=CN, hlim=20) / body)
    dp.verify_packet(eth_out(1) / IPv6(src=MN, dst=CN, hlim=19) / body, 1)
    dp.verify_no_other_packets()


def test_rfc4301_spd_protect_host_wide_hoa_entry_to_crypto_port(dp):
    """draft-laganier req. 2: a host-wide entry on the home address catches payload."""
    dp.add_route(HNP, 2)
    dp.add_spd_entry(1, "to_crypto_port", sa_index=5, dst_addr=HNP)
    body = Raw(b"downlink payload")
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / body)
    dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                     / CryptoMeta(sa_index=5, direction=CryptoDirection.ENCRYPT, port=1)
                     / IPv6(src=CN, dst=MN, hlim=63) / body, CRYPTO_PORT)
    dp.verify_no_other_packets()


def test_rfc5648_an_encrypt_request_carries_the_flow_of_the_packet(dp):
    """crypto_meta.flow: the TCP/UDP ports folded into a byte (0 without ports), echoed by the
    crypto path so the encrypted result can be placed per flow (docs/dataplane.md)."""
    dp.add_route(HNP, 2)
    dp.add_spd_entry(1, "to_crypto_port", sa_index=5, dst_addr=HNP)
    for sport, dport in ((40001, 443), (40002, 443)):
        ip = IPv6(src=CN, dst=MN, hlim=64) / UDP(sport=sport, dport=dport) / Raw(b"flow")
        dp.send(1, eth_in() / ip)
        hop = IPv6(bytes(ip))
        hop.hlim = 63
        dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                         / CryptoMeta(sa_index=5, direction=CryptoDirection.ENCRYPT, port=1,
                                      flow=flow_byte(sport, dport)) / hop, CRYPTO_PORT)
    dp.verify_no_other_packets()


def test_rfc5213_4_2_mh_type_selector_and_rfc3776_hoa_from_type2_routing_header(dp):
    """A BA (MH type 6) the controller sends through the pipeline is protected by
    the entry naming the HoA carried in the Type 2 Routing Header; a BU (type 5)
    to the same address is not."""
    dp.add_route(COA1_PREFIX, 2)
    dp.add_spd_entry(20, "to_crypto_port", sa_index=9, src_addr=LMA, dst_addr=MN,
                     ip_proto=135, mh_type=6)
    ba = (eth_in() / IPv6(src=LMA, dst=COA1, hlim=64)
          / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[MN]) / MIP6MH_BA(seq=3))
    dp.packet_out(ba, through_pipeline=True)
    want = (Ether(dst=SWITCH_MAC, src=HOST_MAC)
            / CryptoMeta(sa_index=9, direction=CryptoDirection.ENCRYPT, port=CPU_PORT)
            / IPv6(bytes(ba)[14:]))
    dp.verify_packet(want, CRYPTO_PORT)
    bu = (eth_in() / IPv6(src=LMA, dst=COA1, hlim=64)
          / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[MN]) / MIP6MH_BU(seq=4))
    dp.packet_out(bu, through_pipeline=True)
    dp.verify_packet(eth_out(2) / IPv6(bytes(bu)[14:]), 2)
    dp.verify_no_other_packets()


def test_rfc4301_spd_discard_dropped_and_counted(dp):
    dp.add_route(HNP, 2)
    dp.add_spd_entry(5, "discard", dst_addr=MN, ip_proto=17)
    before = dp.drops(DropReason.SPD_DISCARD)
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN) / UDP(sport=1, dport=2) / Raw(b"xxxx"))
    assert dp.wait_drop(DropReason.SPD_DISCARD, before) == before + 1
    dp.verify_no_other_packets()


def test_rfc4301_spd_priority_bypass_before_protect(dp):
    dp.add_route(HNP, 2)
    dp.add_spd_entry(1, "to_crypto_port", sa_index=5, dst_addr=HNP)
    dp.add_spd_entry(50, "bypass", src_addr=CN, dst_addr=MN)
    body = Raw(b"bypassed")
    dp.send(1, eth_in() / IPv6(src=CN, dst=MN, hlim=64) / body)
    dp.verify_packet(eth_out(2) / IPv6(src=CN, dst=MN, hlim=63) / body, 2)
    dp.verify_no_other_packets()


def test_encrypted_result_is_not_classified_again(dp):
    """What the crypto path hands back is routed, not sent to it again."""
    dp.add_route(CN_PREFIX, 1)
    dp.add_spd_entry(1, "to_crypto_port", sa_index=5, dst_addr=CN)
    ip = IPv6(src=LMA, dst=CN, hlim=64) / ESP_BODY
    dp.send(CRYPTO_PORT, eth_in() / CryptoMeta(sa_index=5, direction=CryptoDirection.ENCRYPTED,
                                               port=1) / ip)
    dp.verify_packet(eth_out(1) / ip, 1)
    dp.verify_no_other_packets()


def test_rfc3776_spd_source_selector_is_the_hoa_of_a_home_address_option(dp):
    """A packet sent from the CoA with a Home Address option is selected by its HoA."""
    dp.add_route(CN_PREFIX, 1)
    dp.add_spd_entry(10, "to_crypto_port", sa_index=12, src_addr=MN)
    ip = (IPv6(src=COA1, dst=CN, hlim=64) / IPv6ExtHdrDestOpt(options=[HAO(hoa=MN)])
          / UDP(sport=7, dport=7) / Raw(b"hao"))
    dp.packet_out(eth_in() / ip, through_pipeline=True)
    dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                     / CryptoMeta(sa_index=12, direction=CryptoDirection.ENCRYPT, port=CPU_PORT)
                     / ip, CRYPTO_PORT)
    dp.verify_no_other_packets()


def test_rfc4303_esp_over_ipv4_classified_by_mapped_destination(dp):
    dp.add_local_address(LMA_V4)
    dp.add_esp_sa(LMA_V4, 0x5000, sa_index=8)
    ip = IP(src=COA_V4, dst=LMA_V4, ttl=64, id=3) / ESP(spi=0x5000, seq=1, data=b"\x11" * 32)
    dp.send(2, eth_in() / ip)
    dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                     / CryptoMeta(sa_index=8, direction=CryptoDirection.DECRYPT, port=2,
                                  type=0x0800) / ip, CRYPTO_PORT)
    dp.verify_no_other_packets()
