/* tunnel_peers.p4: tunnel peer indirection and encapsulation.
 * Rule: a tunnel peer id (MAG uplink, a flow of a multi-CoA binding) expands
 * to the outer addresses (and UDP ports) of the tunnel; a binding's member
 * (binding_profile.p4) gives them directly. The packet is encapsulated with
 * correct lengths, a fresh hop limit, DSCP copied and ECN copied (RFC 6040
 * §4.1 normal mode). A packet handed back by the crypto path that is already
 * ESP protected and addressed to a home address is not encapsulated again:
 * its destination is rewritten to the current IPv6 CoA (draft-laganier req. 1). */
#ifndef __TUNNEL_PEERS_P4__
#define __TUNNEL_PEERS_P4__

control TunnelPeers(inout headers_t hdr,
                    inout local_metadata_t meta,
                    inout standard_metadata_t std) {

    action load_tunnel_peer_ipv6(ipv6_addr_t src_addr, ipv6_addr_t dst_addr) {
        meta.tunnel_type = TunnelType.IPV6;
        meta.tunnel_src = src_addr;
        meta.tunnel_dst = dst_addr;
    }

    action load_tunnel_peer_ipv4(ipv4_addr_t src_addr, ipv4_addr_t dst_addr) {
        meta.tunnel_type = TunnelType.IPV4;
        meta.tunnel_src = IPV4_MAPPED_PREFIX ++ src_addr;
        meta.tunnel_dst = IPV4_MAPPED_PREFIX ++ dst_addr;
    }

    /* RFC 5555 §4.1 (NAT traversal): UDP ports per binding. */
    action load_tunnel_peer_udp(ipv4_addr_t src_addr, ipv4_addr_t dst_addr,
                                bit<16> src_port, bit<16> dst_port) {
        meta.tunnel_type = TunnelType.UDP_IPV4;
        meta.tunnel_src = IPV4_MAPPED_PREFIX ++ src_addr;
        meta.tunnel_dst = IPV4_MAPPED_PREFIX ++ dst_addr;
        meta.tunnel_udp_sport = src_port;
        meta.tunnel_udp_dport = dst_port;
    }

    action drop_unknown_tunnel_peer() {
        meta.verdict = Verdict.DROP;
        meta.drop_reason = DropReason.UNKNOWN_TUNNEL_PEER;
    }

    table tunnel_peers {
        key = {
            meta.tunnel_peer_id : exact @name("tunnel_peer_id");
        }
        actions = {
            load_tunnel_peer_ipv6;
            load_tunnel_peer_ipv4;
            load_tunnel_peer_udp;
            @defaultonly drop_unknown_tunnel_peer;
        }
        const default_action = drop_unknown_tunnel_peer();
        size = MAX_TUNNEL_PEERS;
    }

    apply {
        if (meta.has_tunnel_peer) {
            tunnel_peers.apply();
        }
        if (meta.verdict == Verdict.FORWARD && meta.tunnel_type != TunnelType.NONE) {
            bit<16> inner_len = 0;
            bit<8>  inner_proto = PROTO_IPV6;
            bit<6>  inner_dscp = 0;
            bit<2>  inner_ecn = 0;
            bit<3>  outer_flags = IPV4_FLAGS_DF;
            if (hdr.ipv6.isValid()) {
                inner_len = hdr.ipv6.payload_len + 40;
                inner_dscp = hdr.ipv6.dscp;
                inner_ecn = hdr.ipv6.ecn;
            } else if (hdr.ipv4.isValid()) {
                inner_len = hdr.ipv4.total_len;
                inner_proto = PROTO_IPV4;
                inner_dscp = hdr.ipv4.dscp;
                inner_ecn = hdr.ipv4.ecn;
                outer_flags = hdr.ipv4.flags & IPV4_FLAGS_DF;  // RFC 2003 §3.1: copy DF
            }

            if (meta.from_crypto && hdr.esp.isValid() && hdr.ipv6.isValid() &&
                    meta.tunnel_type == TunnelType.IPV6) {
                /* draft-laganier req. 1: the SA is left alone, the outer
                 * destination follows the binding. */
                hdr.ipv6.dst_addr = meta.tunnel_dst;
            } else if (meta.tunnel_type == TunnelType.IPV6) {
                /* RFC 2473 §3 */
                hdr.tun_ipv6.setValid();
                hdr.tun_ipv6.version = 6;
                hdr.tun_ipv6.dscp = inner_dscp;
                hdr.tun_ipv6.ecn = inner_ecn;
                hdr.tun_ipv6.flow_label = 0;
                hdr.tun_ipv6.payload_len = inner_len;
                hdr.tun_ipv6.next_hdr = inner_proto;
                hdr.tun_ipv6.hop_limit = TUNNEL_HOP_LIMIT;
                hdr.tun_ipv6.src_addr = meta.tunnel_src;
                hdr.tun_ipv6.dst_addr = meta.tunnel_dst;
                hdr.ethernet.ether_type = ETHERTYPE_IPV6;
            } else {
                /* RFC 4213 §3.5 / RFC 2003 §3.1, or RFC 5555 UDP encapsulation */
                hdr.tun_ipv4.setValid();
                hdr.tun_ipv4.version = 4;
                hdr.tun_ipv4.ihl = 5;
                hdr.tun_ipv4.dscp = inner_dscp;
                hdr.tun_ipv4.ecn = inner_ecn;
                hdr.tun_ipv4.total_len = inner_len + 20;
                hdr.tun_ipv4.identification = 0;
                hdr.tun_ipv4.flags = outer_flags;
                hdr.tun_ipv4.frag_offset = 0;
                hdr.tun_ipv4.ttl = TUNNEL_HOP_LIMIT;
                hdr.tun_ipv4.protocol = inner_proto;
                hdr.tun_ipv4.hdr_checksum = 0;
                hdr.tun_ipv4.src_addr = meta.tunnel_src[31:0];
                hdr.tun_ipv4.dst_addr = meta.tunnel_dst[31:0];
                hdr.ethernet.ether_type = ETHERTYPE_IPV4;
                if (meta.tunnel_type == TunnelType.UDP_IPV4) {
                    hdr.tun_ipv4.total_len = inner_len + 28;
                    hdr.tun_ipv4.protocol = PROTO_UDP;
                    hdr.tun_udp.setValid();
                    hdr.tun_udp.src_port = meta.tunnel_udp_sport;
                    hdr.tun_udp.dst_port = meta.tunnel_udp_dport;
                    hdr.tun_udp.length = inner_len + 8;
                    hdr.tun_udp.checksum = 0;
                }
            }
        }
    }
}

#endif
