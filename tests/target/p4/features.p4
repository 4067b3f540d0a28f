/* features.p4: a v1model program exercising the bmv2 JSON constructs the
 * embedded target must execute (header stacks, lookahead, verify, masks,
 * every match kind, const entries, action selector, counters, registers,
 * hashes, checksums, arithmetic, packet_in/packet_out, encap/decap). */
#include <core.p4>
#include <v1model.p4>

#define CPU_PORT 255

error { IPv4OptionsNotSupported }

@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> _pad; }

@controller_header("packet_in")
header packet_in_t { bit<9> ingress_port; bit<7> _pad; }

header ethernet_t { bit<48> dst; bit<48> src; bit<16> ether_type; }
header vlan_t { bit<3> pcp; bit<1> dei; bit<12> vid; bit<16> ether_type; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> total_len;
    bit<16> identification; bit<3> flags; bit<13> frag_offset;
    bit<8> ttl; bit<8> protocol; bit<16> hdr_checksum;
    bit<32> src; bit<32> dst;
}
header ipv6_t {
    bit<4> version; bit<8> traffic_class; bit<20> flow_label;
    bit<16> payload_len; bit<8> next_hdr; bit<8> hop_limit;
    bit<128> src; bit<128> dst;
}
header udp_t { bit<16> sport; bit<16> dport; bit<16> len; bit<16> checksum; }
/* probe: inputs a, b, c; the pipeline writes results the tests recompute */
header probe_t {
    bit<8> marker; bit<32> a; bit<16> b; bit<8> c;
    bit<32> add; bit<32> sub; bit<32> mul; bit<32> shl; bit<32> shr;
    bit<16> cat_hi; bit<16> slice; bit<8> cast; bit<32> tern; bit<32> bits;
    bit<8> cmp; bit<16> crc16; bit<32> crc32; bit<32> ident; bit<16> csum;
    bit<32> reg_old; bit<8> sat; bit<8> neg;
}

struct headers_t {
    packet_out_t packet_out;
    packet_in_t  packet_in;
    ethernet_t   ethernet;
    vlan_t[2]    vlan;
    ipv6_t       outer_ipv6;
    ipv4_t       ipv4;
    ipv6_t       ipv6;
    ipv6_t       inner_ipv6;
    udp_t        udp;
    probe_t      probe;
}

struct metadata_t {
    bit<16> l4_sport;
    bit<16> l4_dport;
    bit<8>  tos_class;
    bool    acl_hit;
}

parser FeatParser(packet_in packet, out headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t std) {
    state start {
        transition select(std.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out {
        packet.extract(hdr.packet_out);
        transition parse_ethernet;
    }
    state parse_ethernet {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x8100 &&& 0xefff: parse_vlan;   /* 0x8100 and 0x9100 */
            0x0800: parse_ipv4;
            0x86dd: parse_ipv6;
            0x88b5: parse_probe;
            default: accept;
        }
    }
    state parse_vlan {
        packet.extract(hdr.vlan.next);
        transition select(hdr.vlan.last.ether_type) {
            0x8100: parse_vlan;
            0x0800: parse_ipv4;
            0x86dd: parse_ipv6;
            default: accept;
        }
    }
    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        verify(hdr.ipv4.ihl == 5, error.IPv4OptionsNotSupported);
        transition select(hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (0, 17): parse_udp;
            default: accept;
        }
    }
    state parse_ipv6 {
        packet.extract(hdr.ipv6);
        transition select(hdr.ipv6.next_hdr) {
            17: parse_udp;
            41: parse_inner_ipv6;
            default: accept;
        }
    }
    state parse_inner_ipv6 {
        packet.extract(hdr.inner_ipv6);
        transition select(hdr.inner_ipv6.next_hdr) {
            17: parse_udp;
            default: accept;
        }
    }
    state parse_udp {
        packet.extract(hdr.udp);
        meta.l4_sport = hdr.udp.sport;
        meta.l4_dport = hdr.udp.dport;
        transition select(packet.lookahead<bit<8>>()) {
            0xb5: parse_probe;
            default: accept;
        }
    }
    state parse_probe {
        packet.extract(hdr.probe);
        transition accept;
    }
}

