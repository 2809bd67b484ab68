import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  blockName,
  blockOf,
  carveBlocks,
  InvalidPrefixError,
  IPAddress,
  Prefix,
  parseBlockName,
  parsePrefix,
} from '../../src/net/index.js';

/** A small pool (at most 2^10 blocks) and a block size inside it, for either family. */
const arbPoolAndBlockSize = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 16, max: 32 }))
    .chain(([v, len]) =>
      fc.tuple(
        fc.constant(Prefix.containing(IPAddress.fromBigInt(4, BigInt(v)), len)),
        fc.integer({ min: len, max: Math.min(32, len + 10) }),
      ),
    ),
  fc
    .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 100, max: 128 }))
    .chain(([v, len]) =>
      fc.tuple(
        fc.constant(Prefix.containing(IPAddress.fromBigInt(6, v), len)),
        fc.integer({ min: len, max: Math.min(128, len + 10) }),
      ),
    ),
);

const arbBlock = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
    .map(([v, len]) => Prefix.containing(IPAddress.fromBigInt(4, BigInt(v)), len)),
  fc
    .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }))
    .map(([v, len]) => Prefix.containing(IPAddress.fromBigInt(6, v), len)),
);

describe('net/blocks', () => {
  it('names blocks per the IPAMBlock rule', () => {
    assert.equal(blockName('10.244.0.64/26'), '10-244-0-64-26');
    assert.equal(blockName(parsePrefix('fd00::40/122')), 'fd00--40-122');
    assert.equal(blockName('fd00:0:0:1::/122'), 'fd00-0-0-1---122');
    assert.throws(() => blockName('10.244.0.65/26'), InvalidPrefixError);
  });

  it('parses block names back and rejects non-canonical ones', () => {
    assert.equal(parseBlockName('10-244-0-64-26').toString(), '10.244.0.64/26');
    assert.equal(parseBlockName('fd00--40-122').toString(), 'fd00::40/122');
    for (const bad of ['10-244-0-64', 'fd00-0-0-0-0-0-0-40-122', '10-244-0-65-26', 'node1', '']) {
      assert.throws(() => parseBlockName(bad), InvalidPrefixError, bad);
    }
  });

  it('finds the block of an address', () => {
    assert.equal(blockOf(IPAddress.parse('10.244.0.77'), 26).toString(), '10.244.0.64/26');
    assert.equal(blockOf(IPAddress.parse('fd00::7f'), 122).toString(), 'fd00::40/122');
  });

  it('refuses a block size shorter than the pool', () => {
    assert.throws(() => [...carveBlocks(parsePrefix('10.0.0.0/24'), 23)], RangeError);
  });

  it('carved blocks partition the pool in order (property)', () => {
    fc.assert(
      fc.property(arbPoolAndBlockSize, ([pool, size]) => {
        const blocks = [...carveBlocks(pool, size)];
        assert.equal(BigInt(blocks.length), pool.subnetCount(size));
        assert.ok(blocks[0]!.first.equals(pool.first));
        assert.ok(blocks.at(-1)!.last.equals(pool.last));
        for (let i = 0; i < blocks.length; i++) {
          const b = blocks[i]!;
          assert.equal(b.length, size);
          assert.ok(pool.contains(b));
          // Adjacent and in order: no gaps, no overlaps.
          if (i > 0) assert.equal(blocks[i - 1]!.last.value + 1n, b.first.value);
        }
      }),
    );
  });

  it('blockOf returns the carved block that contains the address (property)', () => {
    fc.assert(
      fc.property(
        arbPoolAndBlockSize.chain(([pool, size]) =>
          fc.tuple(fc.constant(pool), fc.constant(size), fc.bigInt({ min: 0n, max: pool.size - 1n })),
        ),
        ([pool, size, ordinal]) => {
          const addr = pool.addressAt(ordinal);
          const block = blockOf(addr, size);
          assert.ok(block.contains(addr));
          assert.ok(pool.contains(block));
          const index = (addr.value - pool.first.value) >> BigInt(addr.bits - size);
          assert.ok(pool.subnetAt(size, index).equals(block));
        },
      ),
    );
  });

  it('blockName and parseBlockName are inverse and yield DNS-label characters (property)', () => {
    fc.assert(
      fc.property(arbBlock, (block) => {
        const name = blockName(block);
        assert.match(name, /^[0-9a-f-]+$/);
        assert.ok(parseBlockName(name).equals(block));
      }),
    );
  });
});
