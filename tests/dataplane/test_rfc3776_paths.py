"""RFC 3776 §5.2 beyond BU/BA, in the switch: prefix discovery and tunnelled return
routability signalling, and ESP from an IPv4 care-of address without a NAT.

- §5.2.3: a Mobile Prefix Solicitation (ICMPv6 146) reaches the controller only as
  the crypto path decrypted it (punt reason PREFIX_SOLICITATION_DECRYPTED, with the
  SA and, inside UDP 4191, the outer IPv4 source and port); a clear one is dropped.
  The advertisement (147) the controller sends is selected by its ICMP type in the
  SPD (RFC 4301 §4.4.1.1), the home address taken from the Type 2 Routing Header or
  the inner IPv6 packet of the DSMIPv6 wrapper.
- §5.2.2: a tunnelled HoTI's SA names the home address; the switch passes it to the
  crypto path only from a care-of address of that home address's binding (any of
  them with RFC 5648; the Monami6 slides), and drops it otherwise.
- RFC 5555 §4.1 without a NAT: ESP in IPv6-in-IPv4 to the HA's IPv6 address is
  terminated (the outer source checked as for any tunnel) and then decrypted.
Expected frames are built with scapy from the RFC layouts."""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (HAO, ICMPv6EchoRequest, ICMPv6MPAdv, ICMPv6MPSol, ICMPv6NDOptPrefixInfo,
                                IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, MIP6MH_HoTI)
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from .lib import HOST_MAC, SWITCH_MAC
from .p4consts import CPU_PORT, CRYPTO_PORT, CryptoDirection, DropReason, EncapKind, PuntReason
from .packets import (CN, COA1, COA1_PREFIX, COA2, COA_V4, COA_V4_PREFIX, DSMIPV6_PORT, HNP, LMA, LMA_V4, MN,
                      NAT_PORT, CryptoMeta, eth_in, eth_out, flow_byte)

BU_SA, BA_SA, RR_SA, PAYLOAD_SA = 11, 12, 15, 16
RR_SPI = 0x6005
BINDING = 41


def mps(src: str = COA1) -> IPv6:
    """RFC 6275 §6.7: from the CoA with a Home Address option, after the crypto path."""
    return IPv6(src=src, dst=LMA, hlim=64) / IPv6ExtHdrDestOpt(options=[HAO(hoa=MN)]) / ICMPv6MPSol(id=0x1234)


def decrypted(ip, port: int = 2, ether_type: int = 0x86DD):
    return eth_in() / CryptoMeta(sa_index=BU_SA, direction=CryptoDirection.DECRYPTED, port=port,
                                 type=ether_type) / ip


def test_rfc3776_5_2_3_a_decrypted_prefix_solicitation_is_punted_with_its_sa(dp):
    dp.add_local_address(LMA)
    ip = mps()
    dp.send(CRYPTO_PORT, decrypted(ip))
    pin = dp.verify_packet_in()
    assert pin.payload == bytes(eth_in() / ip)
    assert pin["punt_reason"] == PuntReason.PREFIX_SOLICITATION_DECRYPTED
    assert (pin["ingress_port"], pin["sa_index"]) == (2, BU_SA)
    dp.verify_no_other_packets()


def test_rfc5555_4_1_a_decrypted_solicitation_inside_udp_is_punted_with_the_outer_source(dp):
    dp.add_local_address(LMA)
    dp.add_local_address(LMA_V4)
    ip = (IP(src=COA_V4, dst=LMA_V4, ttl=60) / UDP(sport=NAT_PORT, dport=DSMIPV6_PORT)
          / IPv6(src=MN, dst=LMA, hlim=64) / ICMPv6MPSol(id=7))
    dp.send(CRYPTO_PORT, decrypted(ip, ether_type=0x0800))
    pin = dp.verify_packet_in()
    assert pin["punt_reason"] == PuntReason.PREFIX_SOLICITATION_DECRYPTED
    assert (pin["outer_ipv4_src"], pin["udp_src_port"], pin["sa_index"]) == (
        int.from_bytes(bytes(map(int, COA_V4.split("."))), "big"), NAT_PORT, BU_SA)
    dp.verify_no_other_packets()


