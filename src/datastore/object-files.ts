// The materialized state: one JSON file per object, objects/<kind>/<namespace|_cluster>/<name>.json.
// '_cluster' cannot collide with a namespace (DNS labels have no '_').
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir, isTempFile, removeFileDurable, writeFileAtomic } from './atomic-file.js';
import { describeKey, keyOf, parseResourceVersion, type ResourceKey, sameKey } from './keys.js';
import { DatastoreError, type Resource } from './types.js';

const CLUSTER_SCOPE = '_cluster';
const SUFFIX = '.json';

export class ObjectFiles {
  /** Directories known to exist (and to be durable), so the write path skips mkdir. */
  private readonly knownDirs = new Set<string>();

  constructor(private readonly root: string) {}

  pathOf(key: ResourceKey): string {
    return join(this.root, key.kind, key.namespace ?? CLUSTER_SCOPE, key.name + SUFFIX);
  }

  write(key: ResourceKey, obj: Resource): void {
    const path = this.pathOf(key);
    this.ensureDir(dirname(path));
    writeFileAtomic(path, JSON.stringify(obj));
  }

  remove(key: ResourceKey): void {
    removeFileDurable(this.pathOf(key));
  }

  read(key: ResourceKey): Resource | undefined {
    const path = this.pathOf(key);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return parseObjectFile(path, text, key);
  }

  /** Every object; sweeps temp files left by writers that died (call only under the store lock). */
  loadAll(): { objects: Resource[]; removedTempFiles: number } {
    const objects: Resource[] = [];
    let removedTempFiles = 0;
    for (const kind of readdirSync(this.root)) {
      for (const scope of readdirSync(join(this.root, kind))) {
        const dir = join(this.root, kind, scope);
        for (const file of readdirSync(dir)) {
          const path = join(dir, file);
          if (isTempFile(file)) {
            unlinkSync(path);
            removedTempFiles++;
            continue;
          }
          const name = file.slice(0, -SUFFIX.length);
          const key: ResourceKey =
            scope === CLUSTER_SCOPE ? { kind, name } : { kind, namespace: scope, name };
          objects.push(parseObjectFile(path, readFileSync(path, 'utf8'), key));
        }
        this.knownDirs.add(dir);
      }
    }
    return { objects, removedTempFiles };
  }

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    const kindDir = dirname(dir);
    for (const d of [kindDir, dir]) {
      if (existsSync(d)) continue;
      mkdirSync(d);
      fsyncDir(dirname(d));
    }
    this.knownDirs.add(dir);
  }
}

function parseObjectFile(path: string, text: string, expected: ResourceKey): Resource {
  const corrupt = (why: string): DatastoreError =>
    new DatastoreError('Unavailable', `object file ${path} is corrupt: ${why}`);
  let obj: Resource;
  try {
    obj = JSON.parse(text) as Resource;
    if (!sameKey(keyOf(obj), expected)) throw corrupt(`holds ${describeKey(keyOf(obj))}`);
    parseResourceVersion(obj.metadata.resourceVersion);
  } catch (e) {
    if (e instanceof DatastoreError && e.reason === 'Unavailable') throw e;
    throw corrupt((e as Error).message);
  }
  return obj;
}
