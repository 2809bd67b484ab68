// Child process for the multi-process tests (forked with IPC; not a test file itself).
//   cas <dir> <count> <retain> CAS-increment Counter "c" count times, retrying on Conflict
//   writer <dir> <id> <count>  create then update Item "w<id>-<i>" for i < count
//   chaos <dir> <id>           random creates/updates/deletes until killed, acking creates/updates
// Every mode opens the store, sends {ready}, waits for "go", works, then sends {done} or acks.
import { FileDatastore } from '../../src/datastore/file.js';
import { isAlreadyExists, isConflict, isNotFound, type Resource } from '../../src/datastore/types.js';

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; conflicts: number; ms: number }
  | { type: 'ack'; rv: string; name: string; op: 'ADDED' | 'MODIFIED' };

type Counter = Resource<{ n: number }>;

const send = (m: WorkerMessage): Promise<void> =>
  new Promise((resolve, reject) => process.send!(m, undefined, {}, (e) => (e ? reject(e) : resolve())));

const go = (): Promise<void> => new Promise((resolve) => process.once('message', () => resolve()));

async function casIncrements(ds: FileDatastore, count: number): Promise<number> {
  let conflicts = 0;
  for (let done = 0; done < count; ) {
    const cur = (await ds.get<Counter>('Counter', 'c'))!;
    try {
      await ds.update({ ...cur, spec: { n: cur.spec!.n + 1 } });
      done++;
    } catch (e) {
      if (!isConflict(e)) throw e;
      conflicts++;
    }
  }
  return conflicts;
}

async function writeItems(ds: FileDatastore, id: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const item = await ds.create({
      apiVersion: 'v1',
      kind: 'Item',
      metadata: { name: `w${id}-${i}` },
      spec: { i },
    });
    await ds.update({ ...item, spec: { i, updated: true } });
  }
}

async function chaos(ds: FileDatastore, id: string): Promise<never> {
  for (let i = 0; ; i++) {
    const name = `k${Math.floor(Math.random() * 8)}`;
    // Up to ~256 KiB so that a kill often lands inside a write.
    const payload = 'x'.repeat(Math.floor(Math.random() ** 3 * 256 * 1024));
    const obj: Resource = {
      apiVersion: 'v1',
      kind: 'Chaos',
      metadata: { name },
      spec: { by: id, i, payload },
    };
    try {
      const cur = await ds.get('Chaos', name);
      if (cur === undefined) {
        const s = await ds.create(obj);
        await send({ type: 'ack', rv: s.metadata.resourceVersion!, name, op: 'ADDED' });
      } else if (Math.random() < 0.2) {
        // delete() returns no version to ack; creates and updates are what the test checks.
        await ds.delete('Chaos', name, undefined, { resourceVersion: cur.metadata.resourceVersion! });
      } else {
        const s = await ds.update({
          ...obj,
          metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion! },
        });
        await send({ type: 'ack', rv: s.metadata.resourceVersion!, name, op: 'MODIFIED' });
      }
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e) && !isAlreadyExists(e)) throw e;
    }
  }
}

async function main(): Promise<void> {
  const [mode, dir, a, b] = process.argv.slice(2);
  const ds = await FileDatastore.open(dir!, mode === 'cas' ? { retainRecords: Number(b) } : {});
  await send({ type: 'ready' });
  await go();
  const start = performance.now();
  let conflicts = 0;
  if (mode === 'cas') conflicts = await casIncrements(ds, Number(a));
  else if (mode === 'writer') await writeItems(ds, a!, Number(b));
  else if (mode === 'chaos') await chaos(ds, a!);
  else throw new Error(`unknown mode ${mode}`);
  await send({ type: 'done', conflicts, ms: performance.now() - start });
  await ds.close();
  process.disconnect();
}

await main();
