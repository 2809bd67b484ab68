// Single-process rates of the file store: `node dist/test/datastore/bench.js [count]`.
// Not a test (performance is never asserted); prints one JSON line per measurement.
import { FileDatastore } from '../../src/datastore/file.js';
import { pod, TempDirs } from './helpers.js';

async function rate(what: string, count: number, op: (i: number) => Promise<unknown>): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await op(i);
  const ms = performance.now() - start;
  console.log(
    JSON.stringify({
      what,
      count,
      perSecond: Math.round((count / ms) * 1000),
      usEach: Math.round((ms / count) * 1000),
    }),
  );
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 2000);
  const dirs = new TempDirs();
  const ds = await FileDatastore.open(dirs.make());
  try {
    await rate('create', count, (i) => ds.create(pod(`p${i}`, 'default', { i })));
    await rate('update', count, async (i) => {
      const cur = (await ds.get('Pod', `p${i}`, 'default'))!;
      return ds.update({ ...cur, spec: { i, updated: true } });
    });
    await rate('get', count * 5, (i) => ds.get('Pod', `p${i % count}`, 'default'));
    await rate('list', 50, () => ds.list('Pod'));
  } finally {
    await ds.close();
    dirs.removeAll();
  }
}

await main();
