// The routing-protocol id of routes learned over BGP.

/**
 * Routing-protocol id stamped on every route the BGP speaker installs (`rtm_protocol`), so
 * BGP kernel sync lists, reconciles and sweeps exactly its own routes. It is next to
 * TRELLIS_RT_PROTO (45, pod and node routes, src/netlink/constants.ts) but distinct, so each
 * reconciler owns its own set and neither deletes the other's. 46 (0x2e) is unused by the
 * kernel's RTPROT_* list (0-18, 42 babel, 99 openr, 186-192), iproute2's rt_protos, FRR's
 * rt_protos.d (186-197), BIRD (12), Calico (80) and Cilium.
 */
export const TRELLIS_BGP_RT_PROTO = 46;
