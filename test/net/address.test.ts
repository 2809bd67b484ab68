import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compareAddresses,
  InvalidAddressError,
  IPAddress,
  isAddress,
  normalizeAddress,
  parseAddress,
} from '../../src/net/index.js';

const arbV4 = fc.integer({ min: 0, max: 0xffffffff }).map((n) => IPAddress.fromBigInt(4, BigInt(n)));
const arbV6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((n) => IPAddress.fromBigInt(6, n));

function assertAddressError(fn: () => unknown, code: InvalidAddressError['code']): void {
  assert.throws(fn, (e: unknown) => e instanceof InvalidAddressError && e.code === code);
}

describe('net/address', () => {
  it('parses and prints canonical IPv4 and RFC 5952 IPv6', () => {
    assert.equal(parseAddress('10.0.0.1').toString(), '10.0.0.1');
    assert.equal(parseAddress('2001:DB8:0:0:0:0:0:1').toString(), '2001:db8::1');
    assert.equal(parseAddress('2001:db8:0:0:1:0:0:1').toString(), '2001:db8::1:0:0:1');
    assert.equal(parseAddress('::').toString(), '::');
    assert.equal(parseAddress('::1.2.3.4').toString(), '::102:304');
    assert.equal(parseAddress('255.255.255.255').value, 0xffffffffn);
  });

  it('rejects classful, octal-looking and malformed IPv4 with a syntax error', () => {
    for (const bad of [
      '10.1',
      '010.0.0.1',
      '0x0a.0.0.1',
      '256.0.0.1',
      '1.2.3.4.5',
      ' 1.2.3.4',
      '',
      '1.2.3.',
    ]) {
      assertAddressError(() => parseAddress(bad), 'syntax');
    }
  });

  it('rejects malformed IPv6 and zone identifiers precisely', () => {
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1']) {
      assertAddressError(() => parseAddress(bad), 'syntax');
    }
    assertAddressError(() => parseAddress('fe80::1%eth0'), 'zone');
  });

  it('handles IPv4-mapped IPv6 explicitly', () => {
    assertAddressError(() => parseAddress('::ffff:10.0.0.1'), 'v4-mapped');
    assert.throws(() => parseAddress('::ffff:10.0.0.1'), /write the IPv4 address 10\.0\.0\.1/);
    const unmapped = parseAddress('::ffff:a00:1', { v4Mapped: 'unmap' });
    assert.equal(unmapped.family, 4);
    assert.equal(unmapped.toString(), '10.0.0.1');
    const kept = parseAddress('::FFFF:10.0.0.1', { v4Mapped: 'keep' });
    assert.equal(kept.family, 6);
    assert.equal(kept.toString(), '::ffff:10.0.0.1');
    assert.equal(normalizeAddress('::ffff:10.0.0.1'), '10.0.0.1');
  });

  it('enforces a requested family', () => {
    assertAddressError(() => parseAddress('10.0.0.1', { family: 6 }), 'family');
    assert.equal(parseAddress('fd00::1', { family: 6 }).family, 6);
    assert.equal(isAddress('10.0.0.1', { family: 4 }), true);
    assert.equal(isAddress('10.0.0.1', { family: 6 }), false);
  });

  it('rejects out-of-range integer values and bytes', () => {
    assert.throws(() => IPAddress.fromBigInt(4, 1n << 32n), RangeError);
    assert.throws(() => IPAddress.fromBigInt(6, -1n), RangeError);
    assert.throws(() => IPAddress.fromBytes([1, 2, 3]), RangeError);
    assert.throws(() => IPAddress.fromBytes([1, 2, 3, 256]), RangeError);
  });

  it('orders IPv4 before IPv6 and numerically within a family', () => {
    const sorted = ['fd00::1', '10.0.0.2', '::1', '10.0.0.10']
      .map((s) => parseAddress(s))
      .sort((a, b) => a.compare(b));
    assert.deepEqual(
      sorted.map((a) => a.toString()),
      ['10.0.0.2', '10.0.0.10', '::1', 'fd00::1'],
    );
  });

  it('orders plain address records like IPAddress values (property)', () => {
    fc.assert(
      fc.property(fc.oneof(arbV4, arbV6), fc.oneof(arbV4, arbV6), (a, b) => {
        const record = { family: b.family, value: b.value };
        assert.equal(compareAddresses(a, record), a.compare(b));
        assert.equal(a.compare(record), a.compare(b));
        assert.equal(a.equals(record), a.compare(b) === 0);
      }),
    );
  });

  it('round-trips text, bytes and integers (property)', () => {
    fc.assert(
      fc.property(fc.oneof(arbV4, arbV6), (addr) => {
        const reparsed = parseAddress(addr.toString(), { v4Mapped: 'keep' });
        assert.ok(reparsed.equals(addr));
        assert.ok(IPAddress.fromBytes(addr.toBytes()).equals(addr));
        assert.equal(addr.toBytes().length, addr.bits / 8);
      }),
    );
  });

  it('agrees with the platform parser on IPv6 text (property)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const addr = parseAddress(text, { v4Mapped: 'keep' });
        assert.ok(parseAddress(addr.toString(), { v4Mapped: 'keep' }).equals(addr));
        // WHATWG URL parsing is an independent IPv6 implementation: same address, same host.
        assert.equal(new URL(`http://[${addr}]/`).hostname, new URL(`http://[${text}]/`).hostname);
      }),
    );
  });

  it('accepts every dotted-quad IPv4 (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        assert.equal(parseAddress(text).toString(), text);
      }),
    );
  });
});