control FeatVerify(inout headers_t hdr, inout metadata_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src, hdr.ipv4.dst },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control FeatIngress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t std) {
    counter(8, CounterType.packets_and_bytes) port_rx;
    direct_counter(CounterType.packets_and_bytes) l2_counter;
    register<bit<32>>(16) probe_reg;
    action_selector(HashAlgorithm.crc16, 32w64, 32w16) ecmp_selector;

    action drop() { mark_to_drop(std); }
    action set_port(bit<9> port) { std.egress_spec = port; }
    action to_cpu() { std.egress_spec = CPU_PORT; }
    action set_port_counted(bit<9> port) { std.egress_spec = port; }
    action ipv4_forward(bit<9> port, bit<48> dmac) {
        std.egress_spec = port;
        hdr.ethernet.src = hdr.ethernet.dst;
        hdr.ethernet.dst = dmac;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    }
    action set_tos_class(bit<8> cls) { meta.tos_class = cls; }
    action permit() { meta.acl_hit = true; }
    action encap_v6(bit<128> src, bit<128> dst, bit<9> port) {
        hdr.outer_ipv6.setValid();
        hdr.outer_ipv6.version = 6;
        hdr.outer_ipv6.traffic_class = hdr.ipv6.traffic_class;
        hdr.outer_ipv6.flow_label = 0;
        hdr.outer_ipv6.payload_len = hdr.ipv6.payload_len + 40;
        hdr.outer_ipv6.next_hdr = 41;
        hdr.outer_ipv6.hop_limit = 64;
        hdr.outer_ipv6.src = src;
        hdr.outer_ipv6.dst = dst;
        std.egress_spec = port;
    }
    action decap_v6(bit<9> port) {
        hdr.ipv6.setInvalid();
        std.egress_spec = port;
    }
    action nop() { }

    table l2 {
        key = { hdr.ethernet.dst: exact @name("dst"); }
        actions = { set_port_counted; drop; NoAction; }
        default_action = NoAction();
        counters = l2_counter;
        size = 64;
    }
    table ipv4_lpm {
        key = { hdr.ipv4.dst: lpm @name("dst"); }
        actions = { ipv4_forward; drop; }
        default_action = drop();
        size = 256;
    }
    table acl {
        key = {
            hdr.ipv4.src: ternary @name("src");
            meta.l4_dport: range @name("dport");
            hdr.ipv4.protocol: optional @name("proto");
        }
        actions = { permit; drop; to_cpu; }
        default_action = permit();
        size = 64;
    }
    table tos_map {
        key = { hdr.ipv4.diffserv: exact @name("diffserv"); }
        actions = { set_tos_class; }
        const default_action = set_tos_class(0);
        const entries = {
            0x2e: set_tos_class(46);
            0x0a: set_tos_class(10);
        }
    }
    table ecmp {
        key = {
            hdr.ipv6.dst: exact @name("dst");
            hdr.ipv6.src: selector;
            meta.l4_sport: selector;
        }
        actions = { set_port; }
        implementation = ecmp_selector;
        size = 16;
    }
    table v6_tunnel {
        key = { hdr.ipv6.dst: exact @name("dst"); hdr.inner_ipv6.isValid(): exact @name("inner"); }
        actions = { encap_v6; decap_v6; nop; }
        default_action = nop();
        size = 64;
    }

    action run_probe() {
        bit<32> a = hdr.probe.a;
        bit<16> b = hdr.probe.b;
        hdr.probe.add = a + (bit<32>)b;
        hdr.probe.sub = (bit<32>)b - a;
        hdr.probe.mul = a * 3;
        hdr.probe.shl = a << hdr.probe.c[4:0];
        hdr.probe.shr = a >> 3;
        hdr.probe.cat_hi = (a ++ b)[47:32];
        hdr.probe.slice = a[23:8];
        hdr.probe.cast = (bit<8>)a;
        hdr.probe.tern = (hdr.probe.c > 100) ? a : (bit<32>)b;
        hdr.probe.bits = (a & 0xff00ff00) | (~a & 0x000000ff) ^ ((bit<32>)b);
        hdr.probe.cmp = ((a == (bit<32>)b) ? 8w1 : 8w0) | ((a > (bit<32>)b) ? 8w2 : 8w0)
                        | ((b != 0) ? 8w4 : 8w0);
        hash(hdr.probe.crc16, HashAlgorithm.crc16, 16w0, { a, b }, 32w65536);
        hash(hdr.probe.crc32, HashAlgorithm.crc32, 32w0, { a, b, hdr.probe.c }, 33w4294967296);
        hash(hdr.probe.ident, HashAlgorithm.identity, 32w0, { a }, 33w4294967296);
        hash(hdr.probe.csum, HashAlgorithm.csum16, 16w0, { a, b }, 32w65536);
        bit<32> old;
        probe_reg.read(old, (bit<32>)hdr.probe.c[3:0]);
        probe_reg.write((bit<32>)hdr.probe.c[3:0], old + 1);
        hdr.probe.reg_old = old;
        hdr.probe.sat = hdr.probe.c |+| 200;
        hdr.probe.neg = -hdr.probe.c;
        std.egress_spec = std.ingress_port;
    }

    apply {
        if (hdr.packet_out.isValid()) {
            std.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
            exit;
        }
        port_rx.count((bit<32>)std.ingress_port);
        if (std.parser_error != error.NoError) {
            to_cpu();
            exit;
        }
        if (hdr.probe.isValid()) {
            run_probe();
            exit;
        }
        if (l2.apply().hit) {
            exit;
        }
        if (hdr.ipv4.isValid()) {
            if (std.checksum_error == 1) {
                drop();
                exit;
            }
            tos_map.apply();
            acl.apply();
            if (meta.acl_hit) {
                ipv4_lpm.apply();
            }
            if (meta.tos_class == 46) {
                hdr.ipv4.diffserv = 0;
            }
        } else if (hdr.ipv6.isValid()) {
            switch (v6_tunnel.apply().action_run) {
                nop: { ecmp.apply(); }
            }
        }
    }
}

