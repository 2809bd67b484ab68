// Address assignment over the shared datastore. Many writers (CNI plugin processes on every
// node, agents, GC) change the same IPAMBlocks, so every write is a compare-and-swap on
// resourceVersion, recomputed from a fresh read when it loses. Nothing here holds a lock that
// another process would have to respect.
import type { Datastore } from '../../src/datastore/types.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../src/datastore/types.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { blockName, familyBits, type IPFamily, Prefix } from '../../src/net/index.js';
import {
  type AllocationRef,
  allocate,
  checkBlock,
  emptyBlock,
  freeCount,
  releaseAllocation,
  releaseHandle,
  releaseNode,
} from './block.js';
import { blockCandidates, eligiblePools, nodeHash, type PoolChoice } from './choose.js';
import { IpamExhaustedError, IpamRequestError } from './errors.js';
import { KeyedMutex } from './mutex.js';
import { DEFAULT_RETRY, type RetryPolicy, retryOnConflict } from './retry.js';
import {
  type Allocation,
  type AllocationAttributes,
  API_VERSION,
  type BlockAffinity,
  blockAffinityName,
  type IPAMBlock,
  type IPAMBlockSpec,
  type IPPool,
  KIND_AFFINITY,
  KIND_BLOCK,
  KIND_POOL,
} from './types.js';
import { WriteCombiner } from './write-combiner.js';

export interface AssignRequest {
  /** One per attachment: containerID + ifname (see attachmentHandle). */
  handle: string;
  node: string;
  nodeLabels?: Readonly<Record<string, string>>;
  attributes?: Omit<AllocationAttributes, 'node'>;
  /** Default true. */
  v4?: boolean;
  /** Default false. */
  v6?: boolean;
  /** Restrict to these pools, tried in this order. */
  pools?: readonly string[];
}

export interface AssignedAddress {
  address: string;
  /** Host prefix length (32 or 128): pods are routed, not on a shared subnet. */
  prefixLen: number;
  /** CIDR of the block the address came from. */
  block: string;
  pool: string;
  /** From another node's (or an unowned) block: needs its own /32 (/128) route and BGP advertisement. */
  borrowed: boolean;
  ordinal: number;
  seq: number;
}

export interface AssignResult {
  v4?: AssignedAddress;
  v6?: AssignedAddress;
}

export interface AllocationInfo extends AssignedAddress {
  handle: string;
  attributes?: AllocationAttributes;
}

export interface IpamAllocatorOptions {
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
}

const FAMILY_KEY = { 4: 'v4', 6: 'v6' } as const;

export class IpamAllocator {
  private readonly retry: RetryPolicy;
  private readonly log: Logger;
  /** One assign per handle at a time keeps assign idempotent within this process. */
  private readonly handleMutex = new KeyedMutex();
  private readonly blocks: WriteCombiner<IPAMBlockSpec>;