def test_rfc3776_4_1_a_clear_solicitation_or_other_decrypted_icmp_is_dropped_not_punted(dp):
    dp.add_local_address(LMA)
    before = dp.drops(DropReason.LOCAL_UNHANDLED)
    dp.send(2, eth_in() / mps())  # no ESP: never reaches the controller
    dp.send(CRYPTO_PORT, decrypted(IPv6(src=COA1, dst=LMA) / ICMPv6EchoRequest()))
    assert dp.wait_drop(DropReason.LOCAL_UNHANDLED, before + 1) == before + 2
    dp.verify_no_packet_in()
    dp.verify_no_other_packets()


def test_rfc4301_4_4_1_1_the_prefix_advertisement_is_selected_by_its_icmp_type(dp):
    """MPA: IPv6{HA -> CoA} RH2{HoA} ICMPv6 147 -> the BA SA; other ICMPv6 to the home
    address falls through to the host-wide payload entry (draft-laganier req. 2)."""
    dp.add_route(COA1_PREFIX, 2)
    dp.add_spd_entry(30, "to_crypto_port", sa_index=BA_SA, src_addr=LMA, dst_addr=MN, ip_proto=58, icmp_type=147)
    dp.add_spd_entry(1, "to_crypto_port", sa_index=PAYLOAD_SA, dst_addr=MN)
    routed = IPv6ExtHdrRouting(type=2, segleft=1, addresses=[MN])
    for body, sa in ((ICMPv6MPAdv(id=0x1234) / ICMPv6NDOptPrefixInfo(prefix="2001:db8:100::", prefixlen=64), BA_SA),
                     (ICMPv6EchoRequest(id=3), PAYLOAD_SA)):
        frame = eth_in() / IPv6(src=LMA, dst=COA1, hlim=64) / routed / body
        dp.packet_out(frame, through_pipeline=True)
        dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                         / CryptoMeta(sa_index=sa, direction=CryptoDirection.ENCRYPT, port=CPU_PORT)
                         / IPv6(bytes(frame)[14:]), CRYPTO_PORT)
    dp.verify_no_other_packets()


def test_rfc5555_4_1_an_advertisement_in_udp_is_selected_by_its_inner_packet(dp):
    dp.add_route(COA_V4_PREFIX, 2)
    dp.add_spd_entry(30, "to_crypto_port", sa_index=BA_SA, src_addr=LMA, dst_addr=MN, ip_proto=58, icmp_type=147)
    mpa = (IP(src=LMA_V4, dst=COA_V4, ttl=64, id=0, flags="DF") / UDP(sport=DSMIPV6_PORT, dport=NAT_PORT, chksum=0)
           / IPv6(src=LMA, dst=MN, hlim=64) / ICMPv6MPAdv(id=9))
    dp.packet_out(eth_in() / mpa, through_pipeline=True)
    dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                     / CryptoMeta(sa_index=BA_SA, direction=CryptoDirection.ENCRYPT, port=CPU_PORT, type=0x0800,
                                  flow=flow_byte(DSMIPV6_PORT, NAT_PORT)) / IP(bytes(mpa)), CRYPTO_PORT)
    dp.verify_no_other_packets()


def hoti_esp(src: str) -> IPv6:
    """A tunnelled HoTI as it crosses the MN-HA link: ESP tunnel mode from the CoA (§5.2.2)."""
    return IPv6(src=src, dst=LMA, hlim=64) / ESP(spi=RR_SPI, seq=1, data=b"\x11" * 72)


def to_crypto(ip, port: int) -> Ether:
    return Ether(dst=SWITCH_MAC, src=HOST_MAC) / CryptoMeta(sa_index=RR_SA, direction=CryptoDirection.DECRYPT,
                                                             port=port) / ip


def test_rfc3776_5_2_2_a_tunnelled_hoti_only_from_a_care_of_address_of_its_binding(dp):
    dp.add_local_address(LMA)
    dp.add_esp_sa_from_coa(LMA, RR_SPI, RR_SA, MN)
    dp.add_binding(HNP, BINDING, LMA, COA1)
    ip = hoti_esp(COA1)
    dp.send(2, eth_in() / ip)
    dp.verify_packet(to_crypto(ip, 2), CRYPTO_PORT)
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(3, eth_in() / hoti_esp(COA2))  # a CoA the binding does not have
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1
    dp.detach_binding(BINDING)  # de-registered: from no CoA at all
    dp.send(2, eth_in() / ip)
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before + 1) == before + 2
    dp.verify_no_other_packets()


