import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BgpEncodeError,
  type CodecOptions,
  type DecodedMessage,
  decodeMessage,
  maxMessageLength,
  type PathAttribute,
  type Prefix,
  packUpdates,
  packWithdrawals,
} from '../../bgp/codec/index.js';
import { prefix } from './fixtures/codec-arbitraries.js';

const OPTS: CodecOptions = { fourOctetAs: true, extendedMessage: false };
const EXTENDED: CodecOptions = { ...OPTS, extendedMessage: true };

const BASE: PathAttribute[] = [
  { type: 'origin', origin: 'igp' },
  { type: 'as-path', segments: [{ type: 'sequence', asns: [65001] }] },
  { type: 'communities', communities: [0xfde90001] },
];
const V4_ATTRS: PathAttribute[] = [...BASE, { type: 'next-hop', nextHop: '10.0.0.1' }];
const V6_ATTRS: PathAttribute[] = [
  ...BASE,
  { type: 'mp-reach-nlri', family: 'ipv6', nextHop: '2001:db8::1', nlri: [] },
];

function hosts(count: number): Prefix[] {
  return Array.from({ length: count }, (_, i) => ({
    family: 'ipv4',
    addr: `10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`,
    len: 32,
  }));
}

function updates(messages: Buffer[], opts: CodecOptions) {
  return messages.map((m): Extract<DecodedMessage, { type: 'update' }> => {
    assert.ok(m.length <= maxMessageLength(opts, 2), `${m.length} octets`);
    const d = decodeMessage(m, opts);
    if (d.type !== 'update') assert.fail(d.type);
    assert.deepStrictEqual(d.handling, { kind: 'ok' });
    return d;
  });
}

describe('bgp codec: packUpdates / packWithdrawals', () => {
  it('fills IPv4 /32s into the classic NLRI field up to 4096 octets', () => {
    const prefixes = hosts(2000);
    const out = packUpdates(V4_ATTRS, prefixes, OPTS);
    const decoded = updates(out, OPTS);
    assert.deepStrictEqual(
      decoded.flatMap((u) => u.nlri),
      prefixes,
    );
    // 4096 - 19 header - 4 length fields - 27 attribute octets = 4046: 809 prefixes of 5 octets.
    assert.deepStrictEqual(
      decoded.map((u) => u.nlri.length),
      [809, 809, 382],
    );
    const [origin, asPath, communities, nextHop] = V4_ATTRS;
    for (const u of decoded) assert.deepStrictEqual(u.attributes, [origin, asPath, nextHop, communities]);
  });

  it('uses 65535-octet messages when extended messages were negotiated', () => {
    const out = packUpdates(V4_ATTRS, hosts(20000), EXTENDED);
    // (65535 - 50) / 5 = 13097.
    assert.deepStrictEqual(
      updates(out, EXTENDED).map((u) => u.nlri.length),
      [13097, 6903],
    );
  });

  it('packs IPv6 into MP_REACH_NLRI, switching to an extended attribute length', () => {
    fc.assert(
      fc.property(fc.array(prefix('ipv6'), { maxLength: 600 }), (prefixes) => {
        const decoded = updates(packUpdates(V6_ATTRS, prefixes, OPTS), OPTS);
        const announced = decoded.flatMap((u) =>
          u.attributes.flatMap((a) => (a.type === 'mp-reach-nlri' ? a.nlri : [])),
        );
        assert.deepStrictEqual(announced, prefixes);
        for (const u of decoded) assert.equal(u.attributes[0]?.type, 'mp-reach-nlri');
      }),
      { numRuns: 50 },
    );
  });

  it('withdraws IPv4 in the classic field and IPv6 in MP_UNREACH_NLRI, nothing else in the message', () => {
    fc.assert(
      fc.property(
        fc.array(prefix('ipv4'), { maxLength: 1500 }),
        fc.array(prefix('ipv6'), { maxLength: 600 }),
        (v4, v6) => {
          const d4 = updates(packWithdrawals(v4, OPTS), OPTS);
          assert.deepStrictEqual(
            d4.flatMap((u) => u.withdrawn),
            v4,
          );
          for (const u of d4) assert.deepStrictEqual([u.attributes, u.nlri], [[], []]);
          const d6 = updates(packWithdrawals(v6, OPTS), OPTS);
          const withdrawn = d6.flatMap((u) =>
            u.attributes.flatMap((a) => (a.type === 'mp-unreach-nlri' ? a.withdrawn : [])),
          );
          assert.deepStrictEqual(withdrawn, v6);
          for (const u of d6) assert.deepStrictEqual([u.withdrawn, u.nlri, u.attributes.length], [[], [], 1]);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('returns no messages for no prefixes', () => {
    assert.deepStrictEqual(packUpdates(V4_ATTRS, [], OPTS), []);
    assert.deepStrictEqual(packWithdrawals([], OPTS), []);
  });

  it('refuses mixed families, IPv6 without a next hop, and attributes that leave no room', () => {
    const mixed: Prefix[] = [...hosts(1), { family: 'ipv6', addr: '2001:db8::', len: 32 }];
    assert.throws(() => packUpdates(V4_ATTRS, mixed, OPTS), BgpEncodeError);
    assert.throws(
      () => packUpdates(V4_ATTRS, [{ family: 'ipv6', addr: '::', len: 0 }], OPTS),
      BgpEncodeError,
    );
    const huge: PathAttribute = { type: 'unknown', typeCode: 99, flags: 0xc0, value: Buffer.alloc(4060) };
    assert.throws(() => packUpdates([...V4_ATTRS, huge], hosts(1), OPTS), BgpEncodeError);
  });
});
