// Loc-RIB changes -> kernel routes: the best path and its ECMP set become one (multipath)
// kernel route; local routes and paths we cannot forward over install nothing.
import { formatPrefix } from '../codec/index.js';
import type { KernelNextHop, KernelRoute } from '../kernel/index.js';
import type { ForwardingPath, LocRibChange } from './ports.js';

function nextHopOf(path: ForwardingPath): KernelNextHop | undefined {
  // A link-local next hop is only usable with the session's interface (RFC 2545 3).
  if (path.linkLocalNextHop !== undefined && path.ifindex !== undefined) {
    return { gateway: path.linkLocalNextHop, ifindex: path.ifindex };
  }
  if (path.nextHop === undefined) return undefined;
  return { gateway: path.nextHop };
}

/** The kernel route for a change, or undefined when the prefix must not be in the kernel. */
export function kernelRouteOf(change: LocRibChange): KernelRoute | undefined {
  const best = change.paths[0];
  // Our own best route: the prefix is local (a pod block, a service range), never via BGP.
  if (best === undefined || best.nextHop === undefined) return undefined;
  const nextHops = change.paths.map(nextHopOf).filter((h): h is KernelNextHop => h !== undefined);
  if (nextHops.length === 0) return undefined;
  return { family: change.prefix.family === 'ipv4' ? 4 : 6, dst: formatPrefix(change.prefix), nextHops };
}
