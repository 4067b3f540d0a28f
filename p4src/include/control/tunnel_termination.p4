/* tunnel_termination.p4: decapsulation of tunnels ending at this node.
 * Rule: a tunnel is terminated only for a known (outer src, outer dst, kind);
 * on the LMA / HA side the outer source must also be a care-of address
 * registered for the inner source (any of a binding's CoAs, RFC 5648), else
 * the packet is dropped and counted. ECN is combined per RFC 6040 §4.2. */
#ifndef __TUNNEL_TERMINATION_P4__
#define __TUNNEL_TERMINATION_P4__

control TunnelTermination(inout headers_t hdr,
                          inout local_metadata_t meta,
                          inout standard_metadata_t std) {
    bool verify_source = false;
    bool terminate = false;

    /* ---- tunnels ending here ---- */
    action decap_from_coa() {
        terminate = true;
        verify_source = true;
    }

    action decap_from_lma() {
        terminate = true;
        meta.decapped_from_lma = true;
    }

    direct_counter(CounterType.packets_and_bytes) tunnel_terminations_counter;

    table tunnel_terminations {
        key = {
            meta.l3_src     : exact @name("outer_src_addr");
            meta.l3_dst     : exact @name("outer_dst_addr");
            meta.encap_kind : exact @name("encap_kind");
        }
        actions = {
            decap_from_coa;
            decap_from_lma;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = tunnel_terminations_counter;
        size = MAX_TUNNEL_PEERS;
    }

    /* ---- inner source check: (CoA, HNP / HoA) pairs ---- */
    l3_addr_t inner_src = 0;

    action accept_uplink(binding_id_t binding_id) {
        meta.count_uplink = true;
        meta.uplink_binding_id = binding_id;
    }

    action drop_spoofed_source() {
        meta.verdict = Verdict.DROP;
        meta.drop_reason = DropReason.SPOOFED_TUNNEL_SOURCE;
    }

    table uplink_sources {
        key = {
            meta.l3_src : exact @name("coa");
            inner_src   : lpm   @name("home_addr");
        }
        actions = {
            accept_uplink;
            @defaultonly drop_spoofed_source;
        }
        const default_action = drop_spoofed_source();
        size = MAX_UPLINK_SOURCES;
    }

    apply {
        if (hdr.inner_ipv6.isValid()) {
            inner_src = hdr.inner_ipv6.src_addr;
        } else if (hdr.inner_ipv4.isValid()) {
            inner_src = IPV4_MAPPED_PREFIX ++ hdr.inner_ipv4.src_addr;
        }

        tunnel_terminations.apply();
        if (!terminate) {
            if (meta.to_local) {
                meta.verdict = Verdict.DROP;
                meta.drop_reason = DropReason.UNKNOWN_TUNNEL;
            }
            /* else: transit tunnel traffic, routed as is */
        } else {
            if (verify_source) {
                uplink_sources.apply();
            }
            /* RFC 6040 §4.2 decapsulation. */
            bit<2> outer_ecn = hdr.ipv6.isValid() ? hdr.ipv6.ecn : hdr.ipv4.ecn;
            bit<2> inner_ecn = hdr.inner_ipv6.isValid() ? hdr.inner_ipv6.ecn
                                                        : hdr.inner_ipv4.ecn;
            if (outer_ecn == ECN_CE) {
                if (inner_ecn == ECN_NOT_ECT) {
                    meta.verdict = Verdict.DROP;
                    meta.drop_reason = DropReason.ECN_CE_NOT_ECT;
                } else {
                    inner_ecn = ECN_CE;
                }
            } else if (outer_ecn == ECN_ECT1 && inner_ecn == ECN_ECT0) {
                inner_ecn = ECN_ECT1;
            }

            if (meta.verdict != Verdict.DROP) {
                /* Remove the outer headers: the inner one takes their place. */
                hdr.ipv4.setInvalid();
                hdr.ipv6.setInvalid();
                hdr.udp.setInvalid();
                if (hdr.inner_ipv6.isValid()) {
                    hdr.ipv6 = hdr.inner_ipv6;
                    hdr.ipv6.ecn = inner_ecn;
                    hdr.inner_ipv6.setInvalid();
                    hdr.ethernet.ether_type = ETHERTYPE_IPV6;
                    meta.l3_src = hdr.ipv6.src_addr;
                    meta.l3_dst = hdr.ipv6.dst_addr;
                    meta.l4_proto = hdr.ipv6.next_hdr;
                } else {
                    hdr.ipv4 = hdr.inner_ipv4;
                    hdr.ipv4.ecn = inner_ecn;
                    hdr.inner_ipv4.setInvalid();
                    hdr.ethernet.ether_type = ETHERTYPE_IPV4;
                    meta.l3_src = IPV4_MAPPED_PREFIX ++ hdr.ipv4.src_addr;
                    meta.l3_dst = IPV4_MAPPED_PREFIX ++ hdr.ipv4.dst_addr;
                    meta.l4_proto = hdr.ipv4.protocol;
                }
                /* The inner transport header was not parsed. */
                meta.l4_sport = 0;
                meta.l4_dport = 0;
                meta.encap_kind = EncapKind.NONE;
                meta.to_local = false;
            }
        }
    }
}

#endif
