// Objects as the API server sends them, made into what the datastore contract promises:
// kind and apiVersion always set (typed lists such as PodList leave them out of their items),
// validated and defaulted by validateResource. An invalid object is reported, never thrown
// at a list or watch consumer.

import type { Logger } from '../../log.js';
import type { KindInfo } from '../../resources/index.js';
import { ValidationError, validateResource } from '../../resources/index.js';
import type { Resource } from '../types.js';

export type Decoded = { ok: Resource } | { invalid: ValidationError };

export function decodeObject(info: KindInfo, raw: unknown): Decoded {
  const withType =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw)
      ? { kind: info.kind, apiVersion: info.apiVersion, ...raw }
      : raw;
  try {
    return { ok: validateResource(withType) };
  } catch (e) {
    if (e instanceof ValidationError) return { invalid: e };
    throw e;
  }
}

/** Logs an invalid object with the fields at fault, for list/watch paths that skip it. */
export function logSkipped(log: Logger, err: ValidationError, where: string): void {
  log.error(
    { kind: err.kind, name: err.objectName, issues: err.issues, where },
    `invalid ${err.kind ?? 'object'} skipped: ${err.message}`,
  );
}