  constructor(
    private readonly ds: Datastore,
    opts: IpamAllocatorOptions = {},
  ) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.log = opts.logger ?? silentLogger;
    this.blocks = new WriteCombiner<IPAMBlockSpec>({
      read: async (name) => {
        const cur = await this.ds.get<IPAMBlock>(KIND_BLOCK, name);
        if (cur === undefined) return undefined;
        checkBlock(cur.spec, ordinalCount(cur.spec.cidr));
        return {
          state: cur.spec,
          write: async (spec) => void (await this.ds.update<IPAMBlock>({ ...cur, spec })),
        };
      },
      retry: (what, attempt) => retryOnConflict(what, attempt, this.retry),
    });
  }

  /**
   * Gives `handle` one address per requested family. Idempotent: a handle that already holds
   * addresses gets them back. Dual-stack is all or nothing: if the second family fails, the
   * address this call took for the first is released again before the error propagates.
   */
  async assign(req: AssignRequest): Promise<AssignResult> {
    if (typeof req.handle !== 'string' || req.handle === '')
      throw new IpamRequestError('handle must be non-empty');
    if (typeof req.node !== 'string' || req.node === '') throw new IpamRequestError('node must be non-empty');
    const families: IPFamily[] = [];
    if (req.v4 ?? true) families.push(4);
    if (req.v6 ?? false) families.push(6);
    if (families.length === 0) throw new IpamRequestError('request asks for neither IPv4 nor IPv6');

    return this.handleMutex.run(req.handle, async () => {
      // One snapshot serves the idempotency check and block choice; every write re-reads its
      // block anyway, so a stale snapshot costs at most a wasted attempt, never correctness.
      const snapshot = await this.listBlocks();
      const held = allocationsOfHandle(snapshot, req.handle);
      const result: AssignResult = {};
      const takenNow: AssignedAddress[] = [];
      try {
        for (const family of families) {
          const existing = held.find((a) => familyOf(a.block) === family);
          const got = existing ?? (await this.assignFamily(family, req, snapshot));
          if (existing === undefined) takenNow.push(got);
          result[FAMILY_KEY[family]] = stripInfo(got);
        }
      } catch (err) {
        for (const a of takenNow) {
          // A failed rollback must not hide the real error; the address is then a plain leak
          // (no attachment holds it) that GC reclaims.
          await this.releaseExact(a.block, { handle: req.handle, ordinal: a.ordinal, seq: a.seq }).catch(
            (rollbackErr: unknown) =>
              this.log.warn({ err: rollbackErr, address: a.address }, 'dual-stack rollback failed'),
          );
        }
        throw err;
      }
      return result;
    });
  }

  /** Frees every address of `handle`. Returns what was freed; an unknown handle frees nothing. */
  async releaseByHandle(handle: string): Promise<AllocationInfo[]> {
    if (typeof handle !== 'string' || handle === '') throw new IpamRequestError('handle must be non-empty');
    return this.releaseWhere(
      { handle },
      (a) => a.handle === handle,
      (spec) => releaseHandle(spec, handle),
    );
  }

  /** Frees every address allocated for `node`, in any block: only for a node that is gone for good. */
  async releaseByNode(node: string): Promise<AllocationInfo[]> {
    if (typeof node !== 'string' || node === '') throw new IpamRequestError('node must be non-empty');
    return this.releaseWhere(
      { node },
      (a) => a.attributes?.node === node,
      (spec) => releaseNode(spec, node),
    );
  }

  /**
   * Frees exactly one allocation, and only if it is still the one `ref` names: an address
   * released and handed to someone else since `ref` was read keeps its new owner.
   */
  async releaseExact(blockCidr: string, ref: AllocationRef): Promise<boolean> {
    const freed = await this.modifyBlock(blockName(blockCidr), (spec) => {
      const r = releaseAllocation(spec, ref);
      return { spec: r.released ? r.spec : undefined, value: r.released !== undefined };
    });
    return freed === true;
  }

  /** Every allocation made for `node`, wherever its block lives (borrowed ones included). */
  async listAllocations(node: string): Promise<AllocationInfo[]> {
    const out: AllocationInfo[] = [];
    for (const block of await this.listBlocks()) {
      for (const a of block.spec.allocations) {
        if (a.attributes?.node === node) out.push(describe(block.spec, a, node));
      }
    }
    return out;
  }

  private async releaseWhere(
    context: Record<string, string>,
    holds: (a: Allocation) => boolean,
    release: (spec: IPAMBlockSpec) => { spec: IPAMBlockSpec; released: Allocation[] },
  ): Promise<AllocationInfo[]> {
    const released: AllocationInfo[] = [];
    for (const block of await this.listBlocks()) {
      if (!block.spec.allocations.some(holds)) continue;
      const freed = await this.modifyBlock(block.metadata.name, (spec) => {
        const r = release(spec);
        return { spec: r.released.length > 0 ? r.spec : undefined, value: r.released };
      });
      for (const a of freed ?? []) released.push(describe(block.spec, a, a.attributes?.node ?? null));
    }
    if (released.length > 0)
      this.log.info({ ...context, addresses: released.map((r) => r.address) }, 'released');
    return released;
  }

  /** Affine blocks first, then a newly claimed block, then a borrowed address; else exhausted. */
  private async assignFamily(
    family: IPFamily,
    req: AssignRequest,
    snapshot: readonly IPAMBlock[],
  ): Promise<AssignedAddress> {
    const pools = eligiblePools(
      (await this.ds.list<IPPool>(KIND_POOL)).items.flatMap((p) =>
        p.spec ? [{ name: p.metadata.name, spec: p.spec }] : [],
      ),
      { family, nodeLabels: req.nodeLabels ?? {}, ...(req.pools ? { names: req.pools } : {}) },
    );
    if (pools.length === 0) throw new IpamExhaustedError(family, req.pools ?? []);
    const poolRank = new Map(pools.map((p, i) => [p.name, i]));
    const attributes: AllocationAttributes = { ...req.attributes, node: req.node };
    const tryBlock = (cidr: string) => this.allocateIn(cidr, req.handle, attributes, req.node);

    const inPools = snapshot.filter((b) => poolRank.has(b.spec.pool) && familyOf(b.spec.cidr) === family);
    const affine = inPools
      .filter((b) => b.spec.affinity === req.node)
      .sort(
        (a, b) => poolRank.get(a.spec.pool)! - poolRank.get(b.spec.pool)! || cmp(a.spec.cidr, b.spec.cidr),
      );
    for (const b of affine) {
      if (freeCount(b.spec) === 0) continue;
      const got = await tryBlock(b.spec.cidr);
      if (got) return got;
    }

    // Claiming can lose races (another node creates the block first, or fills it by borrowing
    // before we allocate); each loss moves on to the next candidate.
    const known = new Map(inPools.map((b) => [b.spec.cidr, b.spec]));
    for (const pool of pools) {
      for (const cidr of blockCandidates(pool, req.node)) {
        const seen = known.get(cidr);
        if (seen !== undefined && seen.affinity !== null) continue;
        if (!(await this.claimBlock(pool, cidr, req.node))) continue;
        const got = await tryBlock(cidr);
        if (got) return got;
      }
    }

    // Every block of every eligible pool is owned: borrow one address. Each node prefers
    // different lenders so that borrowers do not all contend for the same block.
    const lenders = (await this.listBlocks())
      .filter((b) => poolRank.has(b.spec.pool) && familyOf(b.spec.cidr) === family && freeCount(b.spec) > 0)
      .sort((a, b) => cmpBig(nodeHash(req.node, a.spec.cidr), nodeHash(req.node, b.spec.cidr)));
    for (const b of lenders) {
      const got = await tryBlock(b.spec.cidr);
      if (got) {
        if (got.borrowed)
          this.log.info({ node: req.node, address: got.address, block: got.block }, 'borrowed address');
        return got;
      }
    }
    throw new IpamExhaustedError(
      family,
      pools.map((p) => p.name),
    );
  }

  /** One address for `handle` from the block, or undefined when the block is full or gone. */
  private async allocateIn(
    cidr: string,
    handle: string,
    attributes: AllocationAttributes,
    node: string,
  ): Promise<AssignedAddress | undefined> {
    const taken = await this.modifyBlock(blockName(cidr), (spec) => {
      if (freeCount(spec) === 0) return { spec: undefined, value: undefined };
      const r = allocate(spec, { handle, count: 1, attributes });
      return { spec: r.spec, value: { block: r.spec, allocation: r.allocated[0]! } };
    });
    if (taken === undefined) return undefined;
    return stripInfo(describe(taken.block, taken.allocation, node));
  }

  /**
   * Makes `node` the owner of block `cidr` in two phases, so that a crash at any point leaves
   * something GC can recognise and finish or undo: a pending BlockAffinity first, then the block
   * itself (created, or taken over if unowned) by CAS, then the affinity confirmed. Returns
   * false when another node won the block.
   */
  private async claimBlock(pool: PoolChoice, cidr: string, node: string): Promise<boolean> {
    const affinityName = blockAffinityName(node, cidr);
    let affinity: BlockAffinity;
    try {
      affinity = await this.ds.create<BlockAffinity>({
        apiVersion: API_VERSION,
        kind: KIND_AFFINITY,
        metadata: { name: affinityName },
        spec: { node, cidr, state: 'pending' },
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Left by an earlier attempt of this node that died mid-claim: carry on with it, unless
      // GC is tearing it down right now.
      const prior = await this.ds.get<BlockAffinity>(KIND_AFFINITY, affinityName);
      if (prior === undefined || prior.spec.state === 'pendingDeletion') return false;
      affinity = prior;
    }

    const won = await this.takeBlock(pool, cidr, node);
    if (!won) {
      await this.deleteIfUnchanged(KIND_AFFINITY, affinity);
      return false;
    }
    if (affinity.spec.state !== 'confirmed') {
      await retryOnConflict(
        `confirming ${affinityName}`,
        async () => {
          const cur = await this.ds.get<BlockAffinity>(KIND_AFFINITY, affinityName);
          if (cur === undefined || cur.spec.state === 'confirmed') return;
          await this.ds.update<BlockAffinity>({ ...cur, spec: { ...cur.spec, state: 'confirmed' } });
        },
        this.retry,
      );
    }
    this.log.info({ node, block: cidr, pool: pool.name }, 'claimed block');
    return true;
  }

  /** Creates the block owned by `node`, or takes it over if it exists unowned. */
  private async takeBlock(pool: PoolChoice, cidr: string, node: string): Promise<boolean> {
    const name = blockName(cidr);
    try {
      await this.ds.create<IPAMBlock>({
        apiVersion: API_VERSION,
        kind: KIND_BLOCK,
        metadata: { name },
        spec: emptyBlock({ cidr, pool: pool.name, affinity: node, size: ordinalCount(cidr) }),
      });
      return true;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    const taken = await this.modifyBlock(name, (spec) =>
      spec.affinity === null
        ? { spec: { ...spec, affinity: node }, value: true }
        : { spec: undefined, value: spec.affinity === node },
    );
    return taken === true;
  }

  private async deleteIfUnchanged(
    kind: string,
    obj: { metadata: { name: string; resourceVersion?: string } },
  ): Promise<void> {
    try {
      await this.ds.delete(kind, obj.metadata.name, undefined, {
        resourceVersion: obj.metadata.resourceVersion,
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /**
   * Read-modify-CAS of one block, retried on conflict and combined with concurrent changes to
   * the same block (write-combiner.ts). `change` sees a validated fresh spec and returns the new
   * spec (undefined: write nothing) plus a value to hand back. Returns undefined if the block
   * does not exist.
   */
  private modifyBlock<T>(
    name: string,
    change: (spec: IPAMBlockSpec) => { spec: IPAMBlockSpec | undefined; value: T },
  ): Promise<T | undefined> {
    return this.blocks.modify(name, (spec) => {
      const r = change(spec);
      return { state: r.spec, value: r.value };
    });
  }

  private async listBlocks(): Promise<IPAMBlock[]> {
    return (await this.ds.list<IPAMBlock>(KIND_BLOCK)).items;
  }
}

function allocationsOfHandle(blocks: readonly IPAMBlock[], handle: string): AllocationInfo[] {
  return blocks.flatMap((b) =>
    b.spec.allocations
      .filter((a) => a.handle === handle)
      .map((a) => describe(b.spec, a, a.attributes?.node ?? null)),
  );
}

function describe(
  block: IPAMBlockSpec,
  a: { ordinal: number; seq: number; handle: string; attributes?: AllocationAttributes },
  node: string | null,
): AllocationInfo {
  const prefix = Prefix.parse(block.cidr);
  return {
    handle: a.handle,
    address: prefix.addressAt(a.ordinal).toString(),
    prefixLen: familyBits(prefix.family),
    block: block.cidr,
    pool: block.pool,
    borrowed: block.affinity !== node,
    ordinal: a.ordinal,
    seq: a.seq,
    ...(a.attributes ? { attributes: a.attributes } : {}),
  };
}

function stripInfo(a: AllocationInfo | AssignedAddress): AssignedAddress {
  return {
    address: a.address,
    prefixLen: a.prefixLen,
    block: a.block,
    pool: a.pool,
    borrowed: a.borrowed,
    ordinal: a.ordinal,
    seq: a.seq,
  };
}

const familyOf = (cidr: string): IPFamily => Prefix.parse(cidr).family;
const ordinalCount = (cidr: string): number => Number(Prefix.parse(cidr).size);

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
