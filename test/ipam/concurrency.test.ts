// Several OS processes sharing one datastore directory: the cross-process guarantees that an
// in-process mutex cannot provide.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpamAllocator } from '../../agent/ipam/allocator.js';
import { checkBlock } from '../../agent/ipam/block.js';
import { IpamGc } from '../../agent/ipam/gc.js';
import type { Datastore } from '../../src/datastore/types.js';
import { Prefix } from '../../src/net/index.js';
import { affinities, blocks, createPool } from './fixtures.js';
import { openStore } from './store.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');

interface Worker {
  child: ChildProcess;
  assigned: Map<string, { address: string; block: string }>;
  failed: string[];
  /** Resolves with the worker's last protocol state. */
  finished: Promise<'done' | 'paused'>;
  ready: Promise<void>;
}

function startWorker(job: WorkerJob, children: ChildProcess[]): Worker {
  const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const assigned = new Map<string, { address: string; block: string }>();
  const failed: string[] = [];
  let onReady!: () => void;
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  const finished = new Promise<'done' | 'paused'>((resolve, reject) => {
    child.on('message', (m: WorkerMessage) => {
      if (m === 'ready') onReady();
      else if (m === 'done' || m === 'paused') resolve(m);
      else if ('assigned' in m) assigned.set(m.assigned, { address: m.address, block: m.block });
      else failed.push(`${m.failed}: ${m.error}`);
    });
    child.on('exit', (code, signal) => reject(new Error(`worker exited early (${code ?? signal})`)));
  });
  child.send(job);
  return { child, assigned, failed, finished, ready };
}

/** What the store says, checked against itself: valid blocks, one owner per block, no address twice. */
async function checkStore(ds: Datastore): Promise<Map<string, string>> {
  const byAddress = new Map<string, string>();
  for (const b of await blocks(ds)) {
    const prefix = Prefix.parse(b.spec.cidr);
    checkBlock(b.spec, Number(prefix.size));
    for (const a of b.spec.allocations) {
      const address = prefix.addressAt(a.ordinal).toString();
      assert.ok(!byAddress.has(address), `${address} allocated twice`);
      byAddress.set(address, a.handle);
    }
  }
  const owners = new Map<string, string[]>();
  for (const a of await affinities(ds))
    owners.set(a.spec.cidr, [...(owners.get(a.spec.cidr) ?? []), a.spec.node]);
  for (const b of await blocks(ds)) {
    if (b.spec.affinity === null) continue;
    assert.deepEqual(
      owners.get(b.spec.cidr),
      [b.spec.affinity],
      `block ${b.spec.cidr} claimed by one node only`,
    );
  }
  return byAddress;
}

describe('ipam/concurrency (separate processes)', function () {
  this.timeout(60_000);
  let dir: string;
  let ds: Datastore;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-ipam-mp-'));
    ds = await openStore(dir);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await ds.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function race(nodes: string[], perNode: number): Promise<Worker[]> {
    const workers = nodes.map((node) =>
      startWorker(
        {
          dir,
          node,
          handles: Array.from({ length: perNode }, (_, i) => `${node}-c${i}.eth0`),
          concurrency: 4,
        },
        children,
      ),
    );
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.child.send('go');
    assert.deepEqual(
      await Promise.all(workers.map((w) => w.finished)),
      nodes.map(() => 'done'),
    );
    return workers;
  }

  async function assertConsistent(workers: Worker[], total: number): Promise<void> {
    for (const w of workers) assert.deepEqual(w.failed, []);
    const handed = workers.flatMap((w) => [...w.assigned].map(([h, a]) => [a.address, h] as const));
    assert.equal(handed.length, total);
    assert.equal(new Set(handed.map(([addr]) => addr)).size, total, 'no address handed out twice');
    const stored = await checkStore(ds);
    assert.deepEqual(new Map(handed), stored, 'the store holds exactly what the workers were given');
  }

  it('3 nodes claiming blocks at once never share an address or a block', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/24', blockSize: 28 });
    const workers = await race(['n1', 'n2', 'n3'], 60);
    await assertConsistent(workers, 180);
    assert.ok((await blocks(ds)).every((b) => b.spec.affinity !== null));
  });

  it('3 nodes fighting over 4 blocks fill the pool by claiming and borrowing, without collisions', async () => {
    await createPool(ds, 'p', { cidr: '10.0.1.0/26', blockSize: 28 });
    const workers = await race(['n1', 'n2', 'n3'], 20);
    await assertConsistent(workers, 60);
    assert.equal((await blocks(ds)).length, 4);
  });

  for (const [what, pauseAfter, survivors] of [
    ['mid-claim (block created, affinity still pending)', { kind: 'IPAMBlock', op: 'create', nth: 2 }, 16],
    ['mid-assign (address written, never reported)', { kind: 'IPAMBlock', op: 'update', nth: 5 }, 4],
  ] as const) {
    it(`a process SIGKILLed ${what} leaves nothing GC cannot reclaim`, async () => {
      await createPool(ds, 'p', { cidr: '10.0.2.0/24', blockSize: 28 });
      const handles = Array.from({ length: 40 }, (_, i) => `k${i}.eth0`);
      const w = startWorker({ dir, node: 'n1', handles, concurrency: 1, pauseAfter }, children);
      await w.ready;
      w.child.send('go');
      assert.equal(await w.finished, 'paused');
      w.child.kill('SIGKILL');
      await new Promise((r) => w.child.once('exit', r));
      assert.equal(w.assigned.size, survivors);

      const ipam = new IpamAllocator(ds);
      const gc = new IpamGc(ds, ipam, { node: 'n1', minIntervalMs: 0, releaseEmptyBlocksAfterMs: 0 });
      const live = [...w.assigned.keys()];
      await gc.gc(live);
      await gc.gc(live);
      const after = await checkStore(ds);
      assert.deepEqual(
        [...after.values()].sort(),
        live.sort(),
        'exactly the reported attachments keep addresses',
      );
      const aff = await affinities(ds);
      assert.ok(
        aff.every((a) => a.spec.state === 'confirmed'),
        'no pending affinity left',
      );
      assert.ok(
        (await blocks(ds)).every((b) => b.spec.allocations.length > 0),
        'no empty block left',
      );
      assert.equal(aff.length, (await blocks(ds)).length);
      // And the node carries on normally.
      const next = await ipam.assign({ handle: 'after.eth0', node: 'n1' });
      assert.equal(next.v4!.borrowed, false);
    });
  }
});
