// Several processes on one store directory: lost updates, cross-process watch order, crashes.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { FileDatastore } from '../../src/datastore/file.js';
import { decodeHeader, decodeRecord, type JournalRecord } from '../../src/datastore/journal-codec.js';
import type { Resource, WatchEvent, WatchHandle } from '../../src/datastore/types.js';
import { TempDirs, until } from './helpers.js';
import type { WorkerMessage } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

interface Worker {
  child: ChildProcess;
  messages: WorkerMessage[];
  exited: Promise<number | null>;
}

describe('FileDatastore: many processes', function () {
  this.timeout(120_000);
  const dirs = new TempDirs();
  const workers: Worker[] = [];
  const handles: WatchHandle[] = [];
  const stores: FileDatastore[] = [];

  const spawn = (...args: string[]): Worker => {
    const child = fork(WORKER, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const messages: WorkerMessage[] = [];
    child.on('message', (m) => messages.push(m as WorkerMessage));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const w = { child, messages, exited };
    workers.push(w);
    return w;
  };
  const ready = (ws: Worker[]) =>
    until(() => ws.every((w) => w.messages.some((m) => m.type === 'ready')), 'workers ready', 30_000);
  const done = (ws: Worker[]) =>
    until(() => ws.every((w) => w.messages.some((m) => m.type === 'done')), 'workers done', 100_000);
  const openStore = async (dir: string, opts = {}) => {
    const ds = await FileDatastore.open(dir, opts);
    stores.push(ds);
    return ds;
  };

  afterEach(async () => {
    for (const h of handles.splice(0)) h.stop();
    for (const ds of stores.splice(0)) await ds.close();
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
    dirs.removeAll();
  });

  it('8 processes racing CAS increments lose no update; a watcher sees every one in order', async () => {
    const dir = dirs.make();
    // Small enough that the journal is compacted under the racing writers and the watcher.
    const RETAIN = 300;
    const ds = await openStore(dir, { retainRecords: RETAIN });
    const PROCS = 8;
    const EACH = 150;
    const c = await ds.create<Resource>({
      apiVersion: 'v1',
      kind: 'Counter',
      metadata: { name: 'c' },
      spec: { n: 0 },
    });
    const seen: number[] = [];
    handles.push(
      ds.watch<Resource<{ n: number }>>(
        'Counter',
        { resourceVersion: c.metadata.resourceVersion! },
        {
          onEvent: (e) => seen.push(e.object.spec!.n),
        },
      ),
    );
    const ws = Array.from({ length: PROCS }, () => spawn('cas', dir, String(EACH), String(RETAIN)));
    await ready(ws);
    const start = performance.now();
    for (const w of ws) w.child.send('go');
    await done(ws);
    const seconds = (performance.now() - start) / 1000;
    const final = await ds.get<Resource<{ n: number }>>('Counter', 'c');
    assert.equal(final?.spec?.n, PROCS * EACH);
    assert.equal(final?.metadata.resourceVersion, String(1 + PROCS * EACH));
    const header = JSON.parse(readFileSync(join(dir, 'journal'), 'utf8').split('\n')[0]!) as {
      baseRv: number;
    };
    assert.ok(header.baseRv > 0, 'the journal was compacted during the race');
    await until(() => seen.length === PROCS * EACH, 'watch events');
    assert.deepEqual(
      seen,
      Array.from({ length: PROCS * EACH }, (_, i) => i + 1),
    );
    const conflicts = ws.reduce(
      (sum, w) => sum + (w.messages.find((m) => m.type === 'done') as { conflicts: number }).conflicts,
      0,
    );
    console.log(
      `      measured: ${PROCS} processes, ${PROCS * EACH} CAS updates in ${seconds.toFixed(2)} s = ` +
        `${Math.round((PROCS * EACH) / seconds)} updates/s, ${conflicts} conflicts retried`,
    );
  });

  it('interleaved writers in two processes: one total order, each writer in its own order', async () => {
    const dir = dirs.make();
    const ds = await openStore(dir);
    const events: WatchEvent[] = [];
    handles.push(ds.watch('Item', { resourceVersion: '0' }, { onEvent: (e) => events.push(e) }));
    const EACH = 100;
    const ws = [spawn('writer', dir, '1', String(EACH)), spawn('writer', dir, '2', String(EACH))];
    await ready(ws);
    for (const w of ws) w.child.send('go');
    await done(ws);
    await until(() => events.length === 4 * EACH, 'all events');
    assert.deepEqual(
      events.map((e) => Number(e.object.metadata.resourceVersion)),
      Array.from({ length: 4 * EACH }, (_, i) => i + 1),
    );
    for (const id of ['1', '2']) {
      const mine = events.filter((e) => e.object.metadata.name.startsWith(`w${id}-`));
      const expected = Array.from({ length: EACH }, (_, i) => [
        `ADDED w${id}-${i}`,
        `MODIFIED w${id}-${i}`,
      ]).flat();
      assert.deepEqual(
        mine.map((e) => `${e.type} ${e.object.metadata.name}`),
        expected,
      );
    }
    const writerOf = events.map((e) => e.object.metadata.name[1]);
    const switches = writerOf.filter((w, i) => i > 0 && w !== writerOf[i - 1]).length;
    assert.ok(switches > 1, `writers did not interleave (${switches} switches)`);
    // A store opened afterwards in this process agrees with the event stream.
    const fresh = await openStore(dir);
    assert.equal((await fresh.list('Item')).items.length, 2 * EACH);
  });

  it('SIGKILLed writers never leave a corrupt or inconsistent store', async () => {
    const dir = dirs.make();
    const ROUNDS = 12;
    const repairs: string[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void repairs.push(JSON.parse(line).msg) },
    );
    let acked: Extract<WorkerMessage, { type: 'ack' }>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ws = [spawn('chaos', dir, 'a'), spawn('chaos', dir, 'b'), spawn('chaos', dir, 'c')];
      await ready(ws);
      for (const w of ws) w.child.send('go');
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 400));
      for (const w of ws) {
        w.child.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, Math.random() * 5));
      }
      await Promise.all(ws.map((w) => w.exited));
      acked = acked.concat(ws.flatMap((w) => w.messages.filter((m) => m.type === 'ack')));
      const ds = await FileDatastore.open(dir, { logger });
      try {
        await assertConsistent(dir, ds, acked);
      } finally {
        await ds.close();
      }
    }
    assert.ok(acked.length > ROUNDS, `workers acknowledged only ${acked.length} writes`);
    const counts = new Map<string, number>();
    for (const r of repairs) counts.set(r, (counts.get(r) ?? 0) + 1);
    console.log(
      `      measured: ${ROUNDS} kill rounds, ${acked.length} acked writes, repairs: ${JSON.stringify(Object.fromEntries(counts))}`,
    );
  });
});

