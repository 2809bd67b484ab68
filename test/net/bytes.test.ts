import assert from 'node:assert/strict';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import {
  formatAddressBytes,
  hasHostBitsAt,
  type IPFamily,
  parseAddressBytes,
  parseCidrBytes,
  parseIPv4Number,
  parsePrefixLength,
  writeAddressBytes,
} from '../../src/net/index.js';

const byte = fc.integer({ min: 0, max: 255 });
/** Zero-heavy bytes so that '::' placement and its tie rule get exercised. */
const v6Byte = fc.oneof(fc.constant(0), fc.constant(0), byte);
const bytesOf = (family: IPFamily): fc.Arbitrary<Uint8Array> =>
  fc
    .array(family === 4 ? byte : v6Byte, {
      minLength: family === 4 ? 4 : 16,
      maxLength: family === 4 ? 4 : 16,
    })
    .map((b) => Uint8Array.from(b));
const addressBytes = fc
  .constantFrom<IPFamily>(4, 6)
  .chain((family) => bytesOf(family).map((bytes) => ({ family, bytes })));

/** ipaddr.js's canonical text: the oracle for formatting. */
const ipaddrText = (bytes: Uint8Array): string => {
  const ip = ipaddr.fromByteArray(Array.from(bytes));
  return ip instanceof ipaddr.IPv6 ? ip.toRFC5952String() : ip.toString();
};

/** Text that is not an address of either family; the negative cases of the parsers this one replaced. */
const MALFORMED_V4 = [
  '',
  '10.0.0',
  '1.2.3',
  '10.1',
  '1.2.3.4.5',
  '10.0.0.1.2',
  '010.0.0.1',
  '01.2.3.4',
  '0x0a.0.0.1',
  '0x1.2.3.4',
  '256.0.0.1',
  '300.0.0.0',
  '10..0.1',
  '1..2.3',
  '1.2.3.',
  '.1.2.3',
  ' 1.2.3.4',
  '1.2.3.4 ',
  'a.b.c.d',
  '+1.2.3.4',
  '1.2.3.-4',
];
const MALFORMED_V6 = [
  '',
  ':',
  ':::',
  '1:::2',
  '1::2::3',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4::5:6:7:8',
  '12345::',
  '00001::',
  'g::',
  'g::1',
  ':1::',
  '1::2:',
  '1:2:3:4:5:6:7:8:',
  ':1:2:3:4:5:6:7:8',
  '::1.2.3',
  '::1.2.3.04',
  '::01.2.3.4',
  '::256.1.1.1',
  '::1.2.3.4:5',
  '1:2:3:4:5:6:7:1.2.3.4',
  '1:2:3:4:5:6::1.2.3.4',
  'fe80::1%eth0',
  '::%0',
  ' ::1',
  '::1 ',
  'fd00::/64',
];

