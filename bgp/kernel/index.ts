// BGP kernel sync: Loc-RIB best paths (ECMP as multipath) into the kernel with our protocol id.
export { KernelRouteError } from './errors.js';
export type { NextHopTable } from './next-hop-objects.js';
export { TRELLIS_BGP_RT_PROTO } from './protocol.js';
export type { KernelNextHop, KernelRoute } from './routes.js';
export { findSessionInterface, type SessionInterface, sessionInterfaceOf } from './session-interface.js';
export {
  type KernelFlushResult,
  KernelSync,
  type KernelSyncOptions,
  type KernelSyncStats,
  type LinkChanges,
  type RouteTable,
} from './sync.js';
