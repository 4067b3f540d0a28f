/* pool_steering.p4: several LMA switches behind one LMA address (docs/cluster.md).
 * Rule: each switch holds the entries of the bindings whose home prefix lies in
 * its own prefix pools. A tunnelled uplink packet to the LMA address whose inner
 * source lies in a pool another switch serves is sent on, still encapsulated, to
 * that switch (one entry per pool, not per MN): the serving switch terminates the
 * tunnel and checks the source there (RFC 5213 §5.6.2). A switch holds no entry
 * for its own pools, so a steered packet is never steered again. */
#ifndef __POOL_STEERING_P4__
#define __POOL_STEERING_P4__

control PoolSteering(inout headers_t hdr,
                     inout local_metadata_t meta,
                     inout standard_metadata_t std) {
    l3_addr_t inner_src = 0;

    action steer_to_switch(port_num_t port, mac_addr_t src_mac, mac_addr_t dst_mac) {
        std.egress_spec = port;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
        meta.egress_chosen = true;
        meta.steered = true;
    }

    direct_counter(CounterType.packets_and_bytes) pool_steering_counter;

    table pool_steering {
        key = {
            inner_src : lpm @name("home_addr");
        }
        actions = {
            steer_to_switch;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = pool_steering_counter;
        size = MAX_STEERED_POOLS;
    }

    apply {
        if (hdr.inner_ipv6.isValid()) {
            inner_src = hdr.inner_ipv6.src_addr;
        } else if (hdr.inner_ipv4.isValid()) {
            inner_src = IPV4_MAPPED_PREFIX ++ hdr.inner_ipv4.src_addr;
        }
        pool_steering.apply();
    }
}

#endif
