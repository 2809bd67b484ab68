// Leak collection for one node. Conservative by construction, because freeing a live pod's
// address is far worse than keeping a leaked one a little longer:
//  - a suspect must look the same (same handle, ordinal and seq; same resourceVersion for
//    affinities and blocks) on two consecutive runs at least `minIntervalMs` apart;
//  - just before acting it is re-validated (the optional liveness probe, then CAS on the seq or
//    resourceVersion), so an address re-allocated in between is never freed.
import type { Datastore } from '../../src/datastore/types.js';
import { isConflict, isNotFound } from '../../src/datastore/types.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { blockName, Prefix } from '../../src/net/index.js';
import type { IpamAllocator } from './allocator.js';
import { MemoryObservationStore, type ObservationStore, type Observations } from './observations.js';
import { type BlockAffinity, blockAffinityName, type IPAMBlock, KIND_AFFINITY, KIND_BLOCK } from './types.js';

export interface IpamGcOptions {
  node: string;
  /** The second observation must come at least this long after the first. Default 60 s. */
  minIntervalMs?: number;
  /** Release this node's blocks that stayed empty (unchanged) this long. Absent: keep them. */
  releaseEmptyBlocksAfterMs?: number;
  /** Final liveness check of a handle right before its address is freed (e.g. does the veth exist). */
  isAttachmentLive?: (handle: string) => Promise<boolean>;
  observations?: ObservationStore;
  now?: () => number;
  logger?: Logger;
}

export interface ReleasedAddress {
  handle: string;
  address: string;
  block: string;
}

export interface GcReport {
  released: ReleasedAddress[];
  /** Seen leaked but not (yet) for two observations far enough apart. */
  suspected: number;
  /** Looked leaked twice but re-validation kept them (live again, or re-allocated meanwhile). */
  spared: number;
  affinitiesConfirmed: string[];
  affinitiesDeleted: string[];
  blocksReleased: string[];
}

type Suspect =
  | { kind: 'allocation'; block: string; handle: string; ordinal: number; seq: number }
  | { kind: 'affinity'; affinity: BlockAffinity }
  | { kind: 'emptyBlock'; block: IPAMBlock };

const DEFAULT_MIN_INTERVAL_MS = 60_000;

export class IpamGc {
  private readonly node: string;
  private readonly minIntervalMs: number;
  private readonly store: ObservationStore;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(
    private readonly ds: Datastore,
    private readonly allocator: IpamAllocator,
    private readonly opts: IpamGcOptions,
  ) {
    this.node = opts.node;
    this.minIntervalMs = opts.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.store = opts.observations ?? new MemoryObservationStore();
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
  }

  /** One collection pass. `validAttachments` are the handles of every attachment that exists on this node. */
  async gc(validAttachments: Iterable<string>): Promise<GcReport> {
    const valid = new Set(validAttachments);
    const previous = await this.store.load();
    const now = this.now();
    const report: GcReport = {
      released: [],
      suspected: 0,
      spared: 0,
      affinitiesConfirmed: [],
      affinitiesDeleted: [],
      blocksReleased: [],
    };
    const next: Observations = new Map();
    for (const [key, suspect, threshold] of await this.findSuspects(valid)) {
      const firstSeen = previous.get(key);
      if (firstSeen === undefined || now - firstSeen < threshold) {
        next.set(key, firstSeen ?? now);
        report.suspected++;
        continue;
      }
      try {
        await this.act(suspect, report);
      } catch (err) {
        // Keep the observation: the same suspect gets another chance next run.
        next.set(key, firstSeen);
        this.log.warn({ err, key }, 'IPAM GC action failed');
      }
    }
    await this.store.save(next);
    if (report.released.length > 0 || report.blocksReleased.length > 0 || report.affinitiesDeleted.length > 0)
      this.log.info(report, 'IPAM GC reclaimed');
    return report;
  }

