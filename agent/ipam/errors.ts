// Typed IPAM failures. Callers (the CNI plugin, the agent) branch on the class, and the CNI
// plugin maps each to its own error code, so every distinct cause gets its own type.

import type { IPFamily } from '../../src/net/index.js';

/** No eligible pool has a free address for this family (no free block left and nothing to borrow). */
export class IpamExhaustedError extends Error {
  constructor(
    readonly family: IPFamily,
    readonly pools: readonly string[],
  ) {
    super(
      pools.length === 0
        ? `no IPv${family} pool is eligible for this node`
        : `IPv${family} address space exhausted in pool(s) ${pools.join(', ')}`,
    );
    this.name = 'IpamExhaustedError';
  }
}

/** The request itself is malformed (empty handle, no family, unknown pool, bad count...). */
export class IpamRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpamRequestError';
  }
}

/** A stored IPAMBlock breaks an invariant (e.g. an ordinal listed twice); it is never written back. */
export class InvalidBlockError extends Error {
  constructor(
    readonly cidr: string,
    detail: string,
  ) {
    super(`IPAM block ${cidr} is corrupt: ${detail}`);
    this.name = 'InvalidBlockError';
  }
}

/** The block has fewer free addresses than requested; the block is left unchanged. */
export class BlockFullError extends Error {
  constructor(
    readonly cidr: string,
    readonly requested: number,
    readonly free: number,
  ) {
    super(`IPAM block ${cidr} has ${free} free address(es), ${requested} requested`);
    this.name = 'BlockFullError';
  }
}

/** Compare-and-swap kept losing to other writers until the retry budget ran out. */
export class IpamContentionError extends Error {
  constructor(
    readonly what: string,
    readonly attempts: number,
    readonly lastError: Error,
  ) {
    super(`gave up on ${what} after ${attempts} conflicting attempts: ${lastError.message}`);
    this.name = 'IpamContentionError';
  }
}
