// The datastore the IPAM tests run against: the real embedded store, validating with the
// resource schemas (so every block the allocator writes is also checked by the schema).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDatastore } from '../../src/datastore/file.js';
import type { Datastore } from '../../src/datastore/types.js';
import { validateResource } from '../../src/resources/index.js';

export function openStore(dir: string): Promise<Datastore> {
  return FileDatastore.open(dir, { validate: validateResource });
}

/** A store in a fresh temporary directory; `close` also removes the directory. */
export async function tempStore(): Promise<Datastore> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-ipam-'));
  const ds = await openStore(dir);
  return new Proxy(ds, {
    get(target, prop, receiver) {
      if (prop === 'close')
        return async () => {
          await target.close();
          await rm(dir, { recursive: true, force: true });
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
