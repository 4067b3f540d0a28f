/* esp.p4: SPI classification (inbound) and the outbound SPD.
 * Rule (RFC 4303 §3.4.2, RFC 4301 §4.4.1, draft-laganier req. 2): ESP to a
 * local address is looked up by (destination, SPI): crypto path, controller,
 * or drop-and-count when the SPI is unknown. An SA bound to a home address
 * whose packets must come from one of its care-of addresses (tunnelled HoTI,
 * RFC 3776 §5.2.2; the Monami6 slides) names that home address, and
 * source_check.p4 compares the outer source with the binding's CoAs before
 * the crypto path sees the packet. Any other packet the node
 * forwards or originates is matched against the ordered SPD (ternary with
 * priorities on src, dst, protocol, MH type, ICMP type; HoA from HAO / RH2 when present;
 * for IPv6 signalling inside a DSMIPv6 IPv4/UDP-4191 wrapper, the inner IPv6
 * packet's, since the wrapper stays outside IPsec, RFC 5555 §4.1):
 * PROTECT goes to the crypto path, BYPASS continues, DISCARD drops.
 * What the crypto path hands back is never classified again. */
#ifndef __ESP_P4__
#define __ESP_P4__

control Esp(inout headers_t hdr,
            inout local_metadata_t meta,
            inout standard_metadata_t std) {

    /* Shared by both tables: the direction is set before each lookup. */
    action to_crypto_port(sa_index_t sa_index) {
        meta.verdict = Verdict.CRYPTO;
        meta.sa_index = sa_index;
    }

    /* ---- inbound: SAD by (dst, SPI) ---- */
    action punt_signaling_esp() {
        meta.verdict = Verdict.PUNT;
        meta.punt_reason = PuntReason.ESP_SIGNALING;
    }

    /* RFC 3776 §5.2.2, Monami6: accepted only from a CoA of home_addr's binding */
    bool from_coa = false;
    l3_addr_t sa_home = 0;

    action to_crypto_port_from_coa(sa_index_t sa_index, ipv6_addr_t home_addr) {
        meta.verdict = Verdict.CRYPTO;
        meta.sa_index = sa_index;
        from_coa = true;
        sa_home = home_addr;
    }

    action drop_unknown_spi() {
        meta.verdict = Verdict.DROP;
        meta.drop_reason = DropReason.UNKNOWN_SPI;
    }

    direct_counter(CounterType.packets_and_bytes) esp_sas_counter;

    table esp_sas {
        key = {
            meta.sig_dst : exact @name("dst_addr");
            hdr.esp.spi  : exact @name("spi");
        }
        actions = {
            to_crypto_port;
            to_crypto_port_from_coa;
            punt_signaling_esp;
            @defaultonly drop_unknown_spi;
        }
        const default_action = drop_unknown_spi();
        counters = esp_sas_counter;
        size = MAX_SAS;
    }

    /* ---- outbound: SPD ---- */
    action bypass() {
    }

    action discard() {
        meta.verdict = Verdict.DROP;
        meta.drop_reason = DropReason.SPD_DISCARD;
    }

    l3_addr_t spd_src = 0;
    l3_addr_t spd_dst = 0;
    bit<8>    spd_proto = 0;
    bit<8>    spd_icmp_type = 0;

    direct_counter(CounterType.packets_and_bytes) outbound_policies_counter;

    table outbound_policies {
        key = {
            spd_src       : ternary @name("src_addr");
            spd_dst       : ternary @name("dst_addr");
            spd_proto     : ternary @name("ip_proto");
            meta.mh_type  : ternary @name("mh_type");
            spd_icmp_type : ternary @name("icmp_type");  // RFC 4301 §4.4.1.1: ICMP type
        }
        actions = {
            to_crypto_port;
            bypass;
            discard;
        }
        default_action = bypass();
        counters = outbound_policies_counter;
        size = MAX_SPD_ENTRIES;
    }

    apply {
        if (meta.to_local) {
            /* Signaling reaches here only as ESP to a local address. */
            meta.crypto_direction = CryptoDirection.DECRYPT;
            esp_sas.apply();
            if (from_coa && !meta.verify_source) {  // a tunnel ending here checked it already
                meta.verify_source = true;
                meta.check_home = sa_home;
                meta.check_coa = meta.l3_src;
                meta.check_sport = hdr.udp.isValid() ? hdr.udp.src_port : 16w0;
            }
        } else if (!meta.from_crypto) {
            /* RFC 3776 §5: selectors name the home address, not the CoA. */
            spd_src = meta.l3_src;
            spd_dst = meta.l3_dst;
            spd_proto = meta.l4_proto;
            spd_icmp_type = meta.icmp_type;
            if (meta.sig_in_udp && hdr.inner_ipv6.isValid()) {
                /* RFC 5555 §4.1: the IPv4/UDP wrapper is outside IPsec (a BA to a NAT) */
                spd_src = hdr.inner_ipv6.src_addr;
                spd_dst = hdr.inner_ipv6.dst_addr;
                spd_proto = hdr.inner_ipv6.next_hdr;
                spd_icmp_type = hdr.inner_icmp.isValid() ? hdr.inner_icmp.icmp_type : 8w0;
            }
            if (hdr.dest_opts_ext.isValid() && hdr.dest_opts.options == HAO_LAYOUT) {
                spd_src = hdr.dest_opts_ext.data;
            }
            if (hdr.rh2.isValid()) {
                spd_dst = hdr.rh2.home_addr;
            }
            meta.crypto_direction = CryptoDirection.ENCRYPT;
            outbound_policies.apply();
        }
    }
}

#endif
