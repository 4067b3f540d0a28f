/* bindings.p4: downlink binding lookup (LMA / HA role).
 * Rule: the inner destination (HNP by LPM, IPv4 HoA as a mapped /128) selects
 * a binding; the binding names a tunnel peer, so a handover is one write. A
 * binding with several CoAs (RFC 5648) picks one tunnel peer per flow with an
 * action selector on the 5-tuple hash. */
#ifndef __BINDINGS_P4__
#define __BINDINGS_P4__

control Bindings(inout headers_t hdr,
                 inout local_metadata_t meta,
                 inout standard_metadata_t std) {
    bool multi_coa = false;

    action set_binding(binding_id_t binding_id, tunnel_peer_id_t tunnel_peer_id) {
        meta.count_downlink = true;
        meta.downlink_binding_id = binding_id;
        meta.has_tunnel_peer = true;
        meta.tunnel_peer_id = tunnel_peer_id;
    }

    action set_multi_coa_binding(binding_id_t binding_id) {
        meta.count_downlink = true;
        meta.downlink_binding_id = binding_id;
        multi_coa = true;
    }

    table bindings {
        key = {
            meta.l3_dst : lpm @name("dst_addr");
        }
        actions = {
            set_binding;
            set_multi_coa_binding;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
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
        }
        actions = {
            set_tunnel_peer;
        }
        implementation = binding_peer_selector;
        size = MAX_MULTI_COA_BINDINGS;
    }

    apply {
        bindings.apply();
        if (multi_coa) {
            binding_peers.apply();
        }
    }
}

#endif
