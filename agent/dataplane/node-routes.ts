// Node routes in host-gw mode: what the kernel should hold so pods on other nodes are reachable
// without BGP on a flat L2 network (like Flannel's host-gw). Pure calculation, separate from
// programming it (Felix's split): blackholes for our own blocks, so unallocated addresses are
// dropped instead of following the default route out of the node, a route via the owning node
// for every other block, and a /32 (/128) via the borrowing node for every borrowed address.
//
// Trellis marks every route with TRELLIS_RT_PROTO. "Node routes" are the blackholes and
// gateway routes; the dev-only scope-link routes to local pods belong to the pod interfaces
// (pod-interface.ts). The two sets never overlap, so each side reconciles only its own.

import { parseAddress, parsePrefix } from '../../src/net/index.js';
import type { RouteBatchOp, RouteInfo, RouteSpec } from '../../src/netlink/index.js';
import { TRELLIS_RT_PROTO } from '../../src/netlink/index.js';
import type { IPAMBlockSpec } from '../ipam/types.js';

export interface NodeAddresses {
  /** Bare addresses (no prefix length). */
  ipv4?: string;
  ipv6?: string;
}

export interface NodeRouteInputs {
  /** This node. */
  node: string;
  /** Every node's fabric addresses, by node name (this node included or not). */
  nodes: ReadonlyMap<string, NodeAddresses>;
  blocks: readonly IPAMBlockSpec[];
}

export type NodeRoute =
  | { family: 4 | 6; dst: string; kind: 'blackhole' }
  | { family: 4 | 6; dst: string; kind: 'via'; gateway: string; node: string };

const nodeAddress = (addrs: NodeAddresses | undefined, family: 4 | 6): string | undefined =>
  family === 4 ? addrs?.ipv4 : addrs?.ipv6;

/**
 * The node routes this node should have, sorted by destination. Blocks or borrowed addresses of
 * nodes with no address of the block's family are left out (nothing to route them through).
 */
export function desiredNodeRoutes(input: NodeRouteInputs): NodeRoute[] {
  const routes = new Map<string, NodeRoute>();
  for (const block of input.blocks) {
    const prefix = parsePrefix(block.cidr);
    const family = prefix.family;
    if (block.affinity === input.node) {
      routes.set(block.cidr, { family, dst: block.cidr, kind: 'blackhole' });
    } else if (block.affinity !== null) {
      const gateway = nodeAddress(input.nodes.get(block.affinity), family);
      if (gateway !== undefined) {
        routes.set(block.cidr, { family, dst: block.cidr, kind: 'via', gateway, node: block.affinity });
      }
    }
    for (const alloc of block.allocations) {
      const holder = alloc.attributes?.node;
      // An address used by the block's own node is covered by the block route; one used here
      // has a dev route to its veth from the pod interface code.
      if (holder === undefined || holder === block.affinity || holder === input.node) continue;
      const gateway = nodeAddress(input.nodes.get(holder), family);
      if (gateway === undefined) continue;
      const dst = `${prefix.addressAt(alloc.ordinal)}/${prefix.bits}`;
      routes.set(dst, { family, dst, kind: 'via', gateway, node: holder });
    }
  }
  return [...routes.values()].sort((a, b) => compareDst(a.dst, b.dst));
}

function compareDst(a: string, b: string): number {
  const pa = parsePrefix(a);
  const pb = parsePrefix(b);
  return pa.family - pb.family || pa.compare(pb);
}

export function toRouteSpec(route: NodeRoute): RouteSpec {
  if (route.kind === 'blackhole') {
    return { family: route.family, dst: route.dst, type: 'blackhole', protocol: TRELLIS_RT_PROTO };
  }
  return { family: route.family, dst: route.dst, gateway: route.gateway, protocol: TRELLIS_RT_PROTO };
}

/** A kernel route of ours that the node-route reconciler owns (see the header comment). */
export function isNodeRoute(r: RouteInfo): boolean {
  return r.protocol === TRELLIS_RT_PROTO && (r.type === 'blackhole' || r.gateway !== undefined);
}

const sameRoute = (want: RouteSpec, have: RouteInfo): boolean =>
  (want.type ?? 'unicast') === have.type &&
  (want.gateway === undefined
    ? have.gateway === undefined
    : have.gateway !== undefined && parseAddress(have.gateway).equals(parseAddress(want.gateway)));

/**
 * The batch that turns `current` (our node routes in the kernel) into `desired`: replace what is
 * missing or different, delete what is no longer wanted; nothing for routes already right.
 */
export function diffNodeRoutes(desired: readonly NodeRoute[], current: readonly RouteInfo[]): RouteBatchOp[] {
  // Keyed on the canonical prefix: the kernel's spelling of an IPv6 prefix need not be ours.
  const key = (dst: string): string => parsePrefix(dst).toString();
  const have = new Map(current.filter(isNodeRoute).map((r) => [key(r.dst), r]));
  const ops: RouteBatchOp[] = [];
  for (const route of desired) {
    const spec = toRouteSpec(route);
    const existing = have.get(key(route.dst));
    have.delete(key(route.dst));
    if (existing === undefined || !sameRoute(spec, existing)) ops.push({ op: 'replace', route: spec });
  }
  for (const stale of have.values()) {
    ops.push({
      op: 'delete',
      route: { family: stale.family, dst: stale.dst, type: stale.type, protocol: TRELLIS_RT_PROTO },
    });
  }
  return ops;
}
