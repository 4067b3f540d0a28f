/* routing.p4: plain IPv6 / IPv4 routing on the outermost destination.
 * Rule: LPM on the destination (IPv4 mapped) to a port and next-hop MACs;
 * no route means drop and count. Runs after encapsulation, so a tunnelled
 * packet is routed towards its tunnel peer. */
#ifndef __ROUTING_P4__
#define __ROUTING_P4__

control Routing(inout headers_t hdr,
                inout local_metadata_t meta,
                inout standard_metadata_t std) {
    l3_addr_t route_dst = 0;

    action set_next_hop(port_num_t port, mac_addr_t src_mac, mac_addr_t dst_mac) {
        std.egress_spec = port;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
    }

    action drop_no_route() {
        meta.verdict = Verdict.DROP;
        meta.drop_reason = DropReason.NO_ROUTE;
    }

    direct_counter(CounterType.packets_and_bytes) routes_counter;

    table routes {
        key = {
            route_dst : lpm @name("dst_addr");
        }
        actions = {
            set_next_hop;
            @defaultonly drop_no_route;
        }
        const default_action = drop_no_route();
        counters = routes_counter;
        size = MAX_ROUTES;
    }

    apply {
        if (hdr.tun_ipv6.isValid()) {
            route_dst = hdr.tun_ipv6.dst_addr;
        } else if (hdr.tun_ipv4.isValid()) {
            route_dst = IPV4_MAPPED_PREFIX ++ hdr.tun_ipv4.dst_addr;
        } else if (hdr.ipv6.isValid()) {
            route_dst = hdr.ipv6.dst_addr;
        } else if (hdr.ipv4.isValid()) {
            route_dst = IPV4_MAPPED_PREFIX ++ hdr.ipv4.dst_addr;
        }
        if (hdr.ipv6.isValid() || hdr.ipv4.isValid()) {
            routes.apply();
        } else {
            drop_no_route();  // not IP: only a punt rule could have taken it
        }
    }
}

#endif
