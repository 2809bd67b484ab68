// Optimistic concurrency: re-run a read-modify-CAS step while another writer keeps winning.
import { setTimeout as sleep } from 'node:timers/promises';
import { isConflict } from '../../src/datastore/types.js';
import { IpamContentionError } from './errors.js';

export interface RetryPolicy {
  /** Total tries including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Source of jitter in [0, 1); injectable so tests are reproducible. */
  random: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 60,
  baseDelayMs: 2,
  maxDelayMs: 200,
  random: Math.random,
};

/**
 * Runs `step` until it does not throw a Conflict. Waits a "full jitter" exponential backoff in
 * between so that writers racing for one block spread out instead of colliding again in lockstep.
 * Any other error propagates at once; an exhausted budget becomes IpamContentionError.
 */
export async function retryOnConflict<T>(
  what: string,
  step: () => Promise<T>,
  policy: RetryPolicy,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (attempt >= policy.attempts) throw new IpamContentionError(what, attempt, err as Error);
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(policy.random() * cap);
    }
  }
}
