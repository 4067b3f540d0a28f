/* stacks.p4: header stacks (next/last, push_front/pop_front, constant and
 * dynamic index), a header union, and exit from an action. */
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> ether_type; }
header tag_t { bit<8> kind; bit<8> op; bit<8> idx; bit<8> res; }
header h8_t { bit<8> v; }
header h16_t { bit<16> v; }
header_union u_t { h8_t a; h16_t b; }

struct headers_t { ethernet_t eth; tag_t tag; u_t u; h8_t[4] st; }
struct metadata_t { bit<8> unused; }

parser StParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.tag);
        transition select(hdr.tag.kind) {
            1: parse_a;
            2: parse_b;
            default: parse_stack;
        }
    }
    state parse_a { pkt.extract(hdr.u.a); transition parse_stack; }
    state parse_b { pkt.extract(hdr.u.b); transition parse_stack; }
    state parse_stack {
        pkt.extract(hdr.st.next);
        transition select(hdr.st.last.v) {
            0: accept;
            default: parse_stack;
        }
    }
}

control StVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }

control StIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t std) {
    action leave() {
        hdr.tag.res = 0x77;
        exit;
    }
    apply {
        std.egress_spec = 2;
        if (std.parser_error != error.NoError) {
            hdr.tag.res = 0xEE;
            exit;
        }
        if (hdr.tag.op == 1) {
            hdr.st.push_front(1);
            hdr.st[0].setValid();
            hdr.st[0].v = 0x5A;
        } else if (hdr.tag.op == 2) {
            hdr.st.pop_front(1);
        } else if (hdr.tag.op == 3) {
            leave();
        } else if (hdr.tag.op == 4) {
            hdr.st[hdr.tag.idx[1:0]].v = 0x42;
        }
        if (hdr.u.a.isValid()) {
            bit<16> t = 16w0x100 + (bit<16>)hdr.u.a.v;
            hdr.u.b.setValid();   /* a union holds one member: a becomes invalid */
            hdr.u.b.v = t;
        }
        hdr.tag.res = hdr.tag.res + 1;
    }
}

control StEgress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t std) { apply { } }

control StCompute(inout headers_t hdr, inout metadata_t meta) { apply { } }

control StDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.tag);
        pkt.emit(hdr.u);
        pkt.emit(hdr.st);
    }
}

V1Switch(StParser(), StVerify(), StIngress(), StEgress(), StCompute(), StDeparser()) main;
