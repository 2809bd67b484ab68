// A separate process that assigns addresses for one node, for the multi-process tests
// (concurrency.test.ts). Not a test file itself. Protocol over the fork IPC channel:
//   parent -> { dir, node, handles, concurrency, pauseAfter? }   then 'go'
//   worker -> 'ready'; { assigned: handle, address, block } per success; 'paused' or 'done'
// With pauseAfter the worker stops dead right after that datastore write succeeds, so the
// parent can SIGKILL it at a precise point of an assign.
import { IpamAllocator } from '../../agent/ipam/allocator.js';
import type { Datastore, Resource } from '../../src/datastore/types.js';
import { openStore } from './store.js';

export interface WorkerJob {
  dir: string;
  node: string;
  handles: string[];
  concurrency: number;
  pauseAfter?: { kind: string; op: 'create' | 'update'; nth: number };
}

export type WorkerMessage =
  | 'ready'
  | 'paused'
  | 'done'
  | { assigned: string; address: string; block: string }
  | { failed: string; error: string };

/** Resolves once the message is handed to the IPC channel, so exiting afterwards loses nothing. */
const send = (m: WorkerMessage): Promise<void> =>
  new Promise((resolve) => {
    process.send!(m, undefined, undefined, () => resolve());
  });

/** Forwards to the real store, but after the nth matching write never returns. */
function pausing(ds: Datastore, pause: NonNullable<WorkerJob['pauseAfter']>): Datastore {
  let seen = 0;
  const hang = async <R extends Resource>(op: 'create' | 'update', obj: R, write: Promise<R>): Promise<R> => {
    const stored = await write;
    if (op === pause.op && obj.kind === pause.kind && ++seen === pause.nth) {
      await send('paused');
      await new Promise(() => {});
    }
    return stored;
  };
  return new Proxy(ds, {
    get(target, prop, receiver) {
      if (prop === 'create') return <R extends Resource>(obj: R) => hang('create', obj, target.create(obj));
      if (prop === 'update') return <R extends Resource>(obj: R) => hang('update', obj, target.update(obj));
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

async function run(job: WorkerJob): Promise<void> {
  const store = await openStore(job.dir);
  const ds = job.pauseAfter ? pausing(store, job.pauseAfter) : store;
  const ipam = new IpamAllocator(ds);
  await send('ready');
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const queue = [...job.handles];
  const lane = async (): Promise<void> => {
    for (let h = queue.shift(); h !== undefined; h = queue.shift()) {
      try {
        const r = await ipam.assign({ handle: h, node: job.node, attributes: { containerID: h } });
        await send({ assigned: h, address: r.v4!.address, block: r.v4!.block });
      } catch (err) {
        await send({ failed: h, error: String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, lane));
  await store.close();
  await send('done');
}

// If the test runner dies, do not linger.
process.on('disconnect', () => process.exit(1));

process.once('message', (job: WorkerJob) => {
  run(job).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
