// Conversion between codec attribute lists and the RIB model.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AttributeFlag, decodeMessage, encodeMessage, type PathAttribute } from '../../bgp/codec/index.js';
import {
  attrsKey,
  fromCodecAttributes,
  internAttrs,
  RibError,
  toCodecAttributes,
} from '../../bgp/rib/index.js';
import { prefix as arbitraryPrefix } from './fixtures/codec-arbitraries.js';
import { v4Attributes } from './fixtures/rib-builders.js';

const OPTS = { fourOctetAs: true, extendedMessage: false } as const;

describe('bgp/rib codec conversion', () => {
  it('reads every attribute of an IPv4 UPDATE and writes the same list back', () => {
    const list: PathAttribute[] = [
      { type: 'origin', origin: 'egp' },
      { type: 'as-path', segments: [{ type: 'sequence', asns: [65001, 4200000000] }] },
      { type: 'next-hop', nextHop: '192.0.2.9' },
      { type: 'med', med: 7 },
      { type: 'local-pref', localPref: 300 },
      { type: 'atomic-aggregate' },
      { type: 'aggregator', asn: 65001, address: '192.0.2.9' },
      { type: 'communities', communities: [0xfde80001] },
      { type: 'originator-id', originatorId: '10.0.0.1' },
      { type: 'cluster-list', clusterIds: ['10.0.0.2'] },
      {
        type: 'extended-communities',
        communities: [{ typeHigh: 0, typeLow: 2, value: Buffer.from('00010000000a', 'hex') }],
      },
      { type: 'large-communities', communities: [{ globalAdmin: 65000, localData1: 1, localData2: 2 }] },
      {
        type: 'unknown',
        typeCode: 99,
        flags: AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE,
        value: Buffer.from([1]),
      },
    ];
    const { attrs, nextHops } = fromCodecAttributes(list, 'test');
    assert.deepEqual(nextHops, { ipv4: { nextHop: '192.0.2.9' } });
    assert.equal(attrs.localPref, 300);
    assert.equal(attrs.atomicAggregate, true);
    assert.deepEqual(toCodecAttributes(attrs, 'ipv4', nextHops.ipv4!), list);
  });

  it('takes IPv6 global and link-local next hops from MP_REACH_NLRI', () => {
    const { nextHops } = fromCodecAttributes(
      [
        { type: 'origin', origin: 'igp' },
        { type: 'as-path', segments: [] },
        {
          type: 'mp-reach-nlri',
          family: 'ipv6',
          nextHop: '2001:db8::1',
          linkLocalNextHop: 'fe80::1',
          nlri: [],
        },
      ],
      'test',
    );
    assert.deepEqual(nextHops, { ipv6: { nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' } });
  });

  it('refuses a list without ORIGIN or AS_PATH with a RibError naming the source', () => {
    assert.throws(
      () => fromCodecAttributes([{ type: 'as-path', segments: [] }], 'update from tor'),
      (e: unknown) => e instanceof RibError && e.field === 'update from tor' && /ORIGIN/.test(e.message),
    );
    assert.throws(() => fromCodecAttributes([{ type: 'origin', origin: 'igp' }], 'x'), /AS_PATH/);
  });

  it('interns equal attribute sets to one object', () => {
    const a = fromCodecAttributes(v4Attributes({ asPath: [1, 2], communities: [5] }), 'a').attrs;
    const b = fromCodecAttributes(
      v4Attributes({ asPath: [1, 2], communities: [5], nextHop: '192.0.2.77' }),
      'b',
    ).attrs;
    const c = fromCodecAttributes(v4Attributes({ asPath: [1, 2], communities: [6] }), 'c').attrs;
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.ok(Object.isFrozen(a));
  });

  it('property: RIB attributes survive encode/decode of an UPDATE on both AS widths', () => {
    const asn = fc.integer({ min: 1, max: 0xffffffff });
    fc.assert(
      fc.property(
        fc.array(asn, { minLength: 0, maxLength: 6 }),
        fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 4 }),
        fc.boolean(),
        arbitraryPrefix('ipv4'),
        (path, med, communities, fourOctetAs, prefix) => {
          const { attrs } = fromCodecAttributes(v4Attributes({ asPath: path, communities }), 'p');
          const withMed = internAttrs(med === undefined ? attrs : { ...attrs, med });
          const list = toCodecAttributes(withMed, 'ipv4', { nextHop: '198.51.100.1' });
          const opts = { ...OPTS, fourOctetAs };
          const bytes = encodeMessage(
            { type: 'update', withdrawn: [], attributes: list, nlri: [prefix] },
            opts,
          );
          const decoded = decodeMessage(bytes, opts);
          assert.equal(decoded.type, 'update');
          if (decoded.type !== 'update') return;
          const back = fromCodecAttributes(decoded.attributes, 'p');
          assert.equal(attrsKey(back.attrs), attrsKey(withMed));
          assert.equal(back.attrs, withMed);
        },
      ),
      { numRuns: 200 },
    );
  });
});
