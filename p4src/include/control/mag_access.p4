/* mag_access.p4: the MAG role (RFC 5213 §6).
 * Rule: uplink from a mobile node's access port and source prefix goes into
 * the tunnel to its LMA (§6.10.5); downlink decapsulated from the LMA goes to
 * the mobile node's access port with its MAC. No local routing between MNs. */
#ifndef __MAG_ACCESS_P4__
#define __MAG_ACCESS_P4__

control MagAccess(inout headers_t hdr,
                  inout local_metadata_t meta,
                  inout standard_metadata_t std) {

    action tunnel_to_lma(binding_id_t binding_id, tunnel_peer_id_t tunnel_peer_id) {
        meta.has_tunnel_peer = true;
        meta.tunnel_peer_id = tunnel_peer_id;
        meta.count_uplink = true;
        meta.uplink_binding_id = binding_id;
    }

    table mag_uplinks {
        key = {
            meta.ingress_port : exact @name("ingress_port");
            meta.l3_src       : lpm   @name("src_addr");
        }
        actions = {
            tunnel_to_lma;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        size = MAX_MAG_ENTRIES;
    }

    action forward_to_mn(binding_id_t binding_id, port_num_t port,
                         mac_addr_t src_mac, mac_addr_t dst_mac) {
        std.egress_spec = port;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
        meta.egress_chosen = true;
        meta.count_downlink = true;
        meta.downlink_binding_id = binding_id;
    }

    table mag_downlinks {
        key = {
            meta.l3_dst : lpm @name("dst_addr");
        }
        actions = {
            forward_to_mn;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        size = MAX_MAG_ENTRIES;
    }

    apply {
        if (meta.decapped_from_lma) {
            mag_downlinks.apply();
        } else if (!meta.from_cpu && !meta.from_crypto) {
            mag_uplinks.apply();
        }
    }
}

#endif
