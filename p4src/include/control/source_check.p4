/* source_check.p4: the uplink source check of the LMA / HA role.
 * Rule (RFC 5213 §5.6.2, RFC 6275 §10.4.5, RFC 5555 §4.1; the Monami6 slides:
 * a reverse-tunnelled packet, or a tunnelled HoTI, is accepted when its outer
 * source is a care-of address of the binding, dropped otherwise): a packet
 * whose tunnel ended here (tunnel_termination.p4: the inner source's binding)
 * or whose ESP SA is bound to a home address and must come from one of its
 * CoAs (esp.p4, `to_crypto_port_from_coa`) names `check_home`; `uplink_sources`
 * finds that address's binding (its member of `binding_profile`, shared with
 * `bindings`) and `check_coa` must be that member's CoA (and, over UDP, its
 * port), or, for a binding with several CoAs (RFC 5648), one of its
 * `binding_coas`; else the packet is dropped and counted (SPOOFED_TUNNEL_SOURCE).
 * Applied once per packet, after esp.p4 and before the downlink lookup. */
#ifndef __SOURCE_CHECK_P4__
#define __SOURCE_CHECK_P4__

control SourceCheck(inout headers_t hdr,
                    inout local_metadata_t meta,
                    inout standard_metadata_t std) {

    action drop_spoofed_source() {
        meta.verdict = Verdict.DROP;
        meta.drop_reason = DropReason.SPOOFED_TUNNEL_SOURCE;
    }

    table uplink_sources {
        key = {
            meta.check_home : lpm @name("home_addr");
        }
        actions = {  // the same list as bindings (shared profile)
            set_binding_tunnel_ipv6(meta.binding);
            set_binding_tunnel_ipv4(meta.binding);
            set_binding_tunnel_udp(meta.binding);
            set_multi_coa_binding(meta.binding);
            set_binding_without_tunnel(meta.binding);
        }
        implementation = binding_profile;
        size = MAX_BINDINGS;
    }

    /* RFC 5648: any registered CoA of a multi-CoA binding may send. */
    action accept_coa() { }

    table binding_coas {
        key = {
            meta.binding.binding_id : exact @name("binding_id");
            meta.check_coa          : exact @name("coa");
        }
        actions = {
            accept_coa;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        size = MAX_BINDING_COAS;
    }

    apply {
        bool accepted = false;
        if (uplink_sources.apply().hit) {
            if (meta.binding.multi_coa) {
                if (binding_coas.apply().hit) {
                    accepted = true;
                }
            } else if (meta.binding.tunnel_type != TunnelType.NONE &&
                       meta.binding.tunnel_dst == meta.check_coa &&
                       (meta.binding.tunnel_type != TunnelType.UDP_IPV4 ||
                        meta.binding.tunnel_udp_dport == meta.check_sport)) {
                accepted = true;  // RFC 5213 §5.6.2 / RFC 5555 §4.1: from its CoA (and port)
            }
        }
        if (accepted) {
            meta.count_uplink = true;
            meta.uplink_binding_id = meta.binding.binding_id;
        } else {
            drop_spoofed_source();
        }
    }
}

#endif
