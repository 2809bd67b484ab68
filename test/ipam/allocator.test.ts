import assert from 'node:assert/strict';
import { IpamAllocator } from '../../agent/ipam/allocator.js';
import { InvalidBlockError, IpamExhaustedError, IpamRequestError } from '../../agent/ipam/errors.js';
import { API_VERSION, type IPAMBlock, KIND_BLOCK } from '../../agent/ipam/types.js';
import type { Datastore } from '../../src/datastore/types.js';
import { affinities, block, blocks, createPool } from './fixtures.js';
import { tempStore } from './store.js';

describe('ipam/allocator', () => {
  let ds: Datastore;
  let ipam: IpamAllocator;

  beforeEach(async () => {
    ds = await tempStore();
    ipam = new IpamAllocator(ds);
  });
  afterEach(async () => {
    await ds.close();
  });

  it('claims a block for the node and assigns from it', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/24', blockSize: 26 });
    const r = await ipam.assign({ handle: 'c1.eth0', node: 'n1', attributes: { pod: 'a', namespace: 'ns' } });
    assert.ok(r.v4 && !r.v6);
    assert.equal(r.v4.prefixLen, 32);
    assert.equal(r.v4.pool, 'p');
    assert.equal(r.v4.borrowed, false);
    assert.match(r.v4.block, /^10\.0\.0\.(0|64|128|192)\/26$/);
    assert.equal(r.v4.address, r.v4.block.replace(/\/26$/, ''));
    const b = await block(ds, r.v4.block);
    assert.equal(b.spec.affinity, 'n1');
    assert.deepEqual(b.spec.allocations[0]!.attributes, { pod: 'a', namespace: 'ns', node: 'n1' });
    const aff = await affinities(ds);
    assert.deepEqual(
      aff.map((a) => [a.metadata.name, a.spec.state]),
      [[`n1.${b.metadata.name}`, 'confirmed']],
    );
  });

  it('is idempotent per handle', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/24' });
    const a = await ipam.assign({ handle: 'h', node: 'n1' });
    const b = await ipam.assign({ handle: 'h', node: 'n1' });
    assert.deepEqual(b, a);
    assert.equal((await blocks(ds))[0]!.spec.allocations.length, 1);
  });

  it('fills the affine block before claiming another, then reuses the longest-idle address', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/29', blockSize: 30 });
    const addr = async (h: string) => (await ipam.assign({ handle: h, node: 'n1' })).v4!.address;
    const first = [await addr('a'), await addr('b'), await addr('c')];
    assert.equal((await blocks(ds)).length, 1);
    await ipam.releaseByHandle('b');
    await ipam.releaseByHandle('a');
    const base = first[0]!.split('.').map(Number);
    const at = (o: number) => [...base.slice(0, 3), base[3]! + o].join('.');
    assert.deepEqual([await addr('d'), await addr('e'), await addr('f')], [at(3), at(1), at(0)]);
    assert.equal((await blocks(ds)).length, 1);
    await addr('g');
    assert.equal((await blocks(ds)).length, 2, 'a full block makes the node claim a second one');
  });

  it('throws IpamExhaustedError naming the pools and changes nothing', async () => {
    await createPool(ds, 'small', { cidr: '10.0.0.0/30', blockSize: 30 });
    for (let i = 0; i < 4; i++) await ipam.assign({ handle: `h${i}`, node: 'n1' });
    const before = await blocks(ds);
    await assert.rejects(
      ipam.assign({ handle: 'h4', node: 'n1' }),
      (e: unknown) => e instanceof IpamExhaustedError && e.family === 4 && e.pools.join() === 'small',
    );
    assert.deepEqual(await blocks(ds), before);
  });

  it('borrows a single address from another node once every block is owned', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/30', blockSize: 30 });
    const a = await ipam.assign({ handle: 'a', node: 'n1' });
    const b = await ipam.assign({ handle: 'b', node: 'n2' });
    assert.equal(b.v4!.borrowed, true);
    assert.equal(b.v4!.block, a.v4!.block);
    assert.equal((await block(ds, a.v4!.block)).spec.affinity, 'n1', 'lending does not change ownership');
    const mine = await ipam.listAllocations('n2');
    assert.deepEqual(
      mine.map((m) => [m.handle, m.address, m.borrowed]),
      [['b', b.v4!.address, true]],
    );
    assert.deepEqual(
      (await ipam.listAllocations('n1')).map((m) => [m.handle, m.borrowed]),
      [['a', false]],
    );
    assert.equal((await affinities(ds)).length, 1, 'borrowing claims no block');
  });

  it('takes over an unowned block before carving a new one', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/30', blockSize: 30 });
    const first = await ipam.assign({ handle: 'a', node: 'n1' });
    const stored = await block(ds, first.v4!.block);
    await ds.update<IPAMBlock>({ ...stored, spec: { ...stored.spec, affinity: null } });
    const got = await ipam.assign({ handle: 'b', node: 'n2' });
    assert.equal(got.v4!.borrowed, false);
    assert.equal((await block(ds, first.v4!.block)).spec.affinity, 'n2');
  });

  it('assigns both families, and is all-or-nothing when one is exhausted', async () => {
    await createPool(ds, 'v4', { cidr: '10.0.0.0/24' });
    await createPool(ds, 'v6', { cidr: 'fd00::/126', blockSize: 126 });
    const r = await ipam.assign({ handle: 'a', node: 'n1', v6: true });
    assert.equal(r.v6!.prefixLen, 128);
    assert.match(r.v6!.address, /^fd00::[0-3]?$/);
    for (let i = 0; i < 3; i++) await ipam.assign({ handle: `x${i}`, node: 'n1', v6: true });
    await assert.rejects(ipam.assign({ handle: 'late', node: 'n1', v6: true }), (e: unknown) => {
      return e instanceof IpamExhaustedError && e.family === 6;
    });
    const held = (await blocks(ds)).flatMap((b) => b.spec.allocations.map((x) => x.handle));
    assert.ok(!held.includes('late'), 'the IPv4 address taken first was released again');
    assert.equal(held.length, 8);
  });

  it('completes a handle that holds only one family instead of allocating it twice', async () => {
    await createPool(ds, 'v4', { cidr: '10.0.0.0/24' });
    await createPool(ds, 'v6', { cidr: 'fd00::/120', blockSize: 122 });
    const v4only = await ipam.assign({ handle: 'a', node: 'n1' });
    const both = await ipam.assign({ handle: 'a', node: 'n1', v6: true });
    assert.deepEqual(both.v4, v4only.v4);
    assert.ok(both.v6);
    assert.equal((await ipam.listAllocations('n1')).length, 2);
  });

  it('uses only pools whose nodeSelector matches and that are enabled', async () => {
    await createPool(ds, 'gpu', { cidr: '10.1.0.0/24', nodeSelector: { matchLabels: { gpu: 'yes' } } });
    await createPool(ds, 'off', { cidr: '10.2.0.0/24', disabled: true });
    await assert.rejects(
      ipam.assign({ handle: 'a', node: 'n1', nodeLabels: { gpu: 'no' } }),
      (e: unknown) => e instanceof IpamExhaustedError && /no IPv4 pool is eligible/.test(e.message),
    );
    const r = await ipam.assign({ handle: 'a', node: 'n1', nodeLabels: { gpu: 'yes' } });
    assert.equal(r.v4!.pool, 'gpu');
  });

  it('restricts to the requested pools in order', async () => {
    await createPool(ds, 'a', { cidr: '10.1.0.0/24' });
    await createPool(ds, 'b', { cidr: '10.2.0.0/24' });
    assert.equal((await ipam.assign({ handle: 'x', node: 'n1', pools: ['b', 'a'] })).v4!.pool, 'b');
    assert.equal((await ipam.assign({ handle: 'y', node: 'n1', pools: ['a'] })).v4!.pool, 'a');
    // Unrestricted, the node's existing blocks win over claiming a new one, in pool-name order.
    assert.equal((await ipam.assign({ handle: 'w', node: 'n1' })).v4!.pool, 'a');
    assert.equal((await blocks(ds)).length, 2);
    await assert.rejects(ipam.assign({ handle: 'z', node: 'n1', pools: ['c'] }), IpamRequestError);
  });

  it('rejects malformed requests before touching the store', async () => {
    await assert.rejects(ipam.assign({ handle: '', node: 'n1' }), IpamRequestError);
    await assert.rejects(ipam.assign({ handle: 'h', node: '' }), IpamRequestError);
    await assert.rejects(ipam.assign({ handle: 'h', node: 'n1', v4: false }), IpamRequestError);
    await assert.rejects(ipam.releaseByHandle(''), IpamRequestError);
    assert.deepEqual(await blocks(ds), []);
  });

  it('refuses to write into a corrupt block', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/30', blockSize: 30 });
    const corrupt = {
      apiVersion: API_VERSION,
      kind: KIND_BLOCK,
      metadata: { name: '10-0-0-0-30' },
      spec: {
        cidr: '10.0.0.0/30',
        pool: 'p',
        affinity: 'n1',
        allocations: [],
        unallocated: [0, 1, 2],
        nextSeq: 1,
      },
    };
    await ds.create(corrupt);
    await assert.rejects(ipam.assign({ handle: 'h', node: 'n1' }), InvalidBlockError);
    assert.deepEqual((await block(ds, '10.0.0.0/30')).spec, corrupt.spec);
  });

  it('releases by handle, idempotently', async () => {
    await createPool(ds, 'v4', { cidr: '10.0.0.0/24' });
    await createPool(ds, 'v6', { cidr: 'fd00::/120', blockSize: 122 });
    const r = await ipam.assign({ handle: 'a', node: 'n1', v6: true });
    const freed = await ipam.releaseByHandle('a');
    assert.deepEqual(freed.map((f) => f.address).sort(), [r.v4!.address, r.v6!.address].sort());
    assert.deepEqual(await ipam.releaseByHandle('a'), []);
    assert.deepEqual(await ipam.listAllocations('n1'), []);
  });

  it('releaseExact frees an allocation only while it is still the one observed (ABA)', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/32', blockSize: 32 });
    const first = (await ipam.assign({ handle: 'h', node: 'n1' })).v4!;
    await ipam.releaseByHandle('h');
    const again = (await ipam.assign({ handle: 'h', node: 'n1' })).v4!;
    assert.equal(again.address, first.address);
    assert.notEqual(again.seq, first.seq);
    assert.equal(
      await ipam.releaseExact(first.block, { handle: 'h', ordinal: first.ordinal, seq: first.seq }),
      false,
    );
    assert.equal((await ipam.listAllocations('n1')).length, 1);
    assert.equal(
      await ipam.releaseExact(again.block, { handle: 'h', ordinal: again.ordinal, seq: again.seq }),
      true,
    );
    assert.equal((await ipam.listAllocations('n1')).length, 0);
  });

  it('100 parallel assigns on one node get 100 distinct addresses', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/24', blockSize: 26 });
    const got = await Promise.all(
      Array.from({ length: 100 }, (_, i) => ipam.assign({ handle: `c${i}.eth0`, node: 'n1' })),
    );
    assert.equal(new Set(got.map((r) => r.v4!.address)).size, 100);
    const bs = await blocks(ds);
    assert.equal(bs.length, 2, 'exactly as many /26 blocks as 100 addresses need');
    assert.ok(bs.every((b) => b.spec.affinity === 'n1'));
  });

  it('parallel allocators without a shared mutex still never collide (CAS only)', async () => {
    await createPool(ds, 'p', { cidr: '10.0.0.0/24', blockSize: 28 });
    const allocators = Array.from({ length: 4 }, () => new IpamAllocator(ds));
    const got = await Promise.all(
      Array.from({ length: 80 }, (_, i) => allocators[i % 4]!.assign({ handle: `c${i}`, node: `n${i % 2}` })),
    );
    assert.equal(new Set(got.map((r) => r.v4!.address)).size, 80);
    const owners = (await blocks(ds)).map((b) => b.spec.cidr);
    assert.equal(new Set(owners).size, owners.length);
  });
});
