// Shared setup for the IPAM tests: pools and block inspection against a real datastore.

import {
  API_VERSION,
  type BlockAffinity,
  type IPAMBlock,
  type IPPoolSpec,
  KIND_AFFINITY,
  KIND_BLOCK,
  KIND_POOL,
} from '../../agent/ipam/types.js';
import type { Datastore } from '../../src/datastore/types.js';
import { blockName } from '../../src/net/index.js';

/** A pool; fields left out get the defaults the schema would apply. */
export async function createPool(
  ds: Datastore,
  name: string,
  spec: Pick<IPPoolSpec, 'cidr'> & Partial<IPPoolSpec>,
): Promise<void> {
  await ds.create({ apiVersion: API_VERSION, kind: KIND_POOL, metadata: { name }, spec });
}

export async function blocks(ds: Datastore): Promise<IPAMBlock[]> {
  return (await ds.list<IPAMBlock>(KIND_BLOCK)).items;
}

export async function block(ds: Datastore, cidr: string): Promise<IPAMBlock> {
  const b = await ds.get<IPAMBlock>(KIND_BLOCK, blockName(cidr));
  if (b === undefined) throw new Error(`no block ${cidr}`);
  return b;
}

export async function affinities(ds: Datastore): Promise<BlockAffinity[]> {
  return (await ds.list<BlockAffinity>(KIND_AFFINITY)).items;
}

/** Every allocation in the store as "address-ish" keys, to check nothing is handed out twice. */
export async function allocatedOrdinals(ds: Datastore): Promise<string[]> {
  return (await blocks(ds)).flatMap((b) => b.spec.allocations.map((a) => `${b.spec.cidr}#${a.ordinal}`));
}
