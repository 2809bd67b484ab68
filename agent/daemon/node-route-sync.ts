// Keeps this node's host-gw routes equal to what the datastore says (agent/dataplane/node-routes.ts
// decides, this file watches and programs). Every change is coalesced into one recomputation and
// one batched netlink exchange; a periodic full resync repairs routes someone else removed.
import type { Datastore } from '../../src/datastore/types.js';
import type { Logger } from '../../src/log.js';
import { parseInterfaceAddress } from '../../src/net/index.js';
import type { RouteNetlink } from '../../src/netlink/index.js';
import { TRELLIS_RT_PROTO } from '../../src/netlink/index.js';
import type { TrellisNode } from '../../src/resources/index.js';
import { desiredNodeRoutes, diffNodeRoutes, type NodeAddresses } from '../dataplane/node-routes.js';
import { type IPAMBlock, KIND_BLOCK } from '../ipam/types.js';
import { CoalescedTask, startReconcileLoop } from './coalesce.js';
import type { AgentMetrics } from './metrics.js';

export interface NodeRouteSyncOptions {
  node: string;
  datastore: Datastore;
  netlink: RouteNetlink;
  log: Logger;
  metrics?: AgentMetrics;
  /**
   * Only this node's own-block blackholes; nothing toward other nodes. With BGP in the agent
   * the speaker routes other nodes' blocks and borrowed addresses (protocol 46), and a
   * host-gw route beside it would be a second, unconditional path.
   */
  localOnly?: boolean;
  /** Full resync period. Default 30 s. */
  resyncMs?: number;
  /** How long changes are gathered before one recomputation. Default 20 ms. */
  coalesceMs?: number;
}

export interface SyncReport {
  replaced: number;
  deleted: number;
  failed: number;
}

export class NodeRouteSync {
  readonly #o: NodeRouteSyncOptions;
  readonly #task: CoalescedTask;
  #loop: { stop(): void } | undefined;
  /** Resolves once the first sync has programmed the kernel (for readiness). */
  readonly synced: Promise<void>;
  #markSynced: () => void = () => {};

  constructor(opts: NodeRouteSyncOptions) {
    this.#o = opts;
    this.synced = new Promise((resolve) => {
      this.#markSynced = resolve;
    });
    this.#task = new CoalescedTask(() => this.syncOnce(), {
      delayMs: opts.coalesceMs ?? 20,
      minIntervalMs: 0,
      onError: (err) => {
        opts.metrics?.errors.inc({ component: 'routes' });
        opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'route sync failed');
      },
    });
  }

  start(): void {
    this.#loop = startReconcileLoop({
      datastore: this.#o.datastore,
      kinds: [KIND_BLOCK, 'TrellisNode'],
      task: this.#task,
      resyncMs: this.#o.resyncMs ?? 30_000,
      log: this.#o.log,
    });
  }

  stop(): void {
    this.#loop?.stop();
    this.#task.stop();
  }

  /** One full reconciliation; also what tests call to wait for convergence. */
  async syncOnce(): Promise<SyncReport> {
    const { datastore, netlink, node, log } = this.#o;
    const [blocks, nodes] = await Promise.all([
      datastore.list<IPAMBlock>(KIND_BLOCK),
      datastore.list<TrellisNode>('TrellisNode'),
    ]);
    const addresses = new Map<string, NodeAddresses>();
    for (const n of nodes.items) addresses.set(n.metadata.name, bareAddresses(n));
    const all = desiredNodeRoutes({ node, nodes: addresses, blocks: blocks.items.map((b) => b.spec) });
    const desired = this.#o.localOnly ? all.filter((r) => r.kind === 'blackhole') : all;
    const current = [
      ...netlink.listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO }),
      ...netlink.listRoutes({ family: 6, protocol: TRELLIS_RT_PROTO }),
    ];
    const ops = diffNodeRoutes(desired, current);
    const report: SyncReport = { replaced: 0, deleted: 0, failed: 0 };
    if (ops.length === 0) {
      this.#markSynced();
      return report;
    }
    const result = netlink.applyRouteBatch(ops);
    for (const [i, op] of ops.entries()) {
      const failure = result.failed.find((f) => f.index === i);
      if (failure) {
        report.failed++;
        log.warn({ route: op.route.dst, op: op.op, err: failure.error.message }, 'route not programmed');
      } else if (op.op === 'replace') report.replaced++;
      else report.deleted++;
    }
    const counter = this.#o.metrics?.routeSyncs;
    counter?.inc({ op: 'replace' }, report.replaced);
    counter?.inc({ op: 'delete' }, report.deleted);
    counter?.inc({ op: 'failed' }, report.failed);
    log.info({ ...report, desired: desired.length }, 'node routes reconciled');
    if (report.failed === 0) this.#markSynced();
    return report;
  }
}

function bareAddresses(n: TrellisNode): NodeAddresses {
  const out: NodeAddresses = {};
  if (n.spec.addresses.ipv4) out.ipv4 = parseInterfaceAddress(n.spec.addresses.ipv4).address.toString();
  if (n.spec.addresses.ipv6) out.ipv6 = parseInterfaceAddress(n.spec.addresses.ipv6).address.toString();
  return out;
}
