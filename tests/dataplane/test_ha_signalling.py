"""The home agent's signalling to a mobile node behind a NAT (RFC 5555 §4.1, RFC 3776 §5.2).

The controller hands the switch a clear BA inside the DSMIPv6 wrapper, IPv4{HA4 ->
NAT} UDP{4191 -> the NAT's port} IPv6{HA -> HoA} MH; the SPD selects it by the inner
IPv6 packet (the wrapper stays outside IPsec) and sends it to the crypto path whole;
what comes back ENCRYPTED is routed to the NAT as it is, neither terminated nor
tunnelled again. Expected frames are built with scapy from the documented layouts."""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6, MIP6MH_BA, MIP6MH_BRR
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from .lib import HOST_MAC, SWITCH_MAC
from .p4consts import CPU_PORT, CRYPTO_PORT, CryptoDirection, EncapKind
from .packets import (COA_V4, COA_V4_PREFIX, DSMIPV6_PORT, HNP, LMA, LMA_V4, MN, NAT_PORT, CryptoMeta,
                      eth_in, eth_out, flow_byte)

BA_SA = 21


def wrapped(message) -> object:
    return (IP(src=LMA_V4, dst=COA_V4, ttl=64, id=0, flags="DF") / UDP(sport=DSMIPV6_PORT, dport=NAT_PORT, chksum=0)
            / IPv6(src=LMA, dst=MN, nh=135, hlim=64) / message)


def test_rfc5555_4_1_a_ba_in_udp_is_selected_by_its_inner_ipv6_packet_and_encrypted_whole(dp):
    dp.add_route(COA_V4_PREFIX, 2)
    dp.add_spd_entry(20, "to_crypto_port", sa_index=BA_SA, src_addr=LMA, dst_addr=MN, ip_proto=135, mh_type=6)
    ba = wrapped(MIP6MH_BA(seq=9))
    dp.packet_out(eth_in() / ba, through_pipeline=True)
    dp.verify_packet(Ether(dst=SWITCH_MAC, src=HOST_MAC)
                     / CryptoMeta(sa_index=BA_SA, direction=CryptoDirection.ENCRYPT, port=CPU_PORT, type=0x0800,
                                  flow=flow_byte(DSMIPV6_PORT, NAT_PORT))
                     / IP(bytes(ba)), CRYPTO_PORT)
    # a message the SPD does not select (a BRR, MH type 0, under a type-6 entry) leaves as it is
    brr = wrapped(MIP6MH_BRR())
    dp.packet_out(eth_in() / brr, through_pipeline=True)
    dp.verify_packet(eth_out(2) / IP(bytes(brr)), 2)
    dp.verify_no_other_packets()


def test_rfc5555_4_1_the_encrypted_ba_goes_to_the_nat_untouched(dp):
    """Not a tunnel ending here (from the HA's own address), not one to encapsulate again."""
    dp.add_local_address(LMA_V4)
    dp.add_route(COA_V4_PREFIX, 2)
    dp.add_tunnel_termination(COA_V4, LMA_V4, EncapKind.IPV6_IN_UDP_IPV4, sport=NAT_PORT)
    dp.add_binding(HNP, 31, LMA_V4, COA_V4, udp=(DSMIPV6_PORT, NAT_PORT))
    result = (IP(src=LMA_V4, dst=COA_V4, ttl=64, id=0, flags="DF") / UDP(sport=DSMIPV6_PORT, dport=NAT_PORT, chksum=0)
              / IPv6(src=LMA, dst=MN, hlim=64) / ESP(spi=0x6002, seq=3, data=b"\x42" * 48))
    dp.send(CRYPTO_PORT, eth_in() / CryptoMeta(sa_index=BA_SA, direction=CryptoDirection.ENCRYPTED, port=CPU_PORT,
                                               type=0x0800) / result)
    dp.verify_packet(eth_out(2) / IP(bytes(result)), 2)
    dp.verify_no_other_packets()
