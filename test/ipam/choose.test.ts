import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  blockCandidates,
  eligiblePools,
  type PoolChoice,
  type StoredPoolSpec,
} from '../../agent/ipam/choose.js';
import { IpamRequestError } from '../../agent/ipam/errors.js';
import { Prefix } from '../../src/net/index.js';

const pools: { name: string; spec: StoredPoolSpec }[] = [
  { name: 'z-v4', spec: { cidr: '10.1.0.0/16' } },
  { name: 'a-v4', spec: { cidr: '10.2.0.0/16', blockSize: 28 } },
  { name: 'off', spec: { cidr: '10.3.0.0/16', disabled: true } },
  { name: 'gpu', spec: { cidr: '10.4.0.0/16', nodeSelector: { matchLabels: { gpu: 'true' } } } },
  { name: 'v6', spec: { cidr: 'fd00:1::/112' } },
];

describe('ipam/choose', () => {
  it('keeps enabled pools of the family that select the node, ordered by name', () => {
    const got = eligiblePools(pools, { family: 4, nodeLabels: {} });
    assert.deepEqual(
      got.map((p) => [p.name, p.blockSize]),
      [
        ['a-v4', 28],
        ['z-v4', 26],
      ],
    );
    assert.deepEqual(
      eligiblePools(pools, { family: 4, nodeLabels: { gpu: 'true' } }).map((p) => p.name),
      ['a-v4', 'gpu', 'z-v4'],
    );
    assert.deepEqual(
      eligiblePools(pools, { family: 6, nodeLabels: {} }).map((p) => [p.name, p.blockSize]),
      [['v6', 122]],
    );
  });

  it('honours an explicit pool list and its order, still filtering', () => {
    const got = eligiblePools(pools, { family: 4, nodeLabels: {}, names: ['z-v4', 'off', 'gpu', 'a-v4'] });
    assert.deepEqual(
      got.map((p) => p.name),
      ['z-v4', 'a-v4'],
    );
    assert.throws(
      () => eligiblePools(pools, { family: 4, nodeLabels: {}, names: ['nope'] }),
      (e: unknown) => e instanceof IpamRequestError && /"nope"/.test(e.message),
    );
  });

  it('walks every block of the pool exactly once, deterministically per node', () => {
    const pool: PoolChoice = { name: 'p', cidr: '10.9.0.0/22', family: 4, blockSize: 26 };
    const a = [...blockCandidates(pool, 'node-a')];
    assert.equal(a.length, 16);
    assert.equal(new Set(a).size, 16);
    const prefix = Prefix.parse(pool.cidr);
    for (const c of a) assert.ok(prefix.contains(Prefix.parse(c)));
    assert.deepEqual([...blockCandidates(pool, 'node-a')], a);
  });

  it('makes different nodes start at different blocks', () => {
    const pool: PoolChoice = { name: 'p', cidr: '10.0.0.0/16', family: 4, blockSize: 26 };
    const starts = new Set<string>();
    for (let i = 0; i < 50; i++) starts.add(blockCandidates(pool, `node-${i}`).next().value!);
    // 50 nodes over 1024 blocks: a collision or two is expected, lockstep is not.
    assert.ok(starts.size >= 45, `only ${starts.size} distinct first blocks`);
  });

  it('handles IPv6 pools far too large to enumerate', () => {
    const pool: PoolChoice = { name: 'big', cidr: 'fd00::/48', family: 6, blockSize: 122 };
    const it = blockCandidates(pool, 'n');
    const first = it.next().value!;
    const second = it.next().value!;
    assert.equal(Prefix.parse(second).network.value - Prefix.parse(first).network.value, 64n);
  });

  it('property: a candidate walk is a permutation of the pool blocks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 22, max: 28 }),
        fc.integer({ min: 0, max: 4 }),
        fc.string(),
        (len, extra, node) => {
          const pool: PoolChoice = { name: 'p', cidr: `10.0.0.0/${len}`, family: 4, blockSize: len + extra };
          const walk = [...blockCandidates(pool, node)].sort();
          const carved = [...Prefix.parse(pool.cidr).subnets(pool.blockSize)].map(String).sort();
          assert.deepEqual(walk, carved);
        },
      ),
    );
  });
});
