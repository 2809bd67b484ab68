// Loc-RIB changes -> kernel routes: the best path and its ECMP set become one (multipath)
// kernel route; local routes and paths we cannot forward over install nothing.
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
 * Next hops and one-hop lists are shared between routes: a full table has 100k routes over a
 * handful of next hops, and each route kept its own hop object and list for as long as it is
 * installed (kernel sync holds the desired routes). Bounded against next-hop churn.
 */
const sharedHops = new Map<string, KernelNextHop>();
const soloLists = new WeakMap<KernelNextHop, readonly KernelNextHop[]>();
const MAX_SHARED_HOPS = 4096;

function sharedHop(gateway: string, ifindex: number | undefined): KernelNextHop {
  const key = ifindex === undefined ? gateway : `${gateway}%${ifindex}`;
  let hop = sharedHops.get(key);
  if (hop === undefined) {
    if (sharedHops.size >= MAX_SHARED_HOPS) sharedHops.clear();
    hop = Object.freeze(ifindex === undefined ? { gateway } : { gateway, ifindex });
    sharedHops.set(key, hop);
  }
  return hop;
}

function soloList(hop: KernelNextHop): readonly KernelNextHop[] {
  let list = soloLists.get(hop);
  if (list === undefined) {
    list = Object.freeze([hop]);
    soloLists.set(hop, list);
  }
  return list;
}

/**
 * The gateway of one path. A link-local next hop, with the session's interface, is preferred to
 * the global one: it is the peer's own address on the shared link (RFC 2545 3), reachable
 * without any route, whereas the global one may sit on a subnet the kernel has no route to
 * (Linux does not resolve next hops recursively). A link-local next hop without an interface
 * is meaningless (RFC 4291 2.5.6) and never installed.
 */
function nextHopOf(path: ForwardingPath): KernelNextHop | undefined {
  if (path.linkLocalNextHop !== undefined && path.ifindex !== undefined) {
    return sharedHop(path.linkLocalNextHop, path.ifindex);
  }
  const global = path.nextHop;
  if (global === undefined || isUnusableGlobal(global)) return undefined;
  if (isLinkLocal(global)) return path.ifindex === undefined ? undefined : sharedHop(global, path.ifindex);
  return sharedHop(global, undefined);
}

/** The last one-path input and its list: consecutive changes of a full table share their next hop. */
let lastSolo: {
  nextHop?: string;
  linkLocalNextHop?: string;
  ifindex?: number;
  hops?: readonly KernelNextHop[];
} = {};

function nextHopsOf(paths: readonly ForwardingPath[]): readonly KernelNextHop[] | undefined {
  if (paths.length === 1) {
    const path = paths[0]!;
    const last = lastSolo;
    if (
      path.nextHop === last.nextHop &&
      path.linkLocalNextHop === last.linkLocalNextHop &&
      path.ifindex === last.ifindex
    ) {
      return last.hops;
    }
    const hop = nextHopOf(path);
    const hops = hop === undefined ? undefined : soloList(hop);
    lastSolo = {
      nextHop: path.nextHop,
      linkLocalNextHop: path.linkLocalNextHop,
      ifindex: path.ifindex,
      hops,
    };
    return hops;
  }
  const hops = paths.map(nextHopOf).filter((h): h is KernelNextHop => h !== undefined);
  return hops.length === 0 ? undefined : hops;
}

/** The kernel route for a change, or undefined when the prefix must not be in the kernel. */
export function kernelRouteOf(change: LocRibChange): KernelRoute | undefined {
  const best = change.paths[0];
  // Our own best route: the prefix is local (a pod block, a service range), never via BGP.
  if (best === undefined || best.nextHop === undefined) return undefined;
  const nextHops = nextHopsOf(change.paths);
  if (nextHops === undefined) return undefined;
  return { family: change.prefix.family === 'ipv4' ? 4 : 6, dst: change.key, nextHops };
}
