import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpamAllocator } from '../../agent/ipam/allocator.js';
import { IpamGc, type IpamGcOptions } from '../../agent/ipam/gc.js';
import { FileObservationStore } from '../../agent/ipam/observations.js';
import { API_VERSION, type BlockAffinity, KIND_AFFINITY } from '../../agent/ipam/types.js';
import type { Datastore, Resource } from '../../src/datastore/types.js';
import { affinities, block, blocks, createPool } from './fixtures.js';
import { tempStore } from './store.js';

describe('ipam/gc', () => {
  let ds: Datastore;
  let ipam: IpamAllocator;
  let clock: number;
  let tmp: string;
  const newGc = (opts: Partial<IpamGcOptions> = {}) =>
    new IpamGc(ds, ipam, { node: 'n1', minIntervalMs: 1000, now: () => clock, ...opts });

  beforeEach(async () => {
    ds = await tempStore();
    ipam = new IpamAllocator(ds);
    clock = 1_000_000;
    tmp = await mkdtemp(join(tmpdir(), 'trellis-ipam-gc-'));
    await createPool(ds, 'p', { cidr: '10.0.0.0/24', blockSize: 26 });
  });
  afterEach(async () => {
    await ds.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('frees a leak only on the second observation, and only after minIntervalMs', async () => {
    await ipam.assign({ handle: 'live', node: 'n1' });
    const leaked = (await ipam.assign({ handle: 'gone', node: 'n1' })).v4!;
    await ipam.assign({ handle: 'other-node', node: 'n2' });
    const gc = newGc();
    const r1 = await gc.gc(['live']);
    assert.deepEqual(r1.released, []);
    assert.equal(r1.suspected, 1, "another node's allocation is never this node's suspect");
    clock += 999;
    const r2 = await gc.gc(['live']);
    assert.deepEqual(r2.released, [], 'too soon after the first observation');
    clock += 1;
    const r3 = await gc.gc(['live']);
    assert.deepEqual(r3.released, [{ handle: 'gone', address: leaked.address, block: leaked.block }]);
    assert.deepEqual(
      (await ipam.listAllocations('n1')).map((a) => a.handle),
      ['live'],
    );
    assert.equal((await ipam.listAllocations('n2')).length, 1);
  });

  it('forgets a suspect that became valid between observations', async () => {
    await ipam.assign({ handle: 'h', node: 'n1' });
    const gc = newGc();
    await gc.gc([]);
    clock += 5000;
    assert.equal((await gc.gc(['h'])).suspected, 0);
    clock += 5000;
    const r = await gc.gc([]);
    assert.deepEqual(r.released, [], 'the run of observations restarted');
    assert.equal(r.suspected, 1);
  });

  it('does not free an address re-allocated between observations (ABA)', async () => {
    await ds.delete('IPPool', 'p');
    await createPool(ds, 'one', { cidr: '10.9.9.9/32', blockSize: 32 });
    const first = (await ipam.assign({ handle: 'h', node: 'n1' })).v4!;
    const gc = newGc();
    await gc.gc([]);
    // The old attachment is deleted and a new one with the same handle gets the same address.
    await ipam.releaseByHandle('h');
    const second = (await ipam.assign({ handle: 'h', node: 'n1' })).v4!;
    assert.equal(second.address, first.address);
    clock += 5000;
    const r = await gc.gc([]);
    assert.deepEqual(r.released, []);
    assert.equal(r.suspected, 1, 'the new allocation starts its own observations');
  });

  it('re-validates right before release: a re-allocation in the last moment survives', async () => {
    await ds.delete('IPPool', 'p');
    await createPool(ds, 'one', { cidr: '10.9.9.9/32', blockSize: 32 });
    await ipam.assign({ handle: 'h', node: 'n1' });
    const gc = newGc({
      isAttachmentLive: async (handle) => {
        // Race: between the scan and the release the address is freed and handed out again.
        await ipam.releaseByHandle(handle);
        await ipam.assign({ handle, node: 'n1' });
        return false;
      },
    });
    await gc.gc([]);
    clock += 5000;
    const r = await gc.gc([]);
    assert.deepEqual(r.released, []);
    assert.equal(r.spared, 1);
    assert.equal((await ipam.listAllocations('n1')).length, 1);
  });

  it('spares what the liveness probe says still exists', async () => {
    await ipam.assign({ handle: 'h', node: 'n1' });
    const gc = newGc({ isAttachmentLive: async () => true });
    await gc.gc([]);
    clock += 5000;
    const r = await gc.gc([]);
    assert.equal(r.spared, 1);
    assert.equal((await ipam.listAllocations('n1')).length, 1);
  });

  it('keeps observations in a file so one-shot processes (CNI GC verb) can collect', async () => {
    await ipam.assign({ handle: 'h', node: 'n1' });
    const path = join(tmp, 'state', 'ipam-gc.json');
    assert.equal((await newGc({ observations: new FileObservationStore(path) }).gc([])).suspected, 1);
    clock += 5000;
    const r = await newGc({ observations: new FileObservationStore(path) }).gc([]);
    assert.equal(r.released.length, 1);
  });

  it('a corrupt observation file only delays collection', async () => {
    const { writeFile } = await import('node:fs/promises');
    const path = join(tmp, 'obs.json');
    await writeFile(path, '{not json');
    await ipam.assign({ handle: 'h', node: 'n1' });
    const r = await newGc({ observations: new FileObservationStore(path) }).gc([]);
    assert.deepEqual(r.released, []);
    assert.equal(r.suspected, 1);
  });

  it('finishes or undoes half-done claims', async () => {
    const r = (await ipam.assign({ handle: 'h', node: 'n1' })).v4!;
    const blockObj = await block(ds, r.block);
    const mine = (await affinities(ds))[0]!;
    // A claim that died after creating the block (affinity still pending)...
    await ds.update<BlockAffinity>({ ...mine, spec: { ...mine.spec, state: 'pending' } });
    // ...and one that died before creating it.
    await ds.create<BlockAffinity>({
      apiVersion: API_VERSION,
      kind: KIND_AFFINITY,
      metadata: { name: 'n1.10-0-0-128-26' },
      spec: { node: 'n1', cidr: '10.0.0.128/26', state: 'pending' },
    });
    const gc = newGc();
    const r1 = await gc.gc(['h']);
    assert.equal(r1.suspected, 2);
    clock += 5000;
    const r2 = await gc.gc(['h']);
    assert.deepEqual(r2.affinitiesConfirmed, [`n1.${blockObj.metadata.name}`]);
    assert.deepEqual(r2.affinitiesDeleted, ['n1.10-0-0-128-26']);
    assert.deepEqual(
      (await affinities(ds)).map((a) => a.spec.state),
      ['confirmed'],
    );
  });

  it('leaves an affinity alone if it changed between observations', async () => {
    await ds.create<BlockAffinity>({
      apiVersion: API_VERSION,
      kind: KIND_AFFINITY,
      metadata: { name: 'n1.10-0-0-128-26' },
      spec: { node: 'n1', cidr: '10.0.0.128/26', state: 'pending' },
    });
    const gc = newGc();
    await gc.gc([]);
    const cur = (await affinities(ds))[0]!;
    // Someone (a slow claimer) is still working on it.
    await ds.update({ ...cur, metadata: { ...cur.metadata, labels: { touched: 'yes' } } });
    clock += 5000;
    const r = await gc.gc([]);
    assert.deepEqual(r.affinitiesDeleted, []);
    assert.equal(r.suspected, 1);
  });

  it('releases a block that stayed empty for the grace period, unless it is used meanwhile', async () => {
    await ipam.assign({ handle: 'a', node: 'n1' });
    await ipam.releaseByHandle('a');
    const gc = newGc({ releaseEmptyBlocksAfterMs: 10_000 });
    await gc.gc([]);
    clock += 5000;
    assert.deepEqual((await gc.gc([])).blocksReleased, [], 'grace period not over');
    clock += 5000;
    const r = await gc.gc([]);
    assert.equal(r.blocksReleased.length, 1);
    assert.deepEqual(await blocks(ds), []);
    assert.deepEqual(await affinities(ds), []);

    // An allocation between the observations changes the block's version: no release.
    await ipam.assign({ handle: 'b', node: 'n1' });
    await ipam.releaseByHandle('b');
    await gc.gc([]);
    await ipam.assign({ handle: 'c', node: 'n1' });
    await ipam.releaseByHandle('c');
    clock += 20_000;
    assert.deepEqual((await gc.gc([])).blocksReleased, []);
    assert.equal((await blocks(ds)).length, 1);
    assert.equal((await affinities(ds))[0]!.spec.state, 'confirmed');
  });

  it('aborts an empty-block release when an allocation lands in the middle of it', async () => {
    await ipam.assign({ handle: 'a', node: 'n1' });
    await ipam.releaseByHandle('a');
    // The race: right after GC marks the affinity pendingDeletion, a pod gets an address there.
    const racing: Datastore = new Proxy(ds, {
      get(target, prop, receiver) {
        if (prop === 'update')
          return async <R extends Resource>(obj: R): Promise<R> => {
            const stored = await target.update(obj);
            if ((obj.spec as { state?: string }).state === 'pendingDeletion')
              await ipam.assign({ handle: 'sneaky', node: 'n1' });
            return stored;
          };
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const gc = new IpamGc(racing, ipam, { node: 'n1', minIntervalMs: 0, releaseEmptyBlocksAfterMs: 0 });
    await gc.gc([]);
    const r = await gc.gc(['sneaky']);
    assert.deepEqual(r.blocksReleased, []);
    assert.equal(r.spared, 1);
    assert.equal((await blocks(ds)).length, 1);
    assert.equal((await affinities(ds))[0]!.spec.state, 'confirmed');
    assert.deepEqual(
      (await ipam.listAllocations('n1')).map((a) => a.handle),
      ['sneaky'],
    );
  });

  it('keeps empty blocks by default', async () => {
    await ipam.assign({ handle: 'a', node: 'n1' });
    await ipam.releaseByHandle('a');
    const gc = newGc();
    await gc.gc([]);
    clock += 1e9;
    await gc.gc([]);
    assert.equal((await blocks(ds)).length, 1);
  });
});