control FeatEgress(inout headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t std) {
    action drop() { mark_to_drop(std); }
    table egress_filter {
        key = { std.egress_port: exact @name("port"); }
        actions = { drop; NoAction; }
        default_action = NoAction();
        size = 16;
    }
    apply {
        if (std.egress_port == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = std.ingress_port;
            hdr.packet_in._pad = 0;
        } else {
            egress_filter.apply();
        }
    }
}

control FeatCompute(inout headers_t hdr, inout metadata_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src, hdr.ipv4.dst },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum_with_payload(hdr.ipv4.isValid() && hdr.udp.isValid(),
            { hdr.ipv4.src, hdr.ipv4.dst, 8w0, hdr.ipv4.protocol, hdr.udp.len,
              hdr.udp.sport, hdr.udp.dport, hdr.udp.len },
            hdr.udp.checksum, HashAlgorithm.csum16);
    }
}

control FeatDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.packet_in);
        packet.emit(hdr.ethernet);
        packet.emit(hdr.vlan);
        packet.emit(hdr.outer_ipv6);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.ipv6);
        packet.emit(hdr.inner_ipv6);
        packet.emit(hdr.udp);
        packet.emit(hdr.probe);
    }
}

V1Switch(FeatParser(), FeatVerify(), FeatIngress(), FeatEgress(), FeatCompute(),
         FeatDeparser()) main;
