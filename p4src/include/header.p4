/* header.p4: wire headers, controller headers and the metadata carried through ingress.
 * Rule: headers are byte-aligned and declared in wire order; fields the pipeline
 * never reads are still named so nothing is mangled on deparse. */
#ifndef __HEADER_P4__
#define __HEADER_P4__

#include "define.p4"

/* ---- Controller headers (P4Runtime packet I/O) ---- */

/* 17 bytes, prepended to every frame sent to the CPU port. */
@controller_header("packet_in")
header packet_in_t {
    port_num_t  ingress_port;    // port the frame entered on (before the crypto path)
    @padding bit<7> _pad0;
    bit<8>      punt_reason;     // PuntReason
    ipv4_addr_t outer_ipv4_src;  // outer IPv4 source (UDP 4191 / DSMIPv6), else 0
    bit<16>     udp_src_port;    // outer UDP source port, else 0
    spi_t       spi;             // ESP SPI when an ESP header was parsed, else 0
    sa_index_t  sa_index;        // SA that decrypted it (MOBILITY_HEADER_DECRYPTED), else 0
}

/* 2 bytes, prepended by the controller to every PacketOut frame. */
@controller_header("packet_out")
header packet_out_t {
    port_num_t  egress_port;       // used when through_pipeline == 0
    bit<1>      through_pipeline;  // 1: run the ingress pipeline as a packet from the CPU
    @padding bit<6> _pad0;
}

/* ---- Link layer ---- */
header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

/* 10 bytes after Ethernet (EtherType 0x88B5) on frames to and from CRYPTO_PORT. */
header crypto_meta_t {
    sa_index_t sa_index;
    bit<8>     direction;   // CryptoDirection
    bit<8>     flow;        // ENCRYPT: the packet's flow (ports folded), echoed back (RFC 5648 placement)
    bit<7>     _pad0;
    port_num_t port;        // original ingress port; echoed back by the crypto path
    bit<16>    ether_type;  // EtherType of what follows
}

