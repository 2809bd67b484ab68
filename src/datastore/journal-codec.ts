// The journal's wire format: JSON lines. The first line is a header naming the version the
// journal starts after (baseRv); every following line is one committed change, and their
// resourceVersions are consecutive (baseRv+1, baseRv+2, ...). Consecutive versions let a
// reader detect both a gap (corruption) and a too-old watch position (Gone) exactly.
import { makeKey, sameKey } from './keys.js';
import { DatastoreError, type Resource, type WatchEventType } from './types.js';

export interface JournalHeader {
  baseRv: number;
}

export interface JournalRecord {
  rv: number;
  type: WatchEventType;
  kind: string;
  ns?: string;
  name: string;
  /** The stored object; for DELETED its last state, carrying the deletion's resourceVersion. */
  object: Resource;
}

/** A journal line that is not a well-formed header or record. */
export class JournalDecodeError extends Error {
  override readonly name = 'JournalDecodeError';
}

const FORMAT = 1;
const EVENT_TYPES: readonly string[] = ['ADDED', 'MODIFIED', 'DELETED'];

export function encodeHeader(header: JournalHeader): string {
  return JSON.stringify({ trellisJournal: FORMAT, baseRv: header.baseRv });
}

export function decodeHeader(line: string): JournalHeader {
  const v = parseObject(line);
  if (v['trellisJournal'] !== FORMAT) throw new JournalDecodeError('not a trellis journal (format 1) header');
  return { baseRv: checkRv(v['baseRv'], 0) };
}

/** One line, no newline. `rv` is written first so the line is greppable by version. */
export function encodeRecord(record: JournalRecord): string {
  const { rv, type, kind, ns, name, object } = record;
  return JSON.stringify(
    ns === undefined ? { rv, type, kind, name, object } : { rv, type, kind, ns, name, object },
  );
}

export function decodeRecord(line: string): JournalRecord {
  const v = parseObject(line);
  const rv = checkRv(v['rv'], 1);
  const type = v['type'];
  if (typeof type !== 'string' || !EVENT_TYPES.includes(type)) {
    throw new JournalDecodeError(`record ${rv}: bad type ${JSON.stringify(type)}`);
  }
  const object = v['object'];
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    throw new JournalDecodeError(`record ${rv}: object missing`);
  }
  const res = object as Resource;
  let key: ReturnType<typeof makeKey>;
  let objectKey: ReturnType<typeof makeKey>;
  try {
    key = makeKey(v['kind'], v['name'], v['ns']);
    objectKey = makeKey(res.kind, res.metadata?.name, res.metadata?.namespace);
  } catch (e) {
    if (e instanceof DatastoreError) throw new JournalDecodeError(`record ${rv}: ${e.message}`);
    throw e;
  }
  if (!sameKey(key, objectKey) || (v['ns'] === undefined) !== (res.metadata.namespace === undefined)) {
    throw new JournalDecodeError(`record ${rv}: key does not match its object`);
  }
  if (res.metadata.resourceVersion !== String(rv)) {
    throw new JournalDecodeError(
      `record ${rv}: object carries resourceVersion ${res.metadata.resourceVersion}`,
    );
  }
  const record: JournalRecord = {
    rv,
    type: type as WatchEventType,
    kind: key.kind,
    name: key.name,
    object: res,
  };
  if (key.namespace !== undefined) record.ns = key.namespace;
  return record;
}

function parseObject(line: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new JournalDecodeError('line is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new JournalDecodeError('line is not an object');
  return v as Record<string, unknown>;
}

function checkRv(v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new JournalDecodeError(`bad resourceVersion ${JSON.stringify(v)}`);
  }
  return v;
}
