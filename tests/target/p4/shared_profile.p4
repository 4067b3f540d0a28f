/* shared_profile.p4: one action profile (declared at top level) is the
 * implementation of two tables in two controls, both applied to one packet:
 * `by_src` on the IPv6 source, then `by_dst` on the destination. Their
 * actions are global actions with a directional parameter (p4c copies them
 * per table). The source's member gives the Ethernet source, the
 * destination's member the port and Ethernet destination; a source without
 * an entry, or whose member says `no_peer`, is dropped. */
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> ether_type; }
header ipv6_t {
    bit<4> version; bit<8> tc; bit<20> flow; bit<16> len; bit<8> nh; bit<8> hlim;
    bit<128> src; bit<128> dst;
}

struct peer_t { bit<1> present; bit<9> port; bit<48> mac; }
struct headers_t { ethernet_t eth; ipv6_t ipv6; }
struct metadata_t { peer_t peer; }

action_profile(32w16) peers;

action use_peer(inout peer_t p, bit<9> port, bit<48> mac) {
    p.present = 1;
    p.port = port;
    p.mac = mac;
}

action no_peer(inout peer_t p) {
    p.present = 0;
    p.port = 0;
    p.mac = 0;
}

parser SpParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.ether_type) {
            0x86DD: parse_ipv6;
            default: accept;
        }
    }
    state parse_ipv6 { pkt.extract(hdr.ipv6); transition accept; }
}

control SpVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }

control BySrc(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    table by_src {
        key = { hdr.ipv6.src : lpm @name("src"); }
        actions = { use_peer(meta.peer); no_peer(meta.peer); }
        implementation = peers;
        size = 16;
    }
    apply {
        if (by_src.apply().hit && meta.peer.present == 1) {
            hdr.eth.src = meta.peer.mac;
        } else {
            mark_to_drop(std);
        }
    }
}

control ByDst(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t std) {
    table by_dst {
        key = { hdr.ipv6.dst : lpm @name("dst"); }
        actions = { use_peer(meta.peer); no_peer(meta.peer); }
        implementation = peers;
        size = 16;
    }
    apply {
        if (by_dst.apply().hit && meta.peer.present == 1) {
            std.egress_spec = meta.peer.port;
            hdr.eth.dst = meta.peer.mac;
        } else {
            mark_to_drop(std);
        }
    }
}

control SpIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t std) {
    BySrc() by_src_check;
    ByDst() by_dst_lookup;
    apply {
        if (hdr.ipv6.isValid()) {
            by_src_check.apply(hdr, meta, std);
            if (std.egress_spec != 511) {
                by_dst_lookup.apply(hdr, meta, std);
            }
        } else {
            mark_to_drop(std);
        }
    }
}

control SpEgress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t std) { apply { } }

control SpCompute(inout headers_t hdr, inout metadata_t meta) { apply { } }

control SpDeparser(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv6); }
}

V1Switch(SpParser(), SpVerify(), SpIngress(), SpEgress(), SpCompute(), SpDeparser()) main;
