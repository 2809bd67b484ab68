// Conversion between codec attribute lists and the RIB model, plus the builders the other rib
// tests share.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AttributeFlag,
  type DecodedUpdate,
  decodeMessage,
  encodeMessage,
  type Origin,
  type PathAttribute,
  parsePrefix,
} from '../../bgp/codec/index.js';
import {
  attrsKey,
  fromCodecAttributes,
  internAttrs,
  type Path,
  type PeerRef,
  RibError,
  toCodecAttributes,
} from '../../bgp/rib/index.js';
import { prefix as arbitraryPrefix } from './fixtures/codec-arbitraries.js';

export function peerRef(id: string, over: Partial<PeerRef> = {}): PeerRef {
  return {
    id,
    address: '192.0.2.1',
    routerId: '192.0.2.1',
    asn: 65001,
    type: 'ebgp',
    rrClient: false,
    ...over,
  };
}

export interface PathSpec {
  readonly prefix?: string;
  readonly nextHop?: string;
  readonly origin?: Origin;
  readonly asPath?: readonly number[];
  readonly med?: number;
  readonly localPref?: number;
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  readonly communities?: readonly number[];
  readonly stale?: boolean;
}

export function makePath(source: PeerRef, spec: PathSpec = {}): Path {
  const prefix = parsePrefix(spec.prefix ?? '10.0.0.0/24');
  return {
    prefix,
    key: `${prefix.addr}/${prefix.len}`,
    ...(source.type === 'local' ? {} : { nextHop: spec.nextHop ?? source.address }),
    attrs: internAttrs({
      origin: spec.origin ?? 'igp',
      asPath:
        spec.asPath === undefined || spec.asPath.length === 0
          ? []
          : [{ type: 'sequence', asns: spec.asPath }],
      ...(spec.med === undefined ? {} : { med: spec.med }),
      ...(spec.localPref === undefined ? {} : { localPref: spec.localPref }),
      ...(spec.originatorId === undefined ? {} : { originatorId: spec.originatorId }),
      atomicAggregate: false,
      communities: spec.communities ?? [],
      largeCommunities: [],
      extCommunities: [],
      clusterList: spec.clusterList ?? [],
      unknown: [],
    }),
    source,
    stale: spec.stale ?? false,
    receivedAt: 0,
  };
}

export interface AttrSpec {
  readonly asPath?: readonly number[];
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly communities?: readonly number[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
}

/** A codec attribute list for IPv4 (classic NEXT_HOP). */
export function v4Attributes(spec: AttrSpec = {}): PathAttribute[] {
  const list: PathAttribute[] = [
    { type: 'origin', origin: 'igp' },
    { type: 'as-path', segments: spec.asPath?.length ? [{ type: 'sequence', asns: spec.asPath }] : [] },
    { type: 'next-hop', nextHop: spec.nextHop ?? '192.0.2.2' },
  ];
  if (spec.med !== undefined) list.push({ type: 'med', med: spec.med });
  if (spec.localPref !== undefined) list.push({ type: 'local-pref', localPref: spec.localPref });
  if (spec.communities?.length) list.push({ type: 'communities', communities: spec.communities });
  if (spec.originatorId !== undefined) list.push({ type: 'originator-id', originatorId: spec.originatorId });
  if (spec.clusterList?.length) list.push({ type: 'cluster-list', clusterIds: spec.clusterList });
  return list;
}

export function announce(prefixes: readonly string[], attributes: readonly PathAttribute[]): DecodedUpdate {
  return {
    type: 'update',
    withdrawn: [],
    attributes,
    nlri: prefixes.map(parsePrefix),
    handling: { kind: 'ok' },
  };
}

export function withdraw(prefixes: readonly string[]): DecodedUpdate {
  return {
    type: 'update',
    withdrawn: prefixes.map(parsePrefix),
    attributes: [],
    nlri: [],
    handling: { kind: 'ok' },
  };
}

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
