/* binding_profile.p4: one action profile member per binding (LMA / HA role).
 * Rule: a binding's current tunnel is one member of `binding_profile`. The
 * downlink `bindings` entry (inner destination) and the uplink
 * `uplink_sources` entry (inner source) of each of its HNPs / HoAs point to
 * that member, so a handover is one MODIFY of the member and both directions
 * follow it. A member only loads meta.binding; the control of each table
 * reads it right after its own lookup, so MN-to-MN traffic at one LMA (uplink
 * check on the source, then downlink on the destination) applies each table
 * once, as bmv2 requires. Both tables list exactly these actions: PI checks a
 * member's action against one of the profile's tables. Both test `.hit`:
 * p4c gives each table its own copy of an action and bmv2 looks a member's
 * successor up by action id unless the table branches on hit / miss. */
#ifndef __BINDING_PROFILE_P4__
#define __BINDING_PROFILE_P4__

action_profile(MAX_BINDINGS) binding_profile;

action set_binding_tunnel_ipv6(inout binding_t b, binding_id_t binding_id,
                               ipv6_addr_t src_addr, ipv6_addr_t dst_addr) {
    b.binding_id = binding_id;
    b.multi_coa = false;
    b.tunnel_type = TunnelType.IPV6;
    b.tunnel_src = src_addr;
    b.tunnel_dst = dst_addr;
    b.tunnel_udp_sport = 0;
    b.tunnel_udp_dport = 0;
}

action set_binding_tunnel_ipv4(inout binding_t b, binding_id_t binding_id,
                               ipv4_addr_t src_addr, ipv4_addr_t dst_addr) {
    b.binding_id = binding_id;
    b.multi_coa = false;
    b.tunnel_type = TunnelType.IPV4;
    b.tunnel_src = IPV4_MAPPED_PREFIX ++ src_addr;
    b.tunnel_dst = IPV4_MAPPED_PREFIX ++ dst_addr;
    b.tunnel_udp_sport = 0;
    b.tunnel_udp_dport = 0;
}

/* RFC 5555 §4.1 (NAT traversal): UDP ports per binding. */
action set_binding_tunnel_udp(inout binding_t b, binding_id_t binding_id,
                              ipv4_addr_t src_addr, ipv4_addr_t dst_addr,
                              bit<16> src_port, bit<16> dst_port) {
    b.binding_id = binding_id;
    b.multi_coa = false;
    b.tunnel_type = TunnelType.UDP_IPV4;
    b.tunnel_src = IPV4_MAPPED_PREFIX ++ src_addr;
    b.tunnel_dst = IPV4_MAPPED_PREFIX ++ dst_addr;
    b.tunnel_udp_sport = src_port;
    b.tunnel_udp_dport = dst_port;
}

/* RFC 5648: several CoAs; `binding_peers` picks one per flow downlink,
 * `binding_coas` lists the ones accepted uplink. */
action set_multi_coa_binding(inout binding_t b, binding_id_t binding_id) {
    b.binding_id = binding_id;
    b.multi_coa = true;
    b.tunnel_type = TunnelType.NONE;
    b.tunnel_src = 0;
    b.tunnel_dst = 0;
    b.tunnel_udp_sport = 0;
    b.tunnel_udp_dport = 0;
}

/* RFC 5213 §5.3.5: a de-registered binding kept for MinDelayBeforeBCEDelete:
 * no CoA, so downlink is dropped (UNKNOWN_TUNNEL_PEER) and uplink refused. */
action set_binding_without_tunnel(inout binding_t b, binding_id_t binding_id) {
    b.binding_id = binding_id;
    b.multi_coa = false;
    b.tunnel_type = TunnelType.NONE;
    b.tunnel_src = 0;
    b.tunnel_dst = 0;
    b.tunnel_udp_sport = 0;
    b.tunnel_udp_dport = 0;
}

#endif
