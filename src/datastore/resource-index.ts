// The in-memory view of the store in one process: every object, as of one resourceVersion.
// It is only ever advanced by applying journal records in order, so it is exactly the state
// at `rv` and list()/CAS checks never touch the disk.
import type { JournalRecord } from './journal-codec.js';
import type { ResourceKey } from './keys.js';
import type { Resource } from './types.js';

const innerKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export class ResourceIndex {
  private readonly byKind = new Map<string, Map<string, Resource>>();

  private constructor(private version: number) {}

  static from(objects: Iterable<Resource>, rv: number): ResourceIndex {
    const index = new ResourceIndex(rv);
    for (const obj of objects) index.put(obj.kind, obj.metadata.namespace, obj.metadata.name, obj);
    return index;
  }

  get rv(): number {
    return this.version;
  }

  get(key: ResourceKey): Resource | undefined {
    return this.byKind.get(key.kind)?.get(innerKey(key.namespace, key.name));
  }

  /** Sorted by namespace then name (cluster-scoped first), like the API server's key order. */
  list(kind: string, namespace?: string): Resource[] {
    const objects = this.byKind.get(kind);
    if (objects === undefined) return [];
    const keys = [...objects.keys()].sort();
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    const out: Resource[] = [];
    for (const k of keys) if (prefix === undefined || k.startsWith(prefix)) out.push(objects.get(k)!);
    return out;
  }

  /** Records must arrive in order; anything else means the caller lost track of the journal. */
  apply(record: JournalRecord): void {
    if (record.rv !== this.version + 1) {
      throw new Error(`journal record ${record.rv} applied to index at ${this.version}`);
    }
    if (record.type === 'DELETED') {
      const objects = this.byKind.get(record.kind);
      objects?.delete(innerKey(record.ns, record.name));
      if (objects?.size === 0) this.byKind.delete(record.kind);
    } else {
      this.put(record.kind, record.ns, record.name, record.object);
    }
    this.version = record.rv;
  }

  private put(kind: string, namespace: string | undefined, name: string, obj: Resource): void {
    let objects = this.byKind.get(kind);
    if (objects === undefined) {
      objects = new Map();
      this.byKind.set(kind, objects);
    }
    objects.set(innerKey(namespace, name), obj);
  }
}