/* ---- Network layer ---- */
header ipv4_t {
    bit<4>      version;
    bit<4>      ihl;
    bit<6>      dscp;
    bit<2>      ecn;
    bit<16>     total_len;
    bit<16>     identification;
    bit<3>      flags;
    bit<13>     frag_offset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

header ipv6_t {
    bit<4>      version;
    bit<6>      dscp;
    bit<2>      ecn;
    bit<20>     flow_label;
    bit<16>     payload_len;
    bit<8>      next_hdr;
    bit<8>      hop_limit;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

/* Type 2 Routing Header, RFC 6275 §6.4: always 24 bytes. */
header ipv6_rh2_t {
    bit<8>      next_hdr;
    bit<8>      hdr_ext_len;     // 2
    bit<8>      routing_type;    // 2
    bit<8>      segments_left;   // 1
    bit<32>     reserved;
    ipv6_addr_t home_addr;
}

/* Destination Options header: first 8 bytes. */
header ipv6_dest_opts_t {
    bit<8>  next_hdr;
    bit<8>  hdr_ext_len;
    bit<48> options;
}

/* Bytes 8..23 of a 24-byte Destination Options header. With the RFC 6275 §6.3
 * layout (PadN(2), then the Home Address option at 8n+6) this is the HoA. */
header ipv6_dest_opts_ext_t {
    bit<128> data;
}

/* ---- Transport and mobility ---- */
header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

/* The first 4 bytes of TCP: all the pipeline reads. */
header tcp_ports_t {
    bit<16> src_port;
    bit<16> dst_port;
}

header icmp_t {
    bit<8> icmp_type;
    bit<8> icmp_code;
}

/* RFC 4303 §2: SPI and sequence number; the rest stays payload. */
header esp_t {
    spi_t   spi;
    bit<32> seq;
}

/* RFC 6275 §6.1.1: first 4 bytes of the Mobility Header. */
header mh_t {
    bit<8> payload_proto;
    bit<8> header_len;
    bit<8> mh_type;
    bit<8> reserved;
}

/* Deparse order is the order of this struct. Tunnel headers we push (tun_*)
 * come before the packet's own headers; decapsulation copies inner_* over
 * ipv4/ipv6 so later stages always look at hdr.ipv4 / hdr.ipv6. */
struct headers_t {
    packet_out_t         packet_out;
    packet_in_t          packet_in;
    ethernet_t           ethernet;
    crypto_meta_t        crypto_meta;
    ipv4_t               tun_ipv4;
    ipv6_t               tun_ipv6;
    udp_t                tun_udp;
    ipv4_t               ipv4;
    ipv6_t               ipv6;
    ipv6_rh2_t           rh2;
    ipv6_dest_opts_t     dest_opts;
    ipv6_dest_opts_ext_t dest_opts_ext;
    udp_t                udp;
    tcp_ports_t          tcp;
    icmp_t               icmp;
    ipv4_t               inner_ipv4;
    ipv6_t               inner_ipv6;
    esp_t                esp;
    mh_t                 mh;
    icmp_t               inner_icmp;  // ICMPv6 inside a tunnel (a DSMIPv6 prefix solicitation)
}

/* What a binding's member of `binding_profile` says (binding_profile.p4). */
struct binding_t {
    binding_id_t    binding_id;
    bool            multi_coa;        // RFC 5648: binding_peers picks a CoA per flow
    TunnelType      tunnel_type;      // NONE: the binding has no CoA now
    l3_addr_t       tunnel_src;
    l3_addr_t       tunnel_dst;       // the CoA, IPv4 mapped
    bit<16>         tunnel_udp_sport;
    bit<16>         tunnel_udp_dport;
}

struct local_metadata_t {
    Verdict         verdict;
    DropReason      drop_reason;
    PuntReason      punt_reason;
    port_num_t      ingress_port;     // effective: the original port for crypto results
    bool            from_cpu;         // PacketOut through the pipeline
    bool            from_crypto;      // handed back by the crypto path
    CryptoDirection crypto_direction;
    sa_index_t      sa_index;
    bool            node_originated;  // no hop limit decrement
    bool            to_local;         // sig_dst is a local address
    bool            sig_in_udp;       // ESP/MH inside IPv6 inside UDP 4191
    l3_addr_t       sig_dst;          // destination the signaling checks use
    /* outermost IP header, IPv4 mapped */
    l3_addr_t       l3_src;
    l3_addr_t       l3_dst;
    bit<8>          l4_proto;         // after RH2 / DestOpt; ESP is not skipped
    bit<16>         l4_sport;
    bit<16>         l4_dport;
    bit<8>          icmp_type;
    bit<8>          mh_type;
    EncapKind       encap_kind;       // what was received
    bool            decapped_from_lma;
    /* per-binding counting */
    bool            count_uplink;
    binding_id_t    uplink_binding_id;
    bool            count_downlink;
    binding_id_t    downlink_binding_id;
    /* tunnel peer chosen for encapsulation */
    bool            has_tunnel_peer;
    tunnel_peer_id_t tunnel_peer_id;
    TunnelType      tunnel_type;
    l3_addr_t       tunnel_src;
    l3_addr_t       tunnel_dst;
    bit<16>         tunnel_udp_sport;
    bit<16>         tunnel_udp_dport;
    bool            egress_chosen;    // a mobility table set the port and MACs
    bool            steered;          // pool_steering.p4: sent on, encapsulated, to the serving switch
    /* the binding a `bindings` or `uplink_sources` lookup found last */
    binding_t       binding;
    bit<8>          flow;             // the flow of a packet before ESP (crypto_meta.flow), else 0
    bool            esp_in_tunnel;    // ESP inside IPv6-in-IPv4 (RFC 5555 §4.1, no NAT): sig_dst = inner dst
    /* the uplink source check (source_check.p4): the outer source must be a CoA of check_home */
    bool            verify_source;
    l3_addr_t       check_home;       // a tunnelled packet's inner source, or the home address of its SA
    l3_addr_t       check_coa;        // the outer source (IPv4 mapped)
    bit<16>         check_sport;      // the outer UDP source port, 0 unless UDP (RFC 5555 §4.1)
}

#endif
