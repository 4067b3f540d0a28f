/* mobility.p4: one v1model program for the LMA / HA, MAG and access roles;
 * roles differ only by table entries. This file only includes, instantiates
 * and applies; each feature lives in include/control/. */
#include <core.p4>
#include <v1model.p4>

#include "include/define.p4"
#include "include/size.p4"
#include "include/header.p4"
#include "include/parser.p4"
#include "include/binding_profile.p4"
#include "include/control/packetio.p4"
#include "include/control/classifier.p4"
#include "include/control/signaling.p4"
#include "include/control/pool_steering.p4"
#include "include/control/tunnel_termination.p4"
#include "include/control/esp.p4"
#include "include/control/source_check.p4"
#include "include/control/mag_access.p4"
#include "include/control/bindings.p4"
#include "include/control/tunnel_peers.p4"
#include "include/control/routing.p4"

control MobilityIngress(inout headers_t hdr,
                        inout local_metadata_t meta,
                        inout standard_metadata_t std) {
    PacketIoIn()        packetio;
    Classifier()        classifier;
    Signaling()         signaling;
    PoolSteering()      pool_steering;
    TunnelTermination() tunnel_termination;
    Esp()               esp;
    SourceCheck()       source_check;
    MagAccess()         mag_access;
    Bindings()          bindings;
    TunnelPeers()       tunnel_peers;
    Routing()           routing;
    Dispatch()          dispatch;

    apply {
        if (std.parser_error != error.NoError) {
            meta.verdict = Verdict.DROP;
            meta.drop_reason = DropReason.PARSER_ERROR;
            hdr.packet_out.setInvalid();
        } else if (std.checksum_error == 1) {
            meta.verdict = Verdict.DROP;
            meta.drop_reason = DropReason.IPV4_CHECKSUM;
            hdr.packet_out.setInvalid();
        } else {
            packetio.apply(hdr, meta, std);
        }
        if (meta.verdict == Verdict.FORWARD) {
            classifier.apply(hdr, meta, std);
        }
        if (meta.verdict == Verdict.FORWARD) {
            signaling.apply(hdr, meta, std);
        }
        if (meta.verdict == Verdict.FORWARD && meta.encap_kind != EncapKind.NONE &&
                !meta.from_cpu && !(meta.sig_in_udp && meta.to_local)) {
            if (meta.to_local && !meta.esp_in_tunnel) {
                pool_steering.apply(hdr, meta, std);  // another switch serves the inner source
            }
            if (!meta.steered) {
                tunnel_termination.apply(hdr, meta, std);
            }
        }
        if (meta.verdict == Verdict.FORWARD && !meta.steered) {
            esp.apply(hdr, meta, std);
        }
        if (meta.verify_source && meta.verdict != Verdict.DROP) {
            source_check.apply(hdr, meta, std);
        }
        if (meta.verdict == Verdict.FORWARD && !meta.steered) {
            mag_access.apply(hdr, meta, std);
            if (!meta.has_tunnel_peer && !meta.egress_chosen) {
                bindings.apply(hdr, meta, std);
            }
            tunnel_peers.apply(hdr, meta, std);  // encapsulates if a tunnel was chosen
        }
        if (meta.verdict == Verdict.FORWARD && !meta.egress_chosen) {
            routing.apply(hdr, meta, std);
        }
        dispatch.apply(hdr, meta, std);
    }
}

control MobilityEgress(inout headers_t hdr,
                       inout local_metadata_t meta,
                       inout standard_metadata_t std) {
    apply { }
}

V1Switch(MobilityParser(),
         MobilityVerifyChecksum(),
         MobilityIngress(),
         MobilityEgress(),
         MobilityComputeChecksum(),
         MobilityDeparser()) main;
