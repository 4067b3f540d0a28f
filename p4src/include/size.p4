/* size.p4: every table and counter size, for 100,000 bindings.
 * Rule: no literal size appears anywhere else. */
#ifndef __SIZE_P4__
#define __SIZE_P4__

#define MAX_BINDINGS            100000   // HNP / HoA entries of `bindings` and `uplink_sources`;
                                         // binding_profile members; per-binding counter size
#define MAX_MULTI_COA_BINDINGS  16384    // bindings with several CoAs (RFC 5648)
#define MAX_BINDING_PEER_MEMBERS 65536   // selector members: one per (binding, CoA)
#define MAX_BINDING_COAS        65536    // (binding, CoA) pairs of multi-CoA bindings, checked on decap
#define MAX_TUNNEL_PEERS        131072   // CoAs / Proxy-CoAs / LMAs
#define MAX_SAS                 262144   // ESP SAs (a few per mobile node)
#define MAX_SPD_ENTRIES         131072   // outbound policies (host-wide ones per HoA)
#define MAX_LOCAL_ADDRESSES     1024
#define MAX_PUNT_RULES          256
#define MAX_ROUTES              16384
#define MAX_MAG_ENTRIES         100000   // MAG access uplinks / downlinks
#define MAX_STEERED_POOLS       1024     // pool_steering: prefix pools other LMA switches serve
#define DROP_REASONS            256

#endif
