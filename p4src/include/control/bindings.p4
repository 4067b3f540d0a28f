/* bindings.p4: downlink binding lookup (LMA / HA role).
 * Rule: the inner destination (HNP by LPM, IPv4 HoA as a mapped /128) selects
 * the binding's member of `binding_profile` (binding_profile.p4), which holds
 * its current tunnel, so a handover is one write of that member. A binding
 * with several CoAs (RFC 5648) picks one tunnel peer per flow with an action
 * selector on the 5-tuple hash (for a packet the crypto path encrypted in
 * tunnel mode, the flow it had before: crypto_meta.flow). A binding without a CoA, or with several
 * but no selector group, drops (and counts) its downlink. */
#ifndef __BINDINGS_P4__
#define __BINDINGS_P4__

control Bindings(inout headers_t hdr,
                 inout local_metadata_t meta,
                 inout standard_metadata_t std) {

    table bindings {
        key = {
            meta.l3_dst : lpm @name("dst_addr");
        }
        actions = {  // the same list as uplink_sources (shared profile)
            set_binding_tunnel_ipv6(meta.binding);
            set_binding_tunnel_ipv4(meta.binding);
            set_binding_tunnel_udp(meta.binding);
            set_multi_coa_binding(meta.binding);
            set_binding_without_tunnel(meta.binding);
        }
        implementation = binding_profile;
        size = MAX_BINDINGS;
    }

    /* ---- RFC 5648: one member per (binding, CoA), one group per binding ---- */
    action set_tunnel_peer(tunnel_peer_id_t tunnel_peer_id) {
        meta.has_tunnel_peer = true;
        meta.tunnel_peer_id = tunnel_peer_id;
    }

    action_selector(HashAlgorithm.crc16, MAX_BINDING_PEER_MEMBERS, 16) binding_peer_selector;

    table binding_peers {
        key = {
            meta.downlink_binding_id : exact @name("binding_id");
            meta.l3_src              : selector;
            meta.l3_dst              : selector;
            meta.l4_proto            : selector;
            meta.l4_sport            : selector;
            meta.l4_dport            : selector;
            meta.flow                : selector;  // an ESP result: its flow before encryption
        }
        actions = {
            set_tunnel_peer;
        }
        implementation = binding_peer_selector;
        size = MAX_MULTI_COA_BINDINGS;
    }

    apply {
        if (bindings.apply().hit) {
            meta.count_downlink = true;
            meta.downlink_binding_id = meta.binding.binding_id;
            if (meta.binding.multi_coa) {
                if (!binding_peers.apply().hit) {  // no group (yet): not routed in the clear
                    meta.verdict = Verdict.DROP;
                    meta.drop_reason = DropReason.UNKNOWN_TUNNEL_PEER;
                }
            } else if (meta.binding.tunnel_type == TunnelType.NONE) {
                meta.verdict = Verdict.DROP;
                meta.drop_reason = DropReason.UNKNOWN_TUNNEL_PEER;
            } else {
                meta.tunnel_type = meta.binding.tunnel_type;
                meta.tunnel_src = meta.binding.tunnel_src;
                meta.tunnel_dst = meta.binding.tunnel_dst;
                meta.tunnel_udp_sport = meta.binding.tunnel_udp_sport;
                meta.tunnel_udp_dport = meta.binding.tunnel_udp_dport;
            }
        }
    }
}

#endif