describe('net/bytes', () => {
  it('parses dotted quads and IPv6 text into network-order bytes', () => {
    assert.deepEqual(parseAddressBytes('10.0.255.1'), { family: 4, bytes: Uint8Array.of(10, 0, 255, 1) });
    assert.equal(parseIPv4Number('255.255.255.255'), 0xffffffff);
    assert.equal(parseIPv4Number('x1.2.3.4x', 1, 8), 0x01020304);
    const v6 = parseAddressBytes('2001:DB8::1.2.3.4');
    assert.equal(v6?.family, 6);
    assert.equal(Buffer.from(v6!.bytes).toString('hex'), '20010db8000000000000000001020304');
    assert.equal(formatAddressBytes(parseAddressBytes('::')!.bytes, 0, 6), '::');
    assert.equal(formatAddressBytes(parseAddressBytes('1:2:3:4:5:6:7::')!.bytes, 0, 6), '1:2:3:4:5:6:7:0');
    // RFC 5952 4.2.3: the first of two equally long zero runs is compressed.
    assert.equal(formatAddressBytes(parseAddressBytes('1:0:0:1:0:0:1:1')!.bytes, 0, 6), '1::1:0:0:1:1');
    assert.equal(formatAddressBytes(parseAddressBytes('::ffff:192.0.2.1')!.bytes, 0, 6), '::ffff:c000:201');
  });

  it('rejects the malformed inputs the netlink, BGP and policy parsers rejected', () => {
    const out = Buffer.alloc(20, 0xaa);
    for (const bad of MALFORMED_V4) {
      assert.equal(parseAddressBytes(bad, 4), undefined, bad);
      assert.equal(parseIPv4Number(bad), undefined, bad);
      assert.equal(writeAddressBytes(bad, 4, out, 2), false, bad);
    }
    for (const bad of MALFORMED_V6) {
      assert.equal(parseAddressBytes(bad, 6), undefined, bad);
      assert.equal(parseAddressBytes(bad), undefined, bad);
      assert.equal(writeAddressBytes(bad, 6, out, 2), false, bad);
    }
    assert.deepEqual(out, Buffer.alloc(20, 0xaa), 'a failed write leaves the buffer alone');
  });

  it('keeps to the family asked for', () => {
    assert.equal(parseAddressBytes('10.0.0.1', 6), undefined);
    assert.equal(parseAddressBytes('fd00::1', 4), undefined);
    assert.equal(parseAddressBytes('fd00::1')?.family, 6);
    assert.equal(parseAddressBytes('10.0.0.1')?.family, 4);
  });

  it('round-trips bytes through text, at any offset, touching only its own bytes (property)', () => {
    fc.assert(
      fc.property(addressBytes, fc.nat(8), ({ family, bytes }, offset) => {
        const text = formatAddressBytes(Uint8Array.of(...Array(offset).fill(7), ...bytes), offset, family);
        assert.deepEqual(parseAddressBytes(text), { family, bytes });
        const out = new Uint8Array(offset + bytes.length + 3).fill(0xee);
        assert.ok(writeAddressBytes(text, family, out, offset));
        assert.deepEqual(out.subarray(offset, offset + bytes.length), bytes);
        assert.ok(out.subarray(0, offset).every((b) => b === 0xee));
        assert.ok(out.subarray(offset + bytes.length).every((b) => b === 0xee));
      }),
      { numRuns: 2000 },
    );
  });

  it('formats exactly as ipaddr.js does, and parses its every spelling to the same bytes (property)', () => {
    fc.assert(
      fc.property(addressBytes, ({ family, bytes }) => {
        assert.equal(formatAddressBytes(bytes, 0, family), ipaddrText(bytes));
        const ip = ipaddr.fromByteArray(Array.from(bytes));
        const full = ip.toNormalizedString();
        const padded = full
          .split(':')
          .map((g) => g.padStart(4, '0'))
          .join(':');
        const spellings = ip instanceof ipaddr.IPv6 ? [full, padded, padded.toUpperCase()] : [full];
        for (const text of spellings) assert.deepEqual(parseAddressBytes(text)?.bytes, bytes, text);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts what ipaddr.js accepts, minus zone ids and leading zeros in a dotted tail (property)', () => {
    // Short strings over an address alphabet hit every syntax rule; compared both ways.
    const chars = fc.constantFrom(...'0019aF::::..%g/ ');
    const text = fc.array(chars, { maxLength: 16 }).map((c) => c.join(''));
    const dottedTail = (t: string): string => t.slice(t.lastIndexOf(':') + 1);
    fc.assert(
      fc.property(text, (t) => {
        const v6 = parseAddressBytes(t, 6);
        const oracle =
          ipaddr.IPv6.isValid(t) &&
          !t.includes('%') &&
          (!t.includes('.') || ipaddr.IPv4.isValidFourPartDecimal(dottedTail(t)));
        assert.equal(v6 !== undefined, oracle, t);
        assert.equal(parseAddressBytes(t, 4) !== undefined, ipaddr.IPv4.isValidFourPartDecimal(t), t);
        if (v6 !== undefined && !t.includes('.')) {
          assert.deepEqual(Array.from(v6.bytes), ipaddr.IPv6.parse(t).toByteArray(), t);
        }
      }),
      { numRuns: 10000 },
    );
  });

  it('reads a dotted tail as the last 32 bits, as the WHATWG URL parser does (property)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const parsed = parseAddressBytes(text, 6);
        assert.ok(parsed, text);
        const canonical = formatAddressBytes(parsed.bytes, 0, 6);
        assert.equal(`[${canonical}]`, new URL(`http://[${text}]/`).hostname);
      }),
      { numRuns: 2000 },
    );
  });

  it('parses prefix lengths without sign or leading zeros', () => {
    assert.equal(parsePrefixLength('0'), 0);
    assert.equal(parsePrefixLength('128'), 128);
    assert.equal(parsePrefixLength('a/24', 2), 24);
    for (const bad of ['', '024', '-1', '+1', '1a', '1000', ' 1']) {
      assert.equal(parsePrefixLength(bad), undefined, bad);
    }
  });

  it('parses CIDRs with the length in range for the family', () => {
    assert.deepEqual(parseCidrBytes('10.0.0.1/24'), {
      family: 4,
      bytes: Uint8Array.of(10, 0, 0, 1),
      length: 24,
    });
    assert.equal(parseCidrBytes('fd00::/128')?.length, 128);
    assert.equal(parseCidrBytes('fd00::/8', 4), undefined);
    for (const bad of [
      '10.0.0.0',
      '10.0.0.0/',
      '10.0.0.0/33',
      '10.0.0.0/024',
      '10.0.0.0/-1',
      '10.0.0.0/1a',
      '10.0.0.0/8/8',
      '300.0.0.0/8',
      '010.0.0.0/8',
      'fd00::/129',
      'fe80::1%eth0/64',
      'x/1',
      '/8',
      '',
    ]) {
      assert.equal(parseCidrBytes(bad), undefined, bad);
    }
  });

  it('finds host bits exactly where masking would change the address (property)', () => {
    assert.equal(hasHostBitsAt(Uint8Array.of(10, 0, 0, 0), 0, 4, 8), false);
    assert.equal(hasHostBitsAt(Uint8Array.of(10, 0, 0, 1), 0, 4, 31), true);
    assert.equal(hasHostBitsAt(Uint8Array.of(10, 0, 0, 1), 0, 4, 32), false);
    fc.assert(
      fc.property(
        addressBytes.chain((a) => fc.record({ a: fc.constant(a), length: fc.nat(a.bytes.length * 8) })),
        fc.nat(4),
        ({ a, length }, offset) => {
          const masked = a.bytes.map((b, i) => b & (0xff << Math.max(0, Math.min(8, 8 * (i + 1) - length))));
          const buf = Uint8Array.of(...Array(offset).fill(0xff), ...a.bytes, 0xff);
          const expected = masked.some((b, i) => b !== a.bytes[i]);
          assert.equal(hasHostBitsAt(buf, offset, a.family, length), expected);
        },
      ),
    );
  });
});
