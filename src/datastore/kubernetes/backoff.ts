// Reconnect delays: exponential with "equal jitter" (half fixed, half random), so that the
// agents of a cluster neither hammer a down API server nor return to it in the same millisecond.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Jitter source in [0, 1); injectable for reproducible tests. */
  random: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 10_000, random: Math.random };

/** The delay before retry number `attempt` (1-based): uniform in [cap/2, cap]. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return cap / 2 + (policy.random() * cap) / 2;
}
