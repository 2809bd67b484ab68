// Cluster-level collection for nodes that no longer exist (Calico's most reported leak: a node
// deleted without draining keeps its blocks and addresses forever). Runs in one place (the
// controller), fed with the names of the nodes that exist.
import type { Datastore } from '../../src/datastore/types.js';
import { isNotFound } from '../../src/datastore/types.js';
import { type Logger, silentLogger } from '../../src/log.js';
import type { IpamAllocator } from './allocator.js';
import { MemoryObservationStore, type ObservationStore, type Observations } from './observations.js';
import { DEFAULT_RETRY, retryOnConflict } from './retry.js';
import { type BlockAffinity, type IPAMBlock, KIND_AFFINITY, KIND_BLOCK } from './types.js';

export interface DeletedNodeGcOptions {
  /** A node must be missing on two runs at least this far apart. Default 10 min. */
  minIntervalMs?: number;
  observations?: ObservationStore;
  now?: () => number;
  logger?: Logger;
}

export interface NodeReclaimReport {
  node: string;
  /** Addresses freed. */
  released: string[];
  /** Its empty blocks, deleted. */
  blocksDeleted: string[];
  /** Its blocks still holding addresses borrowed by other nodes: now unowned. */
  blocksOrphaned: string[];
  affinitiesDeleted: string[];
}

const DEFAULT_MIN_INTERVAL_MS = 10 * 60_000;

export class DeletedNodeGc {
  private readonly minIntervalMs: number;
  private readonly store: ObservationStore;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(
    private readonly ds: Datastore,
    private readonly allocator: IpamAllocator,
    opts: DeletedNodeGcOptions = {},
  ) {
    this.minIntervalMs = opts.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.store = opts.observations ?? new MemoryObservationStore();
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
  }

  /**
   * Reclaims the IPAM state of every node referenced in IPAM but absent from `liveNodes` on two
   * runs `minIntervalMs` apart. An empty `liveNodes` is treated as a failed node listing, not as
   * "every node is gone": nothing is suspected or reclaimed.
   */
  async collect(
    liveNodes: Iterable<string>,
  ): Promise<{ suspected: string[]; reclaimed: NodeReclaimReport[] }> {
    const live = new Set(liveNodes);
    if (live.size === 0) {
      this.log.warn('node GC skipped: the list of live nodes is empty');
      return { suspected: [], reclaimed: [] };
    }
    const previous = await this.store.load();
    const now = this.now();
    const next: Observations = new Map();
    const suspected: string[] = [];
    const reclaimed: NodeReclaimReport[] = [];
    for (const node of await this.referencedNodes()) {
      if (live.has(node)) continue;
      const firstSeen = previous.get(node);
      if (firstSeen === undefined || now - firstSeen < this.minIntervalMs) {
        next.set(node, firstSeen ?? now);
        suspected.push(node);
        continue;
      }
      try {
        reclaimed.push(await this.reclaim(node));
      } catch (err) {
        next.set(node, firstSeen);
        this.log.warn({ err, node }, 'reclaiming a deleted node failed; will retry');
      }
    }
    await this.store.save(next);
    for (const r of reclaimed) this.log.info(r, 'reclaimed IPAM state of deleted node');
    return { suspected, reclaimed };
  }

  private async referencedNodes(): Promise<Set<string>> {
    const nodes = new Set<string>();
    for (const b of (await this.ds.list<IPAMBlock>(KIND_BLOCK)).items) {
      if (b.spec.affinity !== null) nodes.add(b.spec.affinity);
      for (const a of b.spec.allocations) if (a.attributes?.node) nodes.add(a.attributes.node);
    }
    for (const a of (await this.ds.list<BlockAffinity>(KIND_AFFINITY)).items) nodes.add(a.spec.node);
    return nodes;
  }

  /**
   * Addresses first, then blocks, then affinities last: a crash part-way leaves the node still
   * referenced, so the next run finishes the job.
   */
  private async reclaim(node: string): Promise<NodeReclaimReport> {
    const report: NodeReclaimReport = {
      node,
      released: (await this.allocator.releaseByNode(node)).map((a) => a.address),
      blocksDeleted: [],
      blocksOrphaned: [],
      affinitiesDeleted: [],
    };
    for (const b of (await this.ds.list<IPAMBlock>(KIND_BLOCK)).items) {
      if (b.spec.affinity !== node) continue;
      await retryOnConflict(
        `disowning block ${b.spec.cidr}`,
        async () => {
          const cur = await this.ds.get<IPAMBlock>(KIND_BLOCK, b.metadata.name);
          if (cur === undefined || cur.spec.affinity !== node) return;
          if (cur.spec.allocations.length === 0) {
            await this.ds.delete(KIND_BLOCK, cur.metadata.name, undefined, {
              resourceVersion: cur.metadata.resourceVersion,
            });
            report.blocksDeleted.push(cur.spec.cidr);
          } else {
            await this.ds.update<IPAMBlock>({ ...cur, spec: { ...cur.spec, affinity: null } });
            report.blocksOrphaned.push(cur.spec.cidr);
          }
        },
        DEFAULT_RETRY,
      );
    }
    for (const a of (await this.ds.list<BlockAffinity>(KIND_AFFINITY)).items) {
      if (a.spec.node !== node) continue;
      try {
        await this.ds.delete(KIND_AFFINITY, a.metadata.name);
        report.affinitiesDeleted.push(a.metadata.name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return report;
  }
}
