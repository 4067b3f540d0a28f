/* signaling.p4: Mobility Header signaling to this node goes to the controller.
 * Rule (RFC 6275 §9.2, RFC 5213 §5.3, RFC 5555 §4): an MH addressed to a local
 * address, native or inside IPv6 in UDP 4191, is punted with the outer IPv4
 * source and UDP port; so is a Mobile Prefix Solicitation (ICMPv6 146, RFC
 * 6275 §6.7) the crypto path decrypted (RFC 3776 §5.2.3: it comes in ESP; a
 * clear one is dropped here); ESP is left to esp.p4, tunnels to
 * tunnel_termination.p4; anything else addressed to the node is dropped
 * unless a punt rule took it. */
#ifndef __SIGNALING_P4__
#define __SIGNALING_P4__

control Signaling(inout headers_t hdr,
                  inout local_metadata_t meta,
                  inout standard_metadata_t std) {
    apply {
        bool native = !hdr.inner_ipv4.isValid() && !hdr.inner_ipv6.isValid();
        bool signaling = (hdr.mh.isValid() || hdr.esp.isValid()) &&
                         (native || meta.sig_in_udp);
        bool solicitation = meta.from_crypto &&
            ((native && hdr.icmp.isValid() && meta.l4_proto == PROTO_ICMPV6 &&
              hdr.icmp.icmp_type == ICMPV6_MOBILE_PREFIX_SOLICITATION) ||
             (meta.sig_in_udp && hdr.inner_icmp.isValid() &&
              hdr.inner_icmp.icmp_type == ICMPV6_MOBILE_PREFIX_SOLICITATION));
        if (meta.to_local) {
            if (solicitation) {
                meta.verdict = Verdict.PUNT;
                meta.punt_reason = PuntReason.PREFIX_SOLICITATION_DECRYPTED;
            } else if (signaling && hdr.mh.isValid()) {
                meta.verdict = Verdict.PUNT;
                if (meta.from_crypto) {
                    meta.punt_reason = PuntReason.MOBILITY_HEADER_DECRYPTED;
                } else if (meta.sig_in_udp) {
                    meta.punt_reason = PuntReason.MOBILITY_HEADER_UDP;
                } else {
                    meta.punt_reason = PuntReason.MOBILITY_HEADER;
                }
            } else if (signaling && hdr.esp.isValid() && !meta.from_crypto) {
                /* esp_sas decides */
            } else if (meta.encap_kind != EncapKind.NONE && !signaling && !meta.sig_in_udp) {
                /* tunnel_terminations decides */
            } else {
                meta.verdict = Verdict.DROP;
                meta.drop_reason = DropReason.LOCAL_UNHANDLED;
            }
        }
    }
}

#endif
