import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BgpEncodeError, BgpError, formatPrefix, type Prefix, parsePrefix } from '../../bgp/codec/index.js';
import { decodePrefixes } from '../../bgp/codec/prefix.js';
import { ipv6, prefix } from './fixtures/codec-arbitraries.js';
import { hex } from './fixtures/codec-bytes.js';

const fail = (reason: string): BgpError => new BgpError(3, 10, Buffer.alloc(0), reason);

describe('bgp codec: prefixes and addresses', () => {
  it('formats IPv6 exactly as the WHATWG URL parser canonicalises it (RFC 5952)', () => {
    fc.assert(
      fc.property(ipv6, (text) => {
        assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1));
      }),
      { numRuns: 2000 },
    );
  });

  it('parsePrefix and formatPrefix are inverses on canonical prefixes', () => {
    fc.assert(
      fc.property(fc.oneof(prefix('ipv4'), prefix('ipv6')), (p) => {
        assert.deepStrictEqual(parsePrefix(formatPrefix(p)), p);
      }),
    );
    assert.deepStrictEqual(parsePrefix('2001:DB8::/32'), { family: 'ipv6', addr: '2001:db8::', len: 32 });
  });

  it('rejects host bits, bad lengths and bad addresses with BgpEncodeError', () => {
    for (const bad of [
      '10.0.0.1/24',
      '10.0.0.0/33',
      '10.0.0.0',
      '10.0.0.0/024',
      '2001:db8::1/64',
      '::/129',
      'x/1',
    ]) {
      assert.throws(() => parsePrefix(bad), BgpEncodeError, bad);
    }
  });

  it('decodes minimal-octet NLRI and clears trailing bits (RFC 4271 4.3)', () => {
    const buf = hex('00  08 0a  11 0a0180  20 c0a80101');
    const got = decodePrefixes(buf, 0, buf.length, 'ipv4', fail);
    const want: Prefix[] = [
      { family: 'ipv4', addr: '0.0.0.0', len: 0 },
      { family: 'ipv4', addr: '10.0.0.0', len: 8 },
      { family: 'ipv4', addr: '10.1.128.0', len: 17 },
      { family: 'ipv4', addr: '192.168.1.1', len: 32 },
    ];
    assert.deepStrictEqual(got, want);
    const junk = hex('09 0aff');
    assert.deepStrictEqual(decodePrefixes(junk, 0, junk.length, 'ipv4', fail), [
      { family: 'ipv4', addr: '10.128.0.0', len: 9 },
    ]);
  });

  it('fails on a length beyond the family or an entry that overruns the field (RFC 7606 5.3)', () => {
    for (const [family, bytes] of [
      ['ipv4', '21 0a000000 00'],
      ['ipv4', '18 0a00'],
      ['ipv6', '81 ' + '00'.repeat(17)],
      ['ipv6', '40 20010db8'],
    ] as const) {
      const buf = hex(bytes);
      assert.throws(() => decodePrefixes(buf, 0, buf.length, family, fail), BgpError, bytes);
    }
  });
});
