/* classifier.p4: what the packet is and whether it is for this node.
 * Rule: derive the lookup fields once (IPv4 in mapped form), decide "local"
 * with one table, and let the `punts` table send anything else to the
 * controller; nothing is punted unless a table or a signaling rule says so. */
#ifndef __CLASSIFIER_P4__
#define __CLASSIFIER_P4__

control Classifier(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t std) {

    /* ---- local addresses: LMA / HA / MAG Proxy-CoA, IPv6 and IPv4 ---- */
    action set_local() {
        meta.to_local = true;
    }

    table local_addresses {
        key = {
            meta.sig_dst : exact @name("dst_addr");
        }
        actions = {
            set_local;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        size = MAX_LOCAL_ADDRESSES;
    }

    /* ---- punt rules (ND, IKE, ping to the node, ...) ---- */
    action punt_to_controller() {
        meta.verdict = Verdict.PUNT;
        meta.punt_reason = PuntReason.PUNT_RULE;
    }

    direct_counter(CounterType.packets_and_bytes) punts_counter;

    table punts {
        key = {
            meta.ingress_port        : ternary @name("ingress_port");
            hdr.ethernet.ether_type  : ternary @name("ether_type");
            meta.l3_dst              : ternary @name("dst_addr");
            meta.l4_proto            : ternary @name("ip_proto");
            meta.l4_dport            : ternary @name("l4_dst_port");
            meta.icmp_type           : ternary @name("icmp_type");
        }
        actions = {
            punt_to_controller;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = punts_counter;
        size = MAX_PUNT_RULES;
    }

    apply {
        if (hdr.ipv6.isValid()) {
            meta.l3_src = hdr.ipv6.src_addr;
            meta.l3_dst = hdr.ipv6.dst_addr;
        } else if (hdr.ipv4.isValid()) {
            meta.l3_src = IPV4_MAPPED_PREFIX ++ hdr.ipv4.src_addr;
            meta.l3_dst = IPV4_MAPPED_PREFIX ++ hdr.ipv4.dst_addr;
        }
        meta.sig_dst = meta.l3_dst;

        /* IPv4 options are not handled: drop by rule rather than mangle. */
        if ((hdr.ipv4.isValid() && hdr.ipv4.ihl != 5) ||
                (hdr.inner_ipv4.isValid() && hdr.inner_ipv4.ihl != 5)) {
            meta.verdict = Verdict.DROP;
            meta.drop_reason = DropReason.IPV4_OPTIONS;
        } else {
            /* What kind of tunnel, if any, was received. */
            if (hdr.ipv6.isValid() && hdr.inner_ipv6.isValid()) {
                meta.encap_kind = EncapKind.IPV6_IN_IPV6;
            } else if (hdr.ipv6.isValid() && hdr.inner_ipv4.isValid()) {
                meta.encap_kind = EncapKind.IPV4_IN_IPV6;
            } else if (hdr.ipv4.isValid() && hdr.udp.isValid() && hdr.inner_ipv6.isValid()) {
                meta.encap_kind = EncapKind.IPV6_IN_UDP_IPV4;
            } else if (hdr.ipv4.isValid() && hdr.udp.isValid() && hdr.inner_ipv4.isValid()) {
                meta.encap_kind = EncapKind.IPV4_IN_UDP_IPV4;
            } else if (hdr.ipv4.isValid() && hdr.inner_ipv6.isValid()) {
                meta.encap_kind = EncapKind.IPV6_IN_IPV4;
            } else if (hdr.ipv4.isValid() && hdr.inner_ipv4.isValid()) {
                meta.encap_kind = EncapKind.IPV4_IN_IPV4;
            }

            /* RFC 5555 / draft-laganier §4: signaling inside UDP 4191 is
             * addressed to the inner IPv6 destination (the HA's address); so is
             * ICMPv6 inside it that the crypto path decrypted (a prefix
             * solicitation, RFC 3776 §5.2.3) or the controller sends (the
             * advertisement, whose SPD selectors are the inner packet's). */
            if (meta.encap_kind == EncapKind.IPV6_IN_UDP_IPV4 &&
                    (hdr.esp.isValid() || hdr.mh.isValid() ||
                     (hdr.inner_icmp.isValid() && (meta.from_crypto || meta.from_cpu)))) {
                meta.sig_in_udp = true;
                meta.sig_dst = hdr.inner_ipv6.dst_addr;
            }
            /* RFC 5555 §4.1, an IPv4 CoA without a NAT: ESP in IPv6-in-IPv4 to the
             * HA's IPv6 address is terminated, then classified by esp_sas. */
            if (meta.encap_kind == EncapKind.IPV6_IN_IPV4 && hdr.esp.isValid()) {
                meta.esp_in_tunnel = true;
                meta.sig_dst = hdr.inner_ipv6.dst_addr;
            }

            if (!meta.from_cpu) {
                local_addresses.apply();
                if (!meta.from_crypto) {
                    punts.apply();
                }
            }
        }
    }
}

#endif
