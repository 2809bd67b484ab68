// Keeps this node's host-gw routes equal to what the datastore says (agent/dataplane/node-routes.ts
// decides, this file watches and programs). Every change is coalesced into one recomputation and
// one batched netlink exchange; a periodic full resync repairs routes someone else removed.
import type { Datastore, WatchHandle } from '../../src/datastore/types.js';
import type { Logger } from '../../src/log.js';
import { parseInterfaceAddress } from '../../src/net/index.js';
import type { RouteNetlink } from '../../src/netlink/index.js';
import { TRELLIS_RT_PROTO } from '../../src/netlink/index.js';
import type { TrellisNode } from '../../src/resources/index.js';
import { desiredNodeRoutes, diffNodeRoutes, type NodeAddresses } from '../dataplane/node-routes.js';
import { type IPAMBlock, KIND_BLOCK } from '../ipam/types.js';
import type { AgentMetrics } from './metrics.js';

export interface NodeRouteSyncOptions {
  node: string;
  datastore: Datastore;
  netlink: RouteNetlink;
  log: Logger;
  metrics?: AgentMetrics;
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
  readonly #watches: WatchHandle[] = [];
  #timer: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Resolves once the first sync has programmed the kernel (for readiness). */
  readonly synced: Promise<void>;
  #markSynced: () => void = () => {};

  constructor(opts: NodeRouteSyncOptions) {
    this.#o = opts;
    this.synced = new Promise((resolve) => {
      this.#markSynced = resolve;
    });
  }

  start(): void {
    const onEvent = (): void => this.schedule();
    const onError = (err: Error): void => {
      this.#o.log.warn({ err: err.message }, 'route watch failed; resyncing');
      this.schedule();
    };
    for (const kind of [KIND_BLOCK, 'TrellisNode']) {
      this.#watches.push(this.#o.datastore.watch(kind, {}, { onEvent, onError }));
    }
    this.#resync = setInterval(() => this.schedule(), this.#o.resyncMs ?? 30_000);
    this.#resync.unref();
    this.schedule();
  }

  stop(): void {
    this.#stopped = true;
    for (const w of this.#watches) w.stop();
    clearTimeout(this.#timer);
    clearInterval(this.#resync);
  }

  schedule(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#running.then(() =>
        this.syncOnce().then(
          () => undefined,
          (err: unknown) => {
            this.#o.metrics?.errors.inc({ component: 'routes' });
            this.#o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'route sync failed');
          },
        ),
      );
    }, this.#o.coalesceMs ?? 20);
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
    const desired = desiredNodeRoutes({ node, nodes: addresses, blocks: blocks.items.map((b) => b.spec) });
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
