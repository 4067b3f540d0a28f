/* tunnel_termination.p4: decapsulation of tunnels ending at this node.
 * Rule: a tunnel is terminated only for a known (outer src, outer dst, kind,
 * outer UDP source port: RFC 5555 §4.1, each MN behind one NAT has its own);
 * on the LMA / HA side (`decap_from_coa`) the outer source must also be a
 * care-of address registered for the inner source: this control records
 * both for source_check.p4, which decides after esp.p4. ECN is combined per
 * RFC 6040 §4.2. ESP in IPv6-in-IPv4 to a local IPv6 address (RFC 5555 §4.1,
 * no NAT) stays local after decapsulation, so esp_sas classifies it. */
#ifndef __TUNNEL_TERMINATION_P4__
#define __TUNNEL_TERMINATION_P4__

control TunnelTermination(inout headers_t hdr,
                          inout local_metadata_t meta,
                          inout standard_metadata_t std) {
    bool verify_source = false;
    bool terminate = false;
    bit<16> outer_sport = 0;  // 0 unless the tunnel is UDP (RFC 5555 §4.1)

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
            outer_sport     : exact @name("outer_src_port");
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

    l3_addr_t inner_src = 0;

    apply {
        if (hdr.inner_ipv6.isValid()) {
            inner_src = hdr.inner_ipv6.src_addr;
        } else if (hdr.inner_ipv4.isValid()) {
            inner_src = IPV4_MAPPED_PREFIX ++ hdr.inner_ipv4.src_addr;
        }

        if (hdr.udp.isValid()) {
            outer_sport = hdr.udp.src_port;
        }
        tunnel_terminations.apply();
        if (!terminate) {
            if (meta.to_local) {
                meta.verdict = Verdict.DROP;
                meta.drop_reason = DropReason.UNKNOWN_TUNNEL;
            }
            /* else: transit tunnel traffic, routed as is */
        } else {
            if (verify_source) {  // source_check.p4: outer source vs the inner source's binding
                meta.verify_source = true;
                meta.check_home = inner_src;
                meta.check_coa = meta.l3_src;
                meta.check_sport = outer_sport;
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
                /* ESP to a local address inside the tunnel: esp_sas next (classifier.p4) */
                meta.to_local = meta.to_local && meta.esp_in_tunnel;
            }
        }
    }
}

#endif
