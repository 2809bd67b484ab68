// Pure decisions for create/update/delete: given the current stored object, either the journal
// record to commit or a typed error. No I/O, so the checks are the same whoever calls them.
import type { JournalRecord } from './journal-codec.js';
import { describeKey, type ResourceKey } from './keys.js';
import { DatastoreError, type Resource } from './types.js';

export interface ServerFields {
  uid: string;
  /** RFC 3339, seconds precision, like the API server. */
  creationTimestamp: string;
}

/** JSON round-trip: what is stored is exactly what JSON can represent, so every reader sees the same value. */
const toJson = (obj: Resource): Resource => JSON.parse(JSON.stringify(obj)) as Resource;

function stamp(obj: Resource, key: ResourceKey, rv: number, server: ServerFields): Resource {
  const stored = toJson(obj);
  const metadata = { ...stored.metadata, resourceVersion: String(rv), ...server };
  if (key.namespace === undefined) delete metadata.namespace;
  return { ...stored, metadata };
}

function record(type: JournalRecord['type'], key: ResourceKey, rv: number, object: Resource): JournalRecord {
  const r: JournalRecord = { rv, type, kind: key.kind, name: key.name, object };
  if (key.namespace !== undefined) r.ns = key.namespace;
  return r;
}

const conflict = (key: ResourceKey): DatastoreError =>
  new DatastoreError(
    'Conflict',
    `operation cannot be fulfilled on ${describeKey(key)}: the object has been modified; ` +
      'apply your changes to the latest version and try again',
  );

const notFound = (key: ResourceKey): DatastoreError =>
  new DatastoreError('NotFound', `${describeKey(key)} not found`);

export function planCreate(
  stored: Resource | undefined,
  obj: Resource,
  key: ResourceKey,
  rv: number,
  server: ServerFields,
): JournalRecord {
  if (stored !== undefined) throw new DatastoreError('AlreadyExists', `${describeKey(key)} already exists`);
  return record('ADDED', key, rv, stamp(obj, key, rv, server));
}

/** Returns undefined when the update changes nothing: like the API server, no new version is written. */
export function planUpdate(
  stored: Resource | undefined,
  obj: Resource,
  key: ResourceKey,
  rv: number,
): JournalRecord | undefined {
  if (stored === undefined) throw notFound(key);
  if (obj.metadata.resourceVersion !== stored.metadata.resourceVersion) throw conflict(key);
  // uid and creationTimestamp are server-owned: carried over, whatever the caller sent.
  const server: ServerFields = {
    uid: stored.metadata.uid ?? '',
    creationTimestamp: stored.metadata.creationTimestamp ?? '',
  };
  const unchanged = stamp(obj, key, Number(stored.metadata.resourceVersion), server);
  if (JSON.stringify(unchanged) === JSON.stringify(stored)) return undefined;
  return record('MODIFIED', key, rv, stamp(obj, key, rv, server));
}

export function planDelete(
  stored: Resource | undefined,
  key: ResourceKey,
  rv: number,
  expectedRv: string | undefined,
): JournalRecord {
  if (stored === undefined) throw notFound(key);
  if (expectedRv !== undefined && expectedRv !== stored.metadata.resourceVersion) throw conflict(key);
  return record('DELETED', key, rv, {
    ...stored,
    metadata: { ...stored.metadata, resourceVersion: String(rv) },
  });
}