  private async findSuspects(valid: ReadonlySet<string>): Promise<[string, Suspect, number][]> {
    const blocks = (await this.ds.list<IPAMBlock>(KIND_BLOCK)).items;
    const affinities = (await this.ds.list<BlockAffinity>(KIND_AFFINITY)).items.filter(
      (a) => a.spec.node === this.node,
    );
    const byCidr = new Map(blocks.map((b) => [b.spec.cidr, b.spec]));
    const out: [string, Suspect, number][] = [];
    for (const b of blocks) {
      for (const a of b.spec.allocations) {
        if (a.attributes?.node !== this.node || valid.has(a.handle)) continue;
        out.push([
          `allocation|${b.spec.cidr}|${a.handle}|${a.ordinal}|${a.seq}`,
          { kind: 'allocation', block: b.spec.cidr, handle: a.handle, ordinal: a.ordinal, seq: a.seq },
          this.minIntervalMs,
        ]);
      }
      const emptyAfter = this.opts.releaseEmptyBlocksAfterMs;
      if (emptyAfter !== undefined && b.spec.affinity === this.node && b.spec.allocations.length === 0) {
        out.push([
          `emptyBlock|${b.spec.cidr}|${b.metadata.resourceVersion}`,
          { kind: 'emptyBlock', block: b },
          emptyAfter,
        ]);
      }
    }
    for (const a of affinities) {
      // Healthy: confirmed and the block really is ours. Anything else is a claim or a release
      // that died half-way (or is in flight, which the two observations rule out).
      if (a.spec.state === 'confirmed' && byCidr.get(a.spec.cidr)?.affinity === this.node) continue;
      out.push([
        `affinity|${a.metadata.name}|${a.metadata.resourceVersion}`,
        { kind: 'affinity', affinity: a },
        this.minIntervalMs,
      ]);
    }
    return out;
  }

  private async act(s: Suspect, report: GcReport): Promise<void> {
    switch (s.kind) {
      case 'allocation': {
        if (this.opts.isAttachmentLive && (await this.opts.isAttachmentLive(s.handle))) {
          report.spared++;
          return;
        }
        if (await this.allocator.releaseExact(s.block, s)) {
          report.released.push({
            handle: s.handle,
            address: Prefix.parse(s.block).addressAt(s.ordinal).toString(),
            block: s.block,
          });
        } else {
          report.spared++;
        }
        return;
      }
      case 'affinity':
        return this.repairAffinity(s.affinity, report);
      case 'emptyBlock':
        return this.releaseEmptyBlock(s.block, report);
    }
  }

  /** Finish a half-done claim (the block is ours: confirm) or undo it (it is not: delete). */
  private async repairAffinity(observed: BlockAffinity, report: GcReport): Promise<void> {
    const name = observed.metadata.name;
    const block = await this.ds.get<IPAMBlock>(KIND_BLOCK, blockName(observed.spec.cidr));
    try {
      if (block?.spec.affinity === this.node) {
        await this.ds.update<BlockAffinity>({ ...observed, spec: { ...observed.spec, state: 'confirmed' } });
        report.affinitiesConfirmed.push(name);
      } else {
        await this.ds.delete(KIND_AFFINITY, name, undefined, {
          resourceVersion: observed.metadata.resourceVersion,
        });
        report.affinitiesDeleted.push(name);
      }
    } catch (err) {
      // Changed or gone since observed: someone is working on it, so it is not stuck.
      if (isConflict(err) || isNotFound(err)) report.spared++;
      else throw err;
    }
  }

  /**
   * Gives an empty block back to the pool. The affinity goes to pendingDeletion first so this
   * node's allocator will not adopt it mid-release; the block is deleted only at the exact
   * version observed empty, so an allocation that slipped in aborts the release.
   */
  private async releaseEmptyBlock(observed: IPAMBlock, report: GcReport): Promise<void> {
    const affinityName = blockAffinityName(this.node, observed.spec.cidr);
    let affinity = await this.ds.get<BlockAffinity>(KIND_AFFINITY, affinityName);
    if (affinity !== undefined) {
      try {
        affinity = await this.ds.update<BlockAffinity>({
          ...affinity,
          spec: { ...affinity.spec, state: 'pendingDeletion' },
        });
      } catch (err) {
        if (isConflict(err) || isNotFound(err)) {
          report.spared++;
          return;
        }
        throw err;
      }
    }
    try {
      await this.ds.delete(KIND_BLOCK, observed.metadata.name, undefined, {
        resourceVersion: observed.metadata.resourceVersion,
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (affinity !== undefined) {
        await this.ds.update<BlockAffinity>({ ...affinity, spec: { ...affinity.spec, state: 'confirmed' } });
      }
      report.spared++;
      return;
    }
    if (affinity !== undefined) {
      await this.ds.delete(KIND_AFFINITY, affinityName, undefined, {
        resourceVersion: affinity.metadata.resourceVersion,
      });
    }
    report.blocksReleased.push(observed.spec.cidr);
  }
}
