/* parser.p4: parser, checksum verification and deparser.
 * Rule: parse only what mobility needs, bounded (no loops); anything else is
 * left as payload and reaches ingress untouched, where a table forwards or
 * drops it. A truncated header is a parser error, dropped by ingress. */
#ifndef __PARSER_P4__
#define __PARSER_P4__

#include "define.p4"
#include "header.p4"

parser MobilityParser(packet_in pkt,
                      out headers_t hdr,
                      inout local_metadata_t meta,
                      inout standard_metadata_t std) {
    state start {
        transition select(std.ingress_port) {
            CPU_PORT: parse_packet_out;
            default:  parse_ethernet;
        }
    }

    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition parse_ethernet;
    }

    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_CRYPTO_META: parse_crypto_meta;
            ETHERTYPE_IPV4:        parse_ipv4;
            ETHERTYPE_IPV6:        parse_ipv6;
            default:               accept;
        }
    }

    state parse_crypto_meta {
        pkt.extract(hdr.crypto_meta);
        transition select(hdr.crypto_meta.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default:        accept;
        }
    }

    /* ---- IPv4: L4 only for unfragmented packets without options ---- */
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        meta.l4_proto = hdr.ipv4.protocol;
        transition select(hdr.ipv4.ihl, hdr.ipv4.flags[0:0], hdr.ipv4.frag_offset,
                          hdr.ipv4.protocol) {
            (5, 0, 0, PROTO_UDP):    parse_udp_over_ipv4;
            (5, 0, 0, PROTO_TCP):    parse_tcp;
            (5, 0, 0, PROTO_ICMP):   parse_icmp;
            (5, 0, 0, PROTO_ESP):    parse_esp;
            (5, 0, 0, PROTO_IPV6):   parse_inner_ipv6;
            (5, 0, 0, PROTO_IPV4):   parse_inner_ipv4;
            default:                 accept;
        }
    }

    /* ---- IPv6 and the extension headers mobility uses ---- */
    state parse_ipv6 {
        pkt.extract(hdr.ipv6);
        meta.l4_proto = hdr.ipv6.next_hdr;
        transition select(hdr.ipv6.next_hdr) {
            PROTO_TCP:     parse_tcp;
            PROTO_UDP:     parse_udp;
            PROTO_ICMPV6:  parse_icmp;
            PROTO_ESP:     parse_esp;
            PROTO_MH:      parse_mh;
            PROTO_IPV6:    parse_inner_ipv6;
            PROTO_IPV4:    parse_inner_ipv4;
            PROTO_ROUTING: parse_routing;
            PROTO_DSTOPTS: parse_dest_opts;
            default:       accept;
        }
    }

    /* RFC 6275 §6.4: only the Type 2 Routing Header (24 bytes) is parsed. */
    state parse_routing {
        verify(hdr.ipv6.payload_len >= 8, error.PacketTooShort);
        transition select(pkt.lookahead<bit<32>>()) {
            32w0x00020200 &&& 32w0x00ffff00: parse_rh2;  // hdr_ext_len 2, routing type 2
            default:                         accept;
        }
    }

    state parse_rh2 {
        pkt.extract(hdr.rh2);
        meta.l4_proto = hdr.rh2.next_hdr;
        transition select(hdr.rh2.next_hdr) {
            PROTO_DSTOPTS: parse_dest_opts;
            PROTO_ESP:     parse_esp;
            PROTO_MH:      parse_mh;
            PROTO_TCP:     parse_tcp;
            PROTO_UDP:     parse_udp;
            PROTO_ICMPV6:  parse_icmp;
            default:       accept;
        }
    }

    /* Destination Options of 8 bytes, or of 24 bytes (the RFC 6275 §6.3 Home
     * Address option layout); other lengths are left unparsed. */
    state parse_dest_opts {
        pkt.extract(hdr.dest_opts);
        transition select(hdr.dest_opts.hdr_ext_len) {
            0:       parse_after_dest_opts;
            2:       parse_dest_opts_ext;
            default: accept;
        }
    }

    state parse_dest_opts_ext {
        pkt.extract(hdr.dest_opts_ext);
        transition parse_after_dest_opts;
    }

    state parse_after_dest_opts {
        meta.l4_proto = hdr.dest_opts.next_hdr;
        transition select(hdr.dest_opts.next_hdr) {
            PROTO_ESP:    parse_esp;
            PROTO_MH:     parse_mh;
            PROTO_TCP:    parse_tcp;
            PROTO_UDP:    parse_udp;
            PROTO_ICMPV6: parse_icmp;
            default:      accept;
        }
    }

    /* ---- Transport ---- */
    state parse_udp {
        pkt.extract(hdr.udp);
        meta.l4_sport = hdr.udp.src_port;
        meta.l4_dport = hdr.udp.dst_port;
        transition accept;
    }

    /* RFC 5555: UDP 4191 over IPv4 carries IPv6 or IPv4; the version nibble tells
     * which. To port 4191 (from an MN), or from it (the HA's own signalling to an
     * MN behind a NAT, whose inner IPv6 packet the SPD selects). */
    state parse_udp_over_ipv4 {
        pkt.extract(hdr.udp);
        meta.l4_sport = hdr.udp.src_port;
        meta.l4_dport = hdr.udp.dst_port;
        transition select(hdr.udp.src_port, hdr.udp.dst_port) {
            (_, DSMIPV6_UDP_PORT): parse_udp_payload;
            (DSMIPV6_UDP_PORT, _): parse_udp_payload;
            default:               accept;
        }
    }

    /* lookahead does not check the packet length on every target: the UDP
     * length must announce at least an IPv4 header first (RFC 768). */
    state parse_udp_payload {
        verify(hdr.udp.length >= 28, error.PacketTooShort);
        transition select(pkt.lookahead<bit<4>>()) {
            4:       parse_inner_ipv4;
            6:       parse_inner_ipv6;
            default: accept;
        }
    }

    state parse_tcp {
        pkt.extract(hdr.tcp);
        meta.l4_sport = hdr.tcp.src_port;
        meta.l4_dport = hdr.tcp.dst_port;
        transition accept;
    }

    state parse_icmp {
        pkt.extract(hdr.icmp);
        meta.icmp_type = hdr.icmp.icmp_type;
        transition accept;
    }

    state parse_esp {
        pkt.extract(hdr.esp);
        transition accept;
    }

    state parse_mh {
        pkt.extract(hdr.mh);
        meta.mh_type = hdr.mh.mh_type;
        transition accept;
    }

    /* ---- One level of inner IP ---- */
    state parse_inner_ipv4 {
        pkt.extract(hdr.inner_ipv4);
        transition accept;
    }

    /* DSMIPv6 signaling (RFC 5555): IPv6 inside UDP 4191 carries ESP or MH, or, back
     * from the crypto path, a Mobile Prefix Solicitation (ICMPv6, RFC 3776 §5.2.3). */
    state parse_inner_ipv6 {
        pkt.extract(hdr.inner_ipv6);
        transition select(hdr.inner_ipv6.next_hdr) {
            PROTO_ESP:    parse_esp;
            PROTO_MH:     parse_mh;
            PROTO_ICMPV6: parse_inner_icmp;
            default:      accept;
        }
    }

    state parse_inner_icmp {
        pkt.extract(hdr.inner_icmp);
        transition accept;
    }
}

control MobilityVerifyChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp, hdr.ipv4.ecn,
              hdr.ipv4.total_len, hdr.ipv4.identification, hdr.ipv4.flags,
              hdr.ipv4.frag_offset, hdr.ipv4.ttl, hdr.ipv4.protocol,
              hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        verify_checksum(hdr.inner_ipv4.isValid() && hdr.inner_ipv4.ihl == 5,
            { hdr.inner_ipv4.version, hdr.inner_ipv4.ihl, hdr.inner_ipv4.dscp,
              hdr.inner_ipv4.ecn, hdr.inner_ipv4.total_len,
              hdr.inner_ipv4.identification, hdr.inner_ipv4.flags,
              hdr.inner_ipv4.frag_offset, hdr.inner_ipv4.ttl,
              hdr.inner_ipv4.protocol, hdr.inner_ipv4.src_addr,
              hdr.inner_ipv4.dst_addr },
            hdr.inner_ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

/* The UDP checksum of tun_udp is 0 (IPv4 allows it, RFC 768); the IPv4 header
 * checksums are recomputed whenever the header may have changed. */
control MobilityComputeChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp, hdr.ipv4.ecn,
              hdr.ipv4.total_len, hdr.ipv4.identification, hdr.ipv4.flags,
              hdr.ipv4.frag_offset, hdr.ipv4.ttl, hdr.ipv4.protocol,
              hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum(hdr.tun_ipv4.isValid(),
            { hdr.tun_ipv4.version, hdr.tun_ipv4.ihl, hdr.tun_ipv4.dscp,
              hdr.tun_ipv4.ecn, hdr.tun_ipv4.total_len,
              hdr.tun_ipv4.identification, hdr.tun_ipv4.flags,
              hdr.tun_ipv4.frag_offset, hdr.tun_ipv4.ttl,
              hdr.tun_ipv4.protocol, hdr.tun_ipv4.src_addr,
              hdr.tun_ipv4.dst_addr },
            hdr.tun_ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control MobilityDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr);
    }
}

#endif
