// Loc-RIB changes -> kernel routes: the best path and its ECMP set become one (multipath)
// kernel route; local routes and paths we cannot forward over install nothing.
import { formatPrefix } from '../codec/index.js';
import type { KernelNextHop, KernelRoute } from '../kernel/index.js';
import type { ForwardingPath, LocRibChange } from './ports.js';

const isLinkLocal = (address: string): boolean => /^fe[89ab][0-9a-f]:/i.test(address);

/**
 * Next hops the kernel cannot use as an IPv6 gateway on its own: the unspecified address (sent
 * as the global part beside a link-local one) and IPv4-mapped addresses (GoBGP's IPv6 next
 * hop on an IPv4 session): neither is a neighbour on any link.
 */
const isUnusableGlobal = (address: string): boolean => address === '::' || /^::ffff:/i.test(address);

/**
 * The gateway of one path. A link-local next hop, with the session's interface, is preferred to
 * the global one: it is the peer's own address on the shared link (RFC 2545 3), reachable
 * without any route, whereas the global one may sit on a subnet the kernel has no route to
 * (Linux does not resolve next hops recursively). A link-local next hop without an interface
 * is meaningless (RFC 4291 2.5.6) and never installed.
 */
function nextHopOf(path: ForwardingPath): KernelNextHop | undefined {
  if (path.linkLocalNextHop !== undefined && path.ifindex !== undefined) {
    return { gateway: path.linkLocalNextHop, ifindex: path.ifindex };
  }
  const global = path.nextHop;
  if (global === undefined || isUnusableGlobal(global)) return undefined;
  if (isLinkLocal(global))
    return path.ifindex === undefined ? undefined : { gateway: global, ifindex: path.ifindex };
  return { gateway: global };
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
