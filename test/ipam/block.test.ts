import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  allocate,
  allocationsOf,
  checkBlock,
  emptyBlock,
  freeCount,
  releaseAllocation,
  releaseHandle,
  utilisation,
} from '../../agent/ipam/block.js';
import { BlockFullError, InvalidBlockError, IpamRequestError } from '../../agent/ipam/errors.js';
import type { IPAMBlockSpec } from '../../agent/ipam/types.js';

const fresh = (size = 8, reserved?: number[]): IPAMBlockSpec =>
  emptyBlock({ cidr: '10.0.0.0/29', pool: 'p', affinity: 'n1', size, ...(reserved ? { reserved } : {}) });

const ordinals = (spec: IPAMBlockSpec): number[] => spec.allocations.map((a) => a.ordinal);

describe('ipam/block', () => {
  it('hands out ordinals from the head of the free list with increasing seq', () => {
    const a = allocate(fresh(), { handle: 'h1', count: 2, attributes: { node: 'n1' } });
    assert.deepEqual(
      a.allocated.map((x) => [x.ordinal, x.seq]),
      [
        [0, 1],
        [1, 2],
      ],
    );
    assert.deepEqual(a.spec.unallocated, [2, 3, 4, 5, 6, 7]);
    assert.equal(a.spec.nextSeq, 3);
    assert.deepEqual(a.allocated[0]!.attributes, { node: 'n1' });
  });

  it('reuses the longest-idle address first (FIFO)', () => {
    let s = fresh(4);
    s = allocate(s, { handle: 'a', count: 1 }).spec; // 0
    s = allocate(s, { handle: 'b', count: 1 }).spec; // 1
    s = allocate(s, { handle: 'c', count: 1 }).spec; // 2
    s = releaseHandle(s, 'b').spec; // free: 3, 1
    s = releaseHandle(s, 'a').spec; // free: 3, 1, 0
    const next = allocate(s, { handle: 'd', count: 3 });
    assert.deepEqual(
      next.allocated.map((x) => x.ordinal),
      [3, 1, 0],
    );
  });

  it('never hands out reserved ordinals, even when an operator left them in the free list', () => {
    const s = fresh(4, [0, 3]);
    assert.deepEqual(s.unallocated, [1, 2]);
    assert.equal(freeCount(s), 2);
    const edited: IPAMBlockSpec = { ...s, reserved: [0, 3, 1] };
    checkBlock(edited, 4);
    assert.equal(freeCount(edited), 1);
    const r = allocate(edited, { handle: 'h', count: 1 });
    assert.deepEqual(ordinals(r.spec), [2]);
    assert.deepEqual(r.spec.unallocated, [1]);
    assert.throws(() => allocate(r.spec, { handle: 'h2', count: 1 }), BlockFullError);
  });

  it('a reserved ordinal allocated before its reservation is not put back on release', () => {
    let s = allocate(fresh(4), { handle: 'h', count: 1 }).spec;
    s = { ...s, reserved: [0] };
    s = releaseHandle(s, 'h').spec;
    assert.deepEqual(s.unallocated, [1, 2, 3]);
    checkBlock(s, 4);
  });

  it('is all-or-nothing when the block cannot satisfy the count', () => {
    const s = allocate(fresh(4), { handle: 'a', count: 3 }).spec;
    assert.throws(
      () => allocate(s, { handle: 'b', count: 2 }),
      (e: unknown) => e instanceof BlockFullError && e.free === 1 && e.requested === 2,
    );
    assert.equal(freeCount(s), 1);
  });

  it('rejects bad arguments with IpamRequestError', () => {
    assert.throws(() => allocate(fresh(), { handle: '', count: 1 }), IpamRequestError);
    assert.throws(() => allocate(fresh(), { handle: 'h', count: 0 }), IpamRequestError);
    assert.throws(() => allocate(fresh(), { handle: 'h', count: 1.5 }), IpamRequestError);
    assert.throws(() => releaseHandle(fresh(), ''), IpamRequestError);
    assert.throws(
      () => emptyBlock({ cidr: 'x', pool: 'p', affinity: null, size: 4, reserved: [4] }),
      IpamRequestError,
    );
  });

  it('releases by handle idempotently', () => {
    const s = allocate(fresh(), { handle: 'h', count: 2 }).spec;
    const r1 = releaseHandle(s, 'h');
    assert.equal(r1.released.length, 2);
    const r2 = releaseHandle(r1.spec, 'h');
    assert.equal(r2.released.length, 0);
    assert.equal(r2.spec, r1.spec);
  });

  it('release by (handle, ordinal, seq) refuses once the ordinal was re-allocated (ABA)', () => {
    let s = fresh(1);
    const first = allocate(s, { handle: 'h', count: 1 });
    const observed = first.allocated[0]!;
    s = releaseHandle(first.spec, 'h').spec;
    // Same handle and ordinal come back, but with a new seq.
    s = allocate(s, { handle: 'h', count: 1 }).spec;
    const stale = releaseAllocation(s, observed);
    assert.equal(stale.released, undefined);
    assert.equal(stale.spec, s);
    const current = s.allocations[0]!;
    const ok = releaseAllocation(s, current);
    assert.deepEqual(ok.released, current);
    assert.deepEqual(ok.spec.unallocated, [0]);
  });

  it('reports utilisation', () => {
    const s = allocate(fresh(8, [7]), { handle: 'h', count: 3 }).spec;
    assert.deepEqual(utilisation(s, 8), { size: 8, allocated: 3, free: 4, reserved: 1 });
  });

  describe('checkBlock', () => {
    const base = allocate(fresh(4), { handle: 'h', count: 2 }).spec;
    const cases: [string, IPAMBlockSpec, RegExp][] = [
      ['ordinal in two lists', { ...base, unallocated: [0, 2, 3] }, /in both allocations and unallocated/],
      ['lost ordinal', { ...base, unallocated: [2] }, /ordinal 3 is in no list/],
      ['out of range', { ...base, unallocated: [2, 3, 4] }, /outside 0..3/],
      ['duplicate free', { ...base, unallocated: [2, 3, 3] }, /in both unallocated and unallocated/],
      ['seq from the future', { ...base, nextSeq: 2 }, /seq 2, nextSeq is 2/],
      [
        'seq reused',
        { ...base, allocations: base.allocations.map((a) => ({ ...a, seq: 1 })) },
        /seq 1 used twice/,
      ],
      [
        'empty handle',
        { ...base, allocations: base.allocations.map((a) => ({ ...a, handle: '' })) },
        /empty handle/,
      ],
      ['bad reserved', { ...base, reserved: [9] }, /reserved ordinal 9/],
    ];
    for (const [name, spec, re] of cases) {
      it(`rejects ${name}`, () => {
        assert.throws(
          () => checkBlock(spec, 4),
          (e: unknown) => e instanceof InvalidBlockError && re.test(e.message),
        );
      });
    }
    it('accepts what the operations produce', () => checkBlock(base, 4));
  });

  it('property: any sequence of operations keeps allocations, free list and reserved a partition', () => {
    type Op =
      | { op: 'alloc'; handle: number; count: number }
      | { op: 'release'; handle: number }
      | { op: 'releaseExact'; pick: number; stale: boolean };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        op: fc.constant('alloc' as const),
        handle: fc.nat(5),
        count: fc.integer({ min: 1, max: 4 }),
      }),
      fc.record({ op: fc.constant('release' as const), handle: fc.nat(5) }),
      fc.record({ op: fc.constant('releaseExact' as const), pick: fc.nat(), stale: fc.boolean() }),
    );
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 32 })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.uniqueArray(fc.nat(size - 1), { maxLength: size }),
              fc.array(opArb, { maxLength: 60 }),
            ),
          ),
        ([size, reserved, ops]) => {
          let s = emptyBlock({ cidr: 'c', pool: 'p', affinity: null, size, reserved });
          const seqsEver = new Set<number>();
          for (const o of ops) {
            const before = s;
            if (o.op === 'alloc') {
              if (freeCount(s) < o.count) {
                assert.throws(() => allocate(s, { handle: `h${o.handle}`, count: o.count }), BlockFullError);
                continue;
              }
              const r = allocate(s, { handle: `h${o.handle}`, count: o.count });
              assert.equal(r.allocated.length, o.count);
              for (const a of r.allocated) {
                assert.ok(!reserved.includes(a.ordinal));
                assert.ok(!seqsEver.has(a.seq));
                seqsEver.add(a.seq);
              }
              s = r.spec;
            } else if (o.op === 'release') {
              const r = releaseHandle(s, `h${o.handle}`);
              assert.deepEqual(r.released, allocationsOf(before, `h${o.handle}`));
              s = r.spec;
            } else if (s.allocations.length > 0) {
              const target = s.allocations[o.pick % s.allocations.length]!;
              const ref = o.stale ? { ...target, seq: s.nextSeq } : target;
              const r = releaseAllocation(s, ref);
              assert.equal(r.released === undefined, o.stale);
              s = r.spec;
            }
            checkBlock(s, size);
            const all = [...ordinals(s), ...s.unallocated, ...reserved].sort((a, b) => a - b);
            assert.deepEqual(
              all,
              Array.from({ length: size }, (_, i) => i),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
