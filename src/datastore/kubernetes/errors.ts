// API server failures as datastore errors. The Status object's reason decides where it is
// precise (AlreadyExists vs Conflict share HTTP 409); the HTTP code decides otherwise.
import { DatastoreError, type DatastoreErrorReason } from '../types.js';

/** The fields of a meta/v1 Status the mapping reads. */
export interface ApiStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a Status out of a response body (object or JSON text); anything else gives {}. */
export function parseStatus(body: unknown): ApiStatus {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 200) };
    }
  }
  if (!isObject(value)) return {};
  const s: ApiStatus = {};
  if (typeof value['kind'] === 'string') s.kind = value['kind'];
  if (typeof value['code'] === 'number') s.code = value['code'];
  if (typeof value['reason'] === 'string') s.reason = value['reason'];
  if (typeof value['message'] === 'string') s.message = value['message'];
  return s;
}

export function reasonFor(httpCode: number, status: ApiStatus): DatastoreErrorReason {
  if (httpCode === 404) return 'NotFound';
  if (httpCode === 409) return status.reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
  if (httpCode === 410) return 'Gone';
  if (httpCode === 400 || httpCode === 422) return 'Invalid';
  // 401/403 (credentials, RBAC), 429 (throttled), 5xx: the store cannot be used right now.
  return 'Unavailable';
}

/** The datastore error for a non-2xx answer; `what` names the request, e.g. `update IPPool "p"`. */
export function apiError(httpCode: number, body: unknown, what: string): DatastoreError {
  const status = parseStatus(body);
  const reason = reasonFor(httpCode, status);
  const detail = status.message ?? `HTTP ${httpCode}`;
  const err = new DatastoreError(reason, `${what}: ${detail}`);
  err.cause = { httpCode, status };
  return err;
}

/** A request that got no HTTP answer (refused, reset, timed out) means the API server is unavailable. */
export function transportError(e: unknown, what: string): DatastoreError {
  if (e instanceof DatastoreError) return e;
  const code = isObject(e) && typeof e['code'] === 'string' ? ` (${e['code']})` : '';
  const message = e instanceof Error ? e.message : String(e);
  const err = new DatastoreError('Unavailable', `${what}: API server unreachable${code}: ${message}`);
  err.cause = e;
  return err;
}
