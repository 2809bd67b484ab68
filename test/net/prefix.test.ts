import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  InvalidPrefixError,
  IPAddress,
  isPrefix,
  Prefix,
  parseAddress,
  parseInterfaceAddress,
  parsePrefix,
} from '../../src/net/index.js';

const arbPrefix = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
    .map(([v, len]) => Prefix.containing(IPAddress.fromBigInt(4, BigInt(v)), len)),
  fc
    .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }))
    .map(([v, len]) => Prefix.containing(IPAddress.fromBigInt(6, v), len)),
);

/** A prefix and an ordinal inside it. */
const arbPrefixOrdinal = arbPrefix.chain((p) =>
  fc.tuple(fc.constant(p), fc.bigInt({ min: 0n, max: p.size - 1n })),
);

function assertPrefixError(fn: () => unknown, code: InvalidPrefixError['code']): void {
  assert.throws(fn, (e: unknown) => e instanceof InvalidPrefixError && e.code === code);
}

describe('net/prefix', () => {
  it('parses canonical prefixes', () => {
    const p = parsePrefix('10.244.0.0/16');
    assert.equal(p.family, 4);
    assert.equal(p.length, 16);
    assert.equal(p.size, 65536n);
    assert.equal(p.last.toString(), '10.244.255.255');
    assert.equal(parsePrefix('FD00:0::/48').toString(), 'fd00::/48');
    assert.equal(parsePrefix('0.0.0.0/0').size, 1n << 32n);
    assert.equal(parsePrefix('::/0').size, 1n << 128n);
  });

  it('rejects host bits and names the network, unless asked to mask', () => {
    assertPrefixError(() => parsePrefix('10.0.0.1/24'), 'host-bits');
    assert.throws(() => parsePrefix('10.0.0.1/24'), /the network is 10\.0\.0\.0\/24/);
    assert.equal(parsePrefix('10.0.0.1/24', { hostBits: 'mask' }).toString(), '10.0.0.0/24');
    assert.equal(parsePrefix('fd00::1/64', { hostBits: 'mask' }).toString(), 'fd00::/64');
  });

  it('reports syntax, length, family and address errors with a code', () => {
    assertPrefixError(() => parsePrefix('10.0.0.0'), 'syntax');
    assertPrefixError(() => parsePrefix('10.0.0.0/8/8'), 'syntax');
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/08',
      '10.0.0.0/-1',
      '10.0.0.0/1.5',
      'fd00::/129',
    ]) {
      assertPrefixError(() => parsePrefix(bad), 'length');
    }
    assertPrefixError(() => parsePrefix('10.0.0/8'), 'syntax');
    assertPrefixError(() => parsePrefix('::ffff:10.0.0.0/104'), 'v4-mapped');
    assertPrefixError(() => parsePrefix('10.0.0.0/8', { family: 6 }), 'family');
    assert.equal(isPrefix('10.0.0.0/8'), true);
    assert.equal(isPrefix('10.0.0.1/8'), false);
  });

  it('parses interface addresses keeping the host part', () => {
    const ifa = parseInterfaceAddress('10.0.0.7/24');
    assert.equal(ifa.address.toString(), '10.0.0.7');
    assert.equal(ifa.prefix.toString(), '10.0.0.0/24');
    assertPrefixError(() => parseInterfaceAddress('10.0.0.7'), 'syntax');
  });

  it('checks containment and overlap across lengths and families', () => {
    const p16 = parsePrefix('10.244.0.0/16');
    assert.ok(p16.contains(parsePrefix('10.244.3.0/24')));
    assert.ok(p16.contains(p16));
    assert.ok(!p16.contains(parsePrefix('10.0.0.0/8')));
    assert.ok(p16.overlaps(parsePrefix('10.0.0.0/8')));
    assert.ok(!p16.overlaps(parsePrefix('10.245.0.0/16')));
    assert.ok(p16.contains(parseAddress('10.244.255.255')));
    assert.ok(!p16.contains(parseAddress('10.245.0.0')));
    assert.ok(!parsePrefix('::/0').contains(parseAddress('10.0.0.1')));
    assert.ok(!parsePrefix('0.0.0.0/0').overlaps(parsePrefix('::/0')));
  });

  it('maps ordinals to addresses and back, with range errors outside', () => {
    const p = parsePrefix('fd00::40/122');
    assert.equal(p.addressAt(0).toString(), 'fd00::40');
    assert.equal(p.addressAt(63n).toString(), 'fd00::7f');
    assert.throws(() => p.addressAt(64), RangeError);
    assert.throws(() => p.addressAt(-1), RangeError);
    assert.equal(p.ordinalOf(parseAddress('fd00::45')), 5n);
    assert.throws(() => p.ordinalOf(parseAddress('fd00::80')), RangeError);
    assert.deepEqual([...parsePrefix('10.0.0.4/30').addresses()].map(String), [
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.6',
      '10.0.0.7',
    ]);
  });

  it('carves subnets in address order and rejects impossible lengths', () => {
    const p = parsePrefix('10.0.0.0/24');
    assert.deepEqual([...p.subnets(26)].map(String), [
      '10.0.0.0/26',
      '10.0.0.64/26',
      '10.0.0.128/26',
      '10.0.0.192/26',
    ]);
    assert.equal(p.subnetAt(26, 2).toString(), '10.0.0.128/26');
    assert.equal(parsePrefix('fd00::/64').subnetCount(122), 1n << 58n);
    assert.throws(() => p.subnetCount(23), RangeError);
    assert.throws(() => p.subnetCount(33), RangeError);
    assert.throws(() => p.subnetAt(26, 4), RangeError);
  });

  it('Prefix.of refuses host bits; containing masks them', () => {
    assert.throws(() => Prefix.of(parseAddress('10.0.0.1'), 24), RangeError);
    assert.throws(() => Prefix.of(parseAddress('10.0.0.0'), 33), RangeError);
    assert.equal(Prefix.containing(parseAddress('10.0.0.1'), 24).toString(), '10.0.0.0/24');
  });

  it('round-trips through text (property)', () => {
    fc.assert(fc.property(arbPrefix, (p) => assert.ok(parsePrefix(p.toString()).equals(p))));
  });

  it('addressAt and ordinalOf are inverse (property)', () => {
    fc.assert(
      fc.property(arbPrefixOrdinal, ([p, n]) => {
        const addr = p.addressAt(n);
        assert.ok(p.contains(addr));
        assert.equal(p.ordinalOf(addr), n);
      }),
    );
  });

  it('contains(addr) holds exactly for addresses in [first, last] (property)', () => {
    fc.assert(
      fc.property(arbPrefix, fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (p, raw) => {
        const addr = IPAddress.fromBigInt(p.family, raw % (1n << BigInt(p.bits)));
        const inRange = addr.value >= p.first.value && addr.value <= p.last.value;
        assert.equal(p.contains(addr), inRange);
        assert.equal(p.contains({ family: addr.family, value: addr.value }), inRange, 'a plain record');
        if (inRange) assert.ok(p.addressAt(p.ordinalOf(addr)).equals(addr));
      }),
    );
  });

  it('overlap is symmetric and equals sharing an address (property)', () => {
    fc.assert(
      fc.property(arbPrefix, arbPrefix, (a, b) => {
        assert.equal(a.overlaps(b), b.overlaps(a));
        const share = a.family === b.family && a.first.value <= b.last.value && b.first.value <= a.last.value;
        assert.equal(a.overlaps(b), share);
      }),
    );
  });
});
