/* define.p4: types, wire constants and enums shared by every feature.
 * Rule: a value that appears on a wire or in a P4Runtime entry is named here once. */
#ifndef __DEFINE_P4__
#define __DEFINE_P4__

/* ---- Types ---- */
typedef bit<9>   port_num_t;
typedef bit<48>  mac_addr_t;
typedef bit<32>  ipv4_addr_t;
typedef bit<128> ipv6_addr_t;
/* Every table keyed on an address uses l3_addr_t: an IPv6 address, or an IPv4
 * address in IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), so one table
 * serves both families. IPv4 prefix /n is written as mapped prefix /(96+n). */
typedef bit<128> l3_addr_t;
typedef bit<32>  binding_id_t;
typedef bit<32>  tunnel_peer_id_t;
typedef bit<32>  sa_index_t;
typedef bit<32>  spi_t;

/* ---- Ports ---- */
const port_num_t CPU_PORT    = 255;  // simple_switch_grpc --cpu-port 255
const port_num_t CRYPTO_PORT = 254;  // the host crypto path's veth

/* ---- EtherTypes ---- */
const bit<16> ETHERTYPE_IPV4        = 0x0800;
const bit<16> ETHERTYPE_IPV6        = 0x86DD;
const bit<16> ETHERTYPE_CRYPTO_META = 0x88B5;  // IEEE 802 local experimental 1

/* ---- IP protocol / IPv6 next header numbers ---- */
const bit<8> PROTO_ICMP    = 1;
const bit<8> PROTO_IPV4    = 4;    // RFC 2003 / RFC 2473 IPv4 payload
const bit<8> PROTO_TCP     = 6;
const bit<8> PROTO_UDP     = 17;
const bit<8> PROTO_IPV6    = 41;   // RFC 2473 IPv6 payload
const bit<8> PROTO_ROUTING = 43;
const bit<8> PROTO_ESP     = 50;   // RFC 4303
const bit<8> PROTO_ICMPV6  = 58;
const bit<8> PROTO_DSTOPTS = 60;
const bit<8> PROTO_MH      = 135;  // RFC 6275 §6.1

const bit<16> DSMIPV6_UDP_PORT = 4191;  // RFC 5555 UDP encapsulation port
const bit<8>  ICMPV6_MOBILE_PREFIX_SOLICITATION = 146;  // RFC 6275 §6.7
const bit<8>  IPV6_ROUTING_TYPE_2 = 2;  // RFC 6275 §6.4
const bit<8>  TUNNEL_HOP_LIMIT = 64;    // hop limit / TTL of headers we add
const bit<3>  IPV4_FLAGS_DF = 3w2;
/* RFC 6275 §6.3: PadN(2) then Home Address option (type 201, length 16) at 8n+6 */
const bit<48> HAO_LAYOUT = 0x01020000c910;
const bit<96> IPV4_MAPPED_PREFIX = 0x00000000000000000000ffff;

/* ---- ECN codepoints (RFC 3168 §5) ---- */
const bit<2> ECN_NOT_ECT = 0;
const bit<2> ECN_ECT1    = 1;
const bit<2> ECN_ECT0    = 2;
const bit<2> ECN_CE      = 3;

/* ---- Enums (values are wire/API values: keep in sync with docs/dataplane.md) ---- */

/* packet_in.punt_reason */
enum bit<8> PuntReason {
    MOBILITY_HEADER           = 1,  // native MH to a local address
    MOBILITY_HEADER_UDP       = 2,  // MH in IPv6 in UDP 4191 to a local address (RFC 5555)
    MOBILITY_HEADER_DECRYPTED = 3,  // MH handed back decrypted by the crypto path
    ESP_SIGNALING             = 4,  // ESP whose (dst, SPI) names a signaling SA punted as is
    PUNT_RULE                 = 5,  // a `punts` entry said so
    PREFIX_SOLICITATION_DECRYPTED = 6  // ICMPv6 146 handed back decrypted (RFC 3776 §5.2.3)
}

/* index of drop_counter */
enum bit<8> DropReason {
    PARSER_ERROR          = 1,   // truncated or malformed header
    IPV4_CHECKSUM         = 2,
    IPV4_OPTIONS          = 3,   // IHL != 5: not handled, dropped by rule
    UNKNOWN_SPI           = 4,   // RFC 4303 §3.4.2: no SA for (dst, SPI)
    UNKNOWN_TUNNEL        = 5,   // tunnel to a local address from an unknown peer / kind
    SPOOFED_TUNNEL_SOURCE = 6,   // outer source is not a CoA of the inner source's binding
    SPD_DISCARD           = 7,   // RFC 4301 DISCARD
    NO_ROUTE              = 8,
    HOP_LIMIT_EXCEEDED    = 9,
    BAD_CRYPTO_META       = 10,  // crypto header on a wrong port or with a wrong direction
    ECN_CE_NOT_ECT        = 11,  // RFC 6040 §4.2: outer CE, inner Not-ECT
    UNKNOWN_TUNNEL_PEER   = 12,  // binding points to no tunnel peer
    LOCAL_UNHANDLED       = 13   // to a local address, not signaling, no punt rule
}

/* tunnel_terminations.encap_kind: what was received */
enum bit<8> EncapKind {
    NONE             = 0,
    IPV6_IN_IPV6     = 1,
    IPV4_IN_IPV6     = 2,
    IPV6_IN_IPV4     = 3,
    IPV6_IN_UDP_IPV4 = 4,  // RFC 5555 UDP 4191
    IPV4_IN_UDP_IPV4 = 5,  // RFC 5555 UDP 4191
    IPV4_IN_IPV4     = 6
}

/* crypto_meta.direction */
enum bit<8> CryptoDirection {
    DECRYPT   = 1,  // switch -> crypto path: inbound ESP to verify and decrypt
    ENCRYPT   = 2,  // switch -> crypto path: outbound packet the SPD says to protect
    DECRYPTED = 3,  // crypto path -> switch: plaintext of a DECRYPT
    ENCRYPTED = 4   // crypto path -> switch: ESP packet of an ENCRYPT
}

/* What the ingress pipeline decided; internal. */
enum bit<8> Verdict {
    FORWARD = 0,
    PUNT    = 1,
    CRYPTO  = 2,
    DROP    = 3,
    DIRECT  = 4   // packet_out straight to a port
}

/* Which tunnel header tunnel_peers asks for; internal. */
enum bit<8> TunnelType {
    NONE     = 0,
    IPV6     = 1,  // IPv6-in-IPv6 / IPv4-in-IPv6
    IPV4     = 2,  // IPv6-in-IPv4 / IPv4-in-IPv4
    UDP_IPV4 = 3   // IPv6/IPv4-in-UDP-in-IPv4 (RFC 5555)
}

#endif
