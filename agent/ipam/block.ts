// Pure operations on an IPAMBlock spec. Every function returns a new spec and never mutates
// its input, so a caller can compute a change, try to CAS it into the datastore, and on
// conflict simply recompute from the fresh copy.
import { BlockFullError, InvalidBlockError, IpamRequestError } from './errors.js';
import type { Allocation, AllocationAttributes, IPAMBlockSpec } from './types.js';

/** Identifies one allocation exactly: the seq makes a later re-allocation of the ordinal a different one. */
export interface AllocationRef {
  handle: string;
  ordinal: number;
  seq: number;
}

export interface BlockUtilisation {
  size: number;
  allocated: number;
  free: number;
  reserved: number;
}

export function emptyBlock(args: {
  cidr: string;
  pool: string;
  affinity: string | null;
  size: number;
  reserved?: readonly number[];
}): IPAMBlockSpec {
  const reserved = [...new Set(args.reserved ?? [])].sort((a, b) => a - b);
  for (const r of reserved) checkOrdinalArg(r, args.size);
  const isReserved = new Set(reserved);
  const unallocated: number[] = [];
  for (let i = 0; i < args.size; i++) if (!isReserved.has(i)) unallocated.push(i);
  return {
    cidr: args.cidr,
    pool: args.pool,
    affinity: args.affinity,
    allocations: [],
    unallocated,
    nextSeq: 1,
    ...(reserved.length > 0 ? { reserved } : {}),
  };
}

/**
 * Rejects a block whose lists contradict each other. Reserved ordinals may also sit in
 * `unallocated` (an operator reserving an address in a live block just appends to `reserved`);
 * they are skipped there. Every ordinal must be accounted for: one missing from all lists
 * would be an address leaked forever.
 */
export function checkBlock(spec: IPAMBlockSpec, size: number): void {
  const bad = (detail: string): never => {
    throw new InvalidBlockError(spec.cidr, detail);
  };
  if (!Number.isSafeInteger(spec.nextSeq) || spec.nextSeq < 0) bad(`nextSeq ${spec.nextSeq} is not a count`);
  const seen = new Map<number, string>();
  const claim = (ordinal: number, list: string): void => {
    if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= size)
      bad(`${list} ordinal ${ordinal} outside 0..${size - 1}`);
    const prior = seen.get(ordinal);
    if (prior !== undefined) bad(`ordinal ${ordinal} is in both ${prior} and ${list}`);
    seen.set(ordinal, list);
  };
  const seqs = new Set<number>();
  for (const a of spec.allocations) {
    claim(a.ordinal, 'allocations');
    if (a.handle === '') bad(`allocation of ordinal ${a.ordinal} has an empty handle`);
    if (!Number.isSafeInteger(a.seq) || a.seq < 0 || a.seq >= spec.nextSeq)
      bad(`allocation of ordinal ${a.ordinal} has seq ${a.seq}, nextSeq is ${spec.nextSeq}`);
    if (seqs.has(a.seq)) bad(`seq ${a.seq} used twice`);
    seqs.add(a.seq);
  }
  for (const o of spec.unallocated) claim(o, 'unallocated');
  const reserved = new Set<number>();
  for (const r of spec.reserved ?? []) {
    if (!Number.isInteger(r) || r < 0 || r >= size) bad(`reserved ordinal ${r} outside 0..${size - 1}`);
    if (reserved.has(r)) bad(`reserved ordinal ${r} listed twice`);
    reserved.add(r);
  }
  for (let i = 0; i < size; i++) {
    if (!seen.has(i) && !reserved.has(i)) bad(`ordinal ${i} is in no list (leaked)`);
  }
}

export function freeCount(spec: IPAMBlockSpec): number {
  const reserved = reservedSet(spec);
  if (reserved.size === 0) return spec.unallocated.length;
  return spec.unallocated.reduce((n, o) => (reserved.has(o) ? n : n + 1), 0);
}

