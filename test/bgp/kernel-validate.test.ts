// The allocation-free IPv4 prefix scan kernel sync's route check relies on (checkKernelRoute
// takes a dst it accepts as canonical) against the general prefix parser.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePrefix } from '../../bgp/codec/index.js';
import { scanCanonicalIPv4Cidr } from '../../src/netlink/index.js';

const isCanonicalIPv4Prefix = (text: string): boolean => scanCanonicalIPv4Cidr(text) >= 0;

/** The slow, general answer: parses, is IPv4 and prints back as given. */
function canonicalByParser(text: string): boolean {
  try {
    const p = parsePrefix(text);
    return p.family === 'ipv4' && `${p.addr}/${p.len}` === text;
  } catch {
    return false;
  }
}

const octet = fc.integer({ min: 0, max: 255 });
const dottedPrefix = fc
  .tuple(octet, octet, octet, octet, fc.integer({ min: 0, max: 32 }))
  .map(([a, b, c, d, len]) => `${a}.${b}.${c}.${d}/${len}`);
/** Near misses: the characters a prefix is made of, in any order and length. */
const prefixLike = fc
  .array(fc.constantFrom('0', '1', '2', '5', '9', '.', '/', ':', 'a', ' '), { maxLength: 20 })
  .map((chars) => chars.join(''));

describe('bgp/kernel route check: scanCanonicalIPv4Cidr', () => {
  it('agrees with the prefix parser on dotted quads with any length (host bits set or clear)', () => {
    fc.assert(
      fc.property(dottedPrefix, (text) => assert.equal(isCanonicalIPv4Prefix(text), canonicalByParser(text))),
      { numRuns: 5000 },
    );
  });

  it('agrees with the prefix parser on arbitrary prefix-like text', () => {
    fc.assert(
      fc.property(prefixLike, (text) => assert.equal(isCanonicalIPv4Prefix(text), canonicalByParser(text))),
      { numRuns: 5000 },
    );
  });

  it('accepts the canonical forms and refuses each way of missing them', () => {
    for (const ok of ['0.0.0.0/0', '10.100.0.1/32', '255.255.255.255/32', '10.0.0.0/8', '128.0.0.0/1'])
      assert.equal(isCanonicalIPv4Prefix(ok), true, ok);
    for (const bad of [
      '10.0.0.1/24', // host bits
      '010.0.0.0/8', // leading zero in an octet
      '10.0.0.0/08', // leading zero in the length
      '256.0.0.0/8',
      '10.0.0.0/33',
      '10.0.0/24',
      '10.0.0.0.0/32',
      '10.0.0.0',
      '10.0.0.0/',
      '1.2.3.4/32 ',
      '1000.0.0.0/8',
      '::/0',
    ])
      assert.equal(isCanonicalIPv4Prefix(bad), false, bad);
  });
});
