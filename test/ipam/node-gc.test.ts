import assert from 'node:assert/strict';
import { IpamAllocator } from '../../agent/ipam/allocator.js';
import { DeletedNodeGc } from '../../agent/ipam/node-gc.js';
import type { Datastore } from '../../src/datastore/types.js';
import { affinities, block, blocks, createPool } from './fixtures.js';
import { tempStore } from './store.js';

describe('ipam/node-gc', () => {
  let ds: Datastore;
  let ipam: IpamAllocator;
  let clock: number;
  const newGc = () => new DeletedNodeGc(ds, ipam, { minIntervalMs: 1000, now: () => clock });

  beforeEach(async () => {
    ds = await tempStore();
    ipam = new IpamAllocator(ds);
    clock = 0;
  });
  afterEach(async () => {
    await ds.close();
  });

  it("reclaims a deleted node's addresses and blocks after two observations", async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/28', blockSize: 29 });
    const dead1 = (await ipam.assign({ handle: 'd1', node: 'dead' })).v4!;
    const live = (await ipam.assign({ handle: 'l1', node: 'live' })).v4!;
    for (let i = 0; i < 7; i++) await ipam.assign({ handle: `l-fill${i}`, node: 'live' });
    // live's block is full now: this one is borrowed from dead's block.
    const borrowed = (await ipam.assign({ handle: 'l-borrow', node: 'live' })).v4!;
    assert.equal(borrowed.borrowed, true);
    assert.equal(borrowed.block, dead1.block);

    const gc = newGc();
    assert.deepEqual(await gc.collect(['live']), { suspected: ['dead'], reclaimed: [] });
    clock += 1000;
    const { reclaimed } = await gc.collect(['live']);
    assert.deepEqual(reclaimed, [
      {
        node: 'dead',
        released: [dead1.address],
        blocksDeleted: [],
        blocksOrphaned: [dead1.block],
        affinitiesDeleted: [`dead.${(await block(ds, dead1.block)).metadata.name}`],
      },
    ]);
    assert.equal(
      (await block(ds, dead1.block)).spec.affinity,
      null,
      'kept for the borrowed address, unowned',
    );
    assert.equal((await block(ds, live.block)).spec.affinity, 'live');
    assert.deepEqual(
      (await affinities(ds)).map((a) => a.spec.node),
      ['live'],
    );
    assert.equal((await ipam.listAllocations('live')).length, 9);

    // Once the borrowed address goes too, any node may take the unowned block over.
    await ipam.releaseByHandle('l-borrow');
    const other = (await ipam.assign({ handle: 'x', node: 'newcomer' })).v4!;
    assert.equal(other.block, dead1.block);
    assert.equal(other.borrowed, false);
  });

  it('deletes the empty blocks of a deleted node', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/24', blockSize: 26 });
    await ipam.assign({ handle: 'd1', node: 'dead' });
    await ipam.assign({ handle: 'l1', node: 'live' });
    const gc = newGc();
    await gc.collect(['live']);
    clock += 1000;
    const [r] = (await gc.collect(['live'])).reclaimed;
    assert.equal(r!.blocksDeleted.length, 1);
    assert.deepEqual(
      (await blocks(ds)).map((b) => b.spec.affinity),
      ['live'],
    );
  });

  it('forgets a node that came back, and never acts on an empty node list', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/24' });
    await ipam.assign({ handle: 'a', node: 'flaky' });
    const gc = newGc();
    await gc.collect(['other']);
    clock += 1000;
    assert.deepEqual(await gc.collect(['flaky']), { suspected: [], reclaimed: [] });
    clock += 1000;
    assert.deepEqual(await gc.collect([]), { suspected: [], reclaimed: [] });
    clock += 1000;
    assert.deepEqual(await gc.collect(['other']), { suspected: ['flaky'], reclaimed: [] });
    assert.equal((await ipam.listAllocations('flaky')).length, 1);
  });
});
