/* packetio.p4: what enters from the controller or the crypto path, and what
 * finally leaves the ingress pipeline.
 * Rule: PacketIoIn runs first and only strips/validates the controller and
 * crypto headers; Dispatch runs last and is the only place that adds
 * packet_in / crypto_meta, decrements the hop limit, counts and drops. */
#ifndef __PACKETIO_P4__
#define __PACKETIO_P4__

control PacketIoIn(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t std) {
    apply {
        meta.ingress_port = std.ingress_port;
        if (hdr.packet_out.isValid()) {
            meta.from_cpu = true;
            meta.node_originated = true;
            if (hdr.packet_out.through_pipeline == 0) {
                std.egress_spec = hdr.packet_out.egress_port;
                meta.verdict = Verdict.DIRECT;
            }
            hdr.packet_out.setInvalid();
        } else if (std.ingress_port == CRYPTO_PORT) {
            /* Only results come back from the crypto path. */
            if (hdr.crypto_meta.isValid() &&
                    (hdr.crypto_meta.direction == (bit<8>)CryptoDirection.DECRYPTED ||
                     hdr.crypto_meta.direction == (bit<8>)CryptoDirection.ENCRYPTED)) {
                meta.from_crypto = true;
                meta.crypto_direction = (CryptoDirection)hdr.crypto_meta.direction;
                meta.node_originated =
                    hdr.crypto_meta.direction == (bit<8>)CryptoDirection.ENCRYPTED;
                meta.sa_index = hdr.crypto_meta.sa_index;
                meta.ingress_port = hdr.crypto_meta.port;
                meta.flow = hdr.crypto_meta.flow;
                hdr.ethernet.ether_type = hdr.crypto_meta.ether_type;
                hdr.crypto_meta.setInvalid();
            } else {
                meta.verdict = Verdict.DROP;
                meta.drop_reason = DropReason.BAD_CRYPTO_META;
            }
        } else if (hdr.crypto_meta.isValid()) {
            meta.verdict = Verdict.DROP;
            meta.drop_reason = DropReason.BAD_CRYPTO_META;
        }
    }
}

control Dispatch(inout headers_t hdr,
                 inout local_metadata_t meta,
                 inout standard_metadata_t std) {
    counter(DROP_REASONS, CounterType.packets_and_bytes) drop_counter;
    counter(MAX_BINDINGS, CounterType.packets_and_bytes) binding_uplink_counter;
    counter(MAX_BINDINGS, CounterType.packets_and_bytes) binding_downlink_counter;

    @hidden
    action drop_hop_limit_exceeded() {
        meta.verdict = Verdict.DROP;
        meta.drop_reason = DropReason.HOP_LIMIT_EXCEEDED;
    }

    apply {
        /* A forwarded packet (also one handed to the crypto path to be
         * encrypted) loses one hop; packets the node originates do not. */
        if (!meta.node_originated &&
                (meta.verdict == Verdict.FORWARD ||
                 (meta.verdict == Verdict.CRYPTO &&
                  meta.crypto_direction == CryptoDirection.ENCRYPT))) {
            if (hdr.ipv6.isValid()) {
                if (hdr.ipv6.hop_limit <= 1) {
                    drop_hop_limit_exceeded();
                } else {
                    hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
                }
            } else if (hdr.ipv4.isValid()) {
                if (hdr.ipv4.ttl <= 1) {
                    drop_hop_limit_exceeded();
                } else {
                    hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
                }
            }
        }

        if (meta.verdict == Verdict.DROP) {
            drop_counter.count((bit<32>)(bit<8>)meta.drop_reason);
            mark_to_drop(std);
            /* Nothing of a dropped packet is deparsed; undo pushed headers
             * anyway so no later change can leak them. */
            hdr.tun_ipv4.setInvalid();
            hdr.tun_ipv6.setInvalid();
            hdr.tun_udp.setInvalid();
        } else {
            if (meta.count_uplink && meta.uplink_binding_id < MAX_BINDINGS) {
                binding_uplink_counter.count(meta.uplink_binding_id);
            }
            if (meta.count_downlink && meta.downlink_binding_id < MAX_BINDINGS) {
                binding_downlink_counter.count(meta.downlink_binding_id);
            }
            if (meta.verdict == Verdict.PUNT) {
                hdr.packet_in.setValid();
                hdr.packet_in.ingress_port = meta.ingress_port;
                hdr.packet_in._pad0 = 0;
                hdr.packet_in.punt_reason = (bit<8>)meta.punt_reason;
                hdr.packet_in.outer_ipv4_src = hdr.ipv4.isValid() ? hdr.ipv4.src_addr : 0;
                hdr.packet_in.udp_src_port = hdr.udp.isValid() ? hdr.udp.src_port : 0;
                hdr.packet_in.spi = hdr.esp.isValid() ? hdr.esp.spi : 0;
                hdr.packet_in.sa_index = meta.from_crypto ? meta.sa_index : 0;
                std.egress_spec = CPU_PORT;
            } else if (meta.verdict == Verdict.CRYPTO) {
                hdr.crypto_meta.setValid();
                hdr.crypto_meta.sa_index = meta.sa_index;
                hdr.crypto_meta.direction = (bit<8>)meta.crypto_direction;
                /* RFC 5648: the flow of a packet about to be encrypted, so the tunnel-mode
                 * result can still be placed per flow on one of a binding's CoAs */
                hdr.crypto_meta.flow = meta.crypto_direction == CryptoDirection.ENCRYPT ?
                    meta.l4_sport[7:0] ^ meta.l4_sport[15:8] ^ meta.l4_dport[7:0] ^ meta.l4_dport[15:8] : 8w0;
                hdr.crypto_meta._pad0 = 0;
                hdr.crypto_meta.port = meta.ingress_port;
                hdr.crypto_meta.ether_type = hdr.ethernet.ether_type;
                hdr.ethernet.ether_type = ETHERTYPE_CRYPTO_META;
                std.egress_spec = CRYPTO_PORT;
            }
        }
    }
}

#endif