def test_rfc5648_monami6_a_tunnelled_hoti_from_any_registered_coa(dp):
    dp.add_local_address(LMA)
    dp.add_esp_sa_from_coa(LMA, RR_SPI, RR_SA, MN)
    dp.add_tunnel_peer(1, LMA, COA1)
    dp.add_tunnel_peer(2, LMA, COA2)
    dp.add_multi_coa_binding(HNP, BINDING, [1, 2], coas=(COA1, COA2))
    for coa, port in ((COA1, 2), (COA2, 3)):
        ip = hoti_esp(coa)
        dp.send(port, eth_in() / ip)
        dp.verify_packet(to_crypto(ip, port), CRYPTO_PORT)
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(2, eth_in() / hoti_esp("2001:db8:a::99"))
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1
    dp.verify_no_other_packets()


def test_rfc5555_4_1_a_tunnelled_hoti_in_udp_from_the_nat_and_its_port(dp):
    dp.add_local_address(LMA)
    dp.add_local_address(LMA_V4)
    dp.add_esp_sa_from_coa(LMA, RR_SPI, RR_SA, MN)
    dp.add_binding(HNP, BINDING, LMA_V4, COA_V4, udp=(DSMIPV6_PORT, NAT_PORT))

    def wrapped(sport: int):
        return (IP(src=COA_V4, dst=LMA_V4, ttl=60) / UDP(sport=sport, dport=DSMIPV6_PORT)
                / IPv6(src=MN, dst=LMA, hlim=64) / ESP(spi=RR_SPI, seq=2, data=b"\x22" * 72))

    ip = wrapped(NAT_PORT)
    dp.send(2, eth_in() / ip)
    dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                     / CryptoMeta(sa_index=RR_SA, direction=CryptoDirection.DECRYPT, port=2, type=0x0800) / ip,
                     CRYPTO_PORT)
    before = dp.drops(DropReason.SPOOFED_TUNNEL_SOURCE)
    dp.send(2, eth_in() / wrapped(NAT_PORT + 1))  # the NAT's address, another port: another host
    assert dp.wait_drop(DropReason.SPOOFED_TUNNEL_SOURCE, before) == before + 1
    dp.verify_no_other_packets()


def test_rfc5555_4_1_esp_in_ipv6_in_ipv4_from_the_care_of_address_is_terminated_then_decrypted(dp):
    """An IPv4 CoA without a NAT: IPv4{CoA4 -> HA4} IPv6{HoA -> HA} ESP (payload SA)."""
    dp.add_local_address(LMA)
    dp.add_local_address(LMA_V4)
    dp.add_esp_sa(LMA, 0x6003, sa_index=PAYLOAD_SA)
    dp.add_tunnel_termination(COA_V4, LMA_V4, EncapKind.IPV6_IN_IPV4)
    dp.add_binding(HNP, BINDING, LMA_V4, COA_V4)
    inner = IPv6(src=MN, dst=LMA, hlim=64) / ESP(spi=0x6003, seq=4, data=b"\x33" * 64)
    dp.send(2, eth_in() / IP(src=COA_V4, dst=LMA_V4, ttl=60, proto=41) / inner)
    dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                     / CryptoMeta(sa_index=PAYLOAD_SA, direction=CryptoDirection.DECRYPT, port=2) / inner,
                     CRYPTO_PORT)
    unknown = dp.drops(DropReason.UNKNOWN_TUNNEL)
    dp.send(2, eth_in() / IP(src="203.0.113.77", dst=LMA_V4, ttl=60, proto=41) / inner)
    assert dp.wait_drop(DropReason.UNKNOWN_TUNNEL, unknown) == unknown + 1
    dp.verify_no_other_packets()


def test_rfc3776_5_2_2_the_decrypted_hoti_is_forwarded_to_the_correspondent(dp):
    """The crypto path hands back IPv6{HoA -> CN} MH HoTI: routed, one hop less."""
    dp.add_route("2001:db8:c0::/48", 4)
    hoti = IPv6(src=MN, dst=CN, hlim=64) / MIP6MH_HoTI(cookie=b"\x01" * 8)
    dp.send(CRYPTO_PORT, eth_in() / CryptoMeta(sa_index=RR_SA, direction=CryptoDirection.DECRYPTED, port=2) / hoti)
    hop = IPv6(bytes(hoti))
    hop.hlim = 63
    dp.verify_packet(eth_out(4) / hop, 4)
    dp.verify_no_other_packets()
