// ConnectRetry backoff: doubles per failed attempt up to a ceiling, minus random jitter so that
// many speakers restarted together spread their reconnects.
import type { ConnectRetrySettings } from './config.js';

/** Milliseconds to wait before attempt number `failures` (1 = after the first failure). */
export function connectRetryDelay(failures: number, settings: ConnectRetrySettings, random: number): number {
  const exponent = Math.max(0, failures - 1);
  // Cap the exponent first: 2 ** 1100 is Infinity and Infinity * 0 jitter is NaN.
  const raw = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(exponent, 52));
  return Math.round(raw * (1 - settings.jitter * random));
}