export function utilisation(spec: IPAMBlockSpec, size: number): BlockUtilisation {
  return {
    size,
    allocated: spec.allocations.length,
    free: freeCount(spec),
    reserved: spec.reserved?.length ?? 0,
  };
}

export function allocationsOf(spec: IPAMBlockSpec, handle: string): Allocation[] {
  return spec.allocations.filter((a) => a.handle === handle);
}

/** Takes `count` addresses from the head of the free list for `handle`: all of them or none (BlockFullError). */
export function allocate(
  spec: IPAMBlockSpec,
  req: { handle: string; count: number; attributes?: AllocationAttributes },
): { spec: IPAMBlockSpec; allocated: Allocation[] } {
  checkHandleArg(req.handle);
  if (!Number.isInteger(req.count) || req.count < 1)
    throw new IpamRequestError(`address count must be a positive integer, got ${req.count}`);
  const reserved = reservedSet(spec);
  const taken: number[] = [];
  const kept: number[] = [];
  for (const o of spec.unallocated) {
    if (taken.length < req.count && !reserved.has(o)) taken.push(o);
    else kept.push(o);
  }
  if (taken.length < req.count) throw new BlockFullError(spec.cidr, req.count, taken.length);
  const allocated = taken.map(
    (ordinal, i): Allocation => ({
      ordinal,
      handle: req.handle,
      seq: spec.nextSeq + i,
      ...(req.attributes ? { attributes: { ...req.attributes } } : {}),
    }),
  );
  return {
    spec: {
      ...spec,
      allocations: [...spec.allocations, ...allocated],
      unallocated: kept,
      nextSeq: spec.nextSeq + req.count,
    },
    allocated,
  };
}

/** Frees every address of `handle` in this block (none is not an error: release is idempotent). */
export function releaseHandle(
  spec: IPAMBlockSpec,
  handle: string,
): { spec: IPAMBlockSpec; released: Allocation[] } {
  checkHandleArg(handle);
  return releaseWhere(spec, (a) => a.handle === handle);
}

/** Frees every address allocated for `node` (attributes.node): the node is gone for good. */
export function releaseNode(
  spec: IPAMBlockSpec,
  node: string,
): { spec: IPAMBlockSpec; released: Allocation[] } {
  return releaseWhere(spec, (a) => a.attributes?.node === node);
}

/**
 * Frees exactly the allocation `ref` names. If the ordinal was released and handed out again
 * since `ref` was observed, its seq differs and nothing is freed (`released` is undefined).
 */
export function releaseAllocation(
  spec: IPAMBlockSpec,
  ref: AllocationRef,
): { spec: IPAMBlockSpec; released: Allocation | undefined } {
  checkHandleArg(ref.handle);
  const matches = (a: Allocation): boolean =>
    a.ordinal === ref.ordinal && a.seq === ref.seq && a.handle === ref.handle;
  const { spec: next, released } = releaseWhere(spec, matches);
  return { spec: next, released: released[0] };
}

function releaseWhere(
  spec: IPAMBlockSpec,
  pred: (a: Allocation) => boolean,
): { spec: IPAMBlockSpec; released: Allocation[] } {
  const released = spec.allocations.filter(pred);
  if (released.length === 0) return { spec, released };
  const reserved = reservedSet(spec);
  return {
    spec: {
      ...spec,
      allocations: spec.allocations.filter((a) => !pred(a)),
      // A reserved ordinal that was allocated before its reservation just stops being handed out.
      unallocated: [...spec.unallocated, ...released.map((a) => a.ordinal).filter((o) => !reserved.has(o))],
    },
    released,
  };
}

function reservedSet(spec: IPAMBlockSpec): ReadonlySet<number> {
  return new Set(spec.reserved ?? []);
}

function checkHandleArg(handle: string): void {
  if (typeof handle !== 'string' || handle === '')
    throw new IpamRequestError('IPAM handle must be a non-empty string');
}

function checkOrdinalArg(ordinal: number, size: number): void {
  if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= size)
    throw new IpamRequestError(`ordinal ${ordinal} outside 0..${size - 1}`);
}
