// Deciding where an address comes from: which pools a node may use, and in which order it
// tries a pool's blocks. Pure.
import { createHash } from 'node:crypto';
import { selectorMatches } from '../../policy/selector.js';
import { type IPFamily, Prefix } from '../../src/net/index.js';
import { BLOCK_SIZE_RANGE } from '../../src/resources/index.js';
import { IpamRequestError } from './errors.js';
import type { IPPoolSpec } from './types.js';

/** A pool spec as stored; fields the schema defaults may be absent if the store did not apply them. */
export type StoredPoolSpec = Pick<IPPoolSpec, 'cidr'> & Partial<IPPoolSpec>;

export interface PoolChoice {
  name: string;
  cidr: string;
  family: IPFamily;
  blockSize: number;
}

/**
 * Pools of `family` this node may take new addresses from: enabled and selecting the node's
 * labels. With `names`, only those pools, in that order (an unknown name is a request error);
 * otherwise every pool, by name, so all nodes agree on the order.
 */
export function eligiblePools(
  pools: readonly { name: string; spec: StoredPoolSpec }[],
  req: { family: IPFamily; nodeLabels: Readonly<Record<string, string>>; names?: readonly string[] },
): PoolChoice[] {
  const byName = new Map(pools.map((p) => [p.name, p]));
  let ordered: { name: string; spec: StoredPoolSpec }[];
  if (req.names !== undefined) {
    ordered = req.names.map((n) => {
      const p = byName.get(n);
      if (p === undefined) throw new IpamRequestError(`IPPool "${n}" does not exist`);
      return p;
    });
  } else {
    ordered = [...pools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  const out: PoolChoice[] = [];
  for (const { name, spec } of ordered) {
    const family = Prefix.parse(spec.cidr).family;
    if (family !== req.family || spec.disabled === true) continue;
    if (spec.nodeSelector !== undefined && !selectorMatches(spec.nodeSelector, req.nodeLabels)) continue;
    out.push({
      name,
      cidr: spec.cidr,
      family,
      blockSize: spec.blockSize ?? BLOCK_SIZE_RANGE[family].default,
    });
  }
  return out;
}

/** A 128-bit number fixed by the inputs: deterministic per node, unrelated between nodes. */
export function nodeHash(...parts: string[]): bigint {
  return BigInt(`0x${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32)}`);
}

/**
 * Every block CIDR of the pool exactly once, starting at a node-specific pseudo-random index
 * and wrapping around. Nodes therefore start claiming far apart and rarely race for one block,
 * while a node's successive blocks stay adjacent (fewer, aggregatable routes). Lazy, because a
 * large IPv6 pool holds more blocks than could ever be listed.
 */
export function* blockCandidates(pool: PoolChoice, node: string): Generator<string> {
  const prefix = Prefix.parse(pool.cidr);
  const count = prefix.subnetCount(pool.blockSize);
  const start = nodeHash(node, pool.name) % count;
  for (let i = 0n; i < count; i++) yield prefix.subnetAt(pool.blockSize, (start + i) % count).toString();
}