/** Journal well-formed and consecutive; object files = journal replay = what the store lists. */
async function assertConsistent(
  dir: string,
  ds: FileDatastore,
  acked: { rv: string; name: string; op: string }[],
) {
  const text = readFileSync(join(dir, 'journal'), 'utf8');
  assert.ok(text.endsWith('\n'), 'journal ends with a complete line');
  const [header, ...lines] = text.slice(0, -1).split('\n');
  const { baseRv } = decodeHeader(header!);
  const records = lines.map(decodeRecord);
  for (const [i, r] of records.entries()) assert.equal(r.rv, baseRv + 1 + i, 'consecutive versions');
  const lastRv = baseRv + records.length;

  const onDisk = new Map<string, Resource>();
  const objDir = join(dir, 'objects', 'Chaos', '_cluster');
  const files = statSync(objDir, { throwIfNoEntry: false }) ? readdirSync(objDir) : [];
  for (const f of files) {
    assert.ok(!f.startsWith('.'), `temp file ${f} left behind`);
    const obj = JSON.parse(readFileSync(join(objDir, f), 'utf8')) as Resource;
    assert.equal(`${obj.metadata.name}.json`, f);
    assert.ok(Number(obj.metadata.resourceVersion) <= lastRv);
    onDisk.set(obj.metadata.name, obj);
  }
  const lastByName = new Map<string, JournalRecord>();
  for (const r of records) lastByName.set(r.name, r);
  for (const [name, r] of lastByName) {
    if (r.type === 'DELETED') assert.equal(onDisk.has(name), false, `${name} deleted at ${r.rv}`);
    else assert.deepEqual(onDisk.get(name), r.object, `${name} as of ${r.rv}`);
  }
  const listed = await ds.list('Chaos');
  assert.equal(listed.resourceVersion, String(lastRv));
  assert.deepEqual(
    listed.items,
    [...onDisk.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)),
  );
  for (const a of acked) {
    assert.ok(Number(a.rv) <= lastRv, `acked write ${a.rv} lost (store at ${lastRv})`);
    const r = records.find((x) => x.rv === Number(a.rv));
    if (r !== undefined) assert.equal(`${r.type} ${r.name}`, `${a.op} ${a.name}`);
  }
}
