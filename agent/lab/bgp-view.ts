// What BGP looks like in a lab cluster with a ToR: each node's sessions and learned routes (from
// its agent's control socket) and the ToR's table (from FRR), and whether it has converged:
// the ToR and every node hold every other node's pod blocks.

import {
  ControlClientError,
  controlRequest,
  type PeerStatus,
  type RouteStatus,
} from '../../bgp/speaker/index.js';
import type { IPAMBlock } from '../../src/resources/index.js';
import type { Cluster } from './cluster.js';
import type { TorRoute, TorSession } from './tor.js';

/** A best path a node's speaker learned from a peer. */
export interface LearnedRoute {
  prefix: string;
  nextHop: string;
  asPath: number[];
}

export interface NodeBgpView {
  node: string;
  asNumber: number | undefined;
  sessions: PeerStatus[];
  learned: LearnedRoute[];
}

export interface BgpView {
  nodes: NodeBgpView[];
  tor: { asNumber: number; sessions: TorSession[]; routes: TorRoute[] };
}

/** A pod block and the node it belongs to. */
export interface NodeBlock {
  cidr: string;
  node: string;
}

/** The best paths a speaker learned from its peers (its own announcements left out). */
export function learnedRoutes(routes: readonly RouteStatus[]): LearnedRoute[] {
  return routes.flatMap((r) =>
    r.paths
      .filter((p) => p.best && p.from !== 'local')
      .map((p) => ({ prefix: r.prefix, nextHop: p.nextHop, asPath: [...p.asPath] })),
  );
}

/**
 * What the view still lacks, one line each: a block missing from the ToR or not learned from
 * the block's own node's AS, a block of another node missing on a node.
 */
export function missingRoutes(view: BgpView, blocks: readonly NodeBlock[]): string[] {
  const asOf = new Map(view.nodes.map((n) => [n.node, n.asNumber]));
  const missing: string[] = [];
  for (const b of blocks) {
    const onTor = view.tor.routes.find((r) => r.prefix === b.cidr);
    if (onTor === undefined || onTor.asPath[0] !== asOf.get(b.node)) {
      missing.push(`tor: ${b.cidr} from ${b.node}`);
    }
    for (const n of view.nodes) {
      if (n.node !== b.node && !n.learned.some((r) => r.prefix === b.cidr)) {
        missing.push(`${n.node}: ${b.cidr} of ${b.node}`);
      }
    }
  }
  return missing;
}

/** Pod blocks with an owner, from the cluster's datastore. */
export async function nodeBlocks(cluster: Cluster): Promise<NodeBlock[]> {
  const blocks = await cluster.datastore.list<IPAMBlock>('IPAMBlock');
  return blocks.items.flatMap((b) =>
    b.spec.affinity === null ? [] : [{ cidr: b.spec.cidr, node: b.spec.affinity }],
  );
}

export async function readBgpView(cluster: Cluster): Promise<BgpView> {
  const tor = cluster.tor;
  if (tor === undefined) throw new Error('the cluster has no ToR');
  const nodes = await Promise.all(
    cluster.nodes.map(async (n) => ({
      node: n.name,
      asNumber: n.asNumber,
      sessions: (await controlRequest(n.bgpSocket, { method: 'peers' })) as PeerStatus[],
      learned: learnedRoutes((await controlRequest(n.bgpSocket, { method: 'routes' })) as RouteStatus[]),
    })),
  );
  const [v4, v6, sessions] = await Promise.all([tor.routes('ipv4'), tor.routes('ipv6'), tor.sessions()]);
  return { nodes, tor: { asNumber: tor.asNumber, sessions, routes: [...v4, ...v6] } };
}

/** Polls until nothing is missing; rejects with what is still missing after `timeoutMs`. */
export async function waitForBgp(cluster: Cluster, timeoutMs: number): Promise<BgpView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const blocks = await nodeBlocks(cluster);
    let missing: string[];
    try {
      const view = await readBgpView(cluster);
      missing = missingRoutes(view, blocks);
      if (missing.length === 0) return view;
    } catch (err) {
      // An agent whose speaker has not started yet has no control socket.
      if (!(err instanceof ControlClientError)) throw err;
      missing = [err.message];
    }
    if (Date.now() > deadline) {
      throw new Error(`BGP did not converge in ${timeoutMs} ms; missing:\n${missing.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
