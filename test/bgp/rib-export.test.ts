// Adj-RIB-Out: eBGP/iBGP export rules, route reflection (RFC 4456), well-known communities,
// next-hop modes, and the diffs the session sends (grouping, End-of-RIB, refresh).
import assert from 'node:assert/strict';
import {
  AttributeFlag,
  type PathAttribute,
  packUpdates,
  parsePrefix,
  WellKnownCommunity,
} from '../../bgp/codec/index.js';
import { definePolicy } from '../../bgp/policy/index.js';
import {
  type ExportTarget,
  exportAttrs,
  exportRefusal,
  type OutboundBatch,
  type PeerSettings,
  Rib,
  type RibOptions,
} from '../../bgp/rib/index.js';
import { announce, makePath, peerRef, v4Attributes, withdraw } from './fixtures/rib-builders.js';

const LOCAL_AS = 65000;

function target(type: 'ibgp' | 'ebgp', over: Partial<ExportTarget> = {}, rrClient = false): ExportTarget {
  return {
    peer: peerRef('to', { type, asn: type === 'ibgp' ? LOCAL_AS : 65100, address: '192.0.2.100', rrClient }),
    localAs: LOCAL_AS,
    nextHopMode: 'auto',
    sendMed: false,
    senderSideLoopCheck: true,
    ...over,
  };
}

const ibgpFrom = (rrClient: boolean) =>
  peerRef('from', { type: 'ibgp', asn: LOCAL_AS, rrClient, routerId: '10.0.0.7', address: '192.0.2.7' });
const ebgpFrom = peerRef('from', { type: 'ebgp', asn: 65001, address: '192.0.2.7' });
const localFrom = peerRef('local', { type: 'local', asn: LOCAL_AS });

describe('bgp/rib export rules', () => {
  it('split horizon: never back to the peer the path came from', () => {
    assert.equal(exportRefusal(makePath(peerRef('to')), target('ebgp')), 'split-horizon');
  });

  it('iBGP-learned paths are not sent to iBGP peers without route reflection', () => {
    assert.equal(exportRefusal(makePath(ibgpFrom(false)), target('ibgp')), 'ibgp-to-ibgp');
    assert.equal(exportRefusal(makePath(ibgpFrom(false)), target('ebgp')), undefined);
    assert.equal(exportRefusal(makePath(ebgpFrom), target('ibgp')), undefined);
    assert.equal(exportRefusal(makePath(localFrom), target('ibgp')), undefined);
  });

  it('reflection matrix (RFC 4456 6): client -> everyone, non-client -> clients only', () => {
    const rr = { clusterId: '10.255.0.1' };
    const cases: [boolean, boolean, string | undefined][] = [
      [true, true, undefined],
      [true, false, undefined],
      [false, true, undefined],
      [false, false, 'reflection-non-client'],
    ];
    for (const [fromClient, toClient, expected] of cases) {
      assert.equal(
        exportRefusal(makePath(ibgpFrom(fromClient)), target('ibgp', rr, toClient)),
        expected,
        `from ${fromClient ? 'client' : 'non-client'} to ${toClient ? 'client' : 'non-client'}`,
      );
    }
    // eBGP-learned and local paths go to every iBGP peer of a reflector.
    assert.equal(exportRefusal(makePath(ebgpFrom), target('ibgp', rr, false)), undefined);
  });

  it('reflected paths get ORIGINATOR_ID (if absent) and our cluster id prepended', () => {
    const t = target('ibgp', { clusterId: '10.255.0.1' }, true);
    const fresh = makePath(ibgpFrom(false));
    const out = exportAttrs(fresh, fresh.attrs, t);
    assert.equal(out.originatorId, '10.0.0.7');
    assert.deepEqual(out.clusterList, ['10.255.0.1']);
    const again = makePath(ibgpFrom(true), { originatorId: '10.0.0.99', clusterList: ['10.255.0.2'] });
    const out2 = exportAttrs(again, again.attrs, t);
    assert.equal(out2.originatorId, '10.0.0.99');
    assert.deepEqual(out2.clusterList, ['10.255.0.1', '10.255.0.2']);
    // Not reflected (eBGP-learned): no RR attributes added.
    const ext = makePath(ebgpFrom, { asPath: [65001] });
    assert.equal(exportAttrs(ext, ext.attrs, t).originatorId, undefined);
  });

  it('eBGP: our AS prepended, LOCAL_PREF and RR attributes stripped, foreign MED dropped unless sendMed', () => {
    const p = makePath(ibgpFrom(false), {
      asPath: [65001],
      localPref: 300,
      med: 7,
      originatorId: '1.1.1.1',
      clusterList: ['2.2.2.2'],
    });
    const out = exportAttrs(p, p.attrs, target('ebgp'));
    assert.deepEqual(out.asPath, [{ type: 'sequence', asns: [LOCAL_AS, 65001] }]);
    assert.equal(out.localPref, undefined);
    assert.equal(out.originatorId, undefined);
    assert.deepEqual(out.clusterList, []);
    assert.equal(out.med, undefined);
    assert.equal(exportAttrs(p, p.attrs, target('ebgp', { sendMed: true })).med, 7);
    const ours = makePath(localFrom, { med: 10 });
    assert.equal(exportAttrs(ours, ours.attrs, target('ebgp')).med, 10, 'a MED we set is ours to send');
    assert.deepEqual(exportAttrs(ours, ours.attrs, target('ebgp', { localAs: 64999 })).asPath, [
      { type: 'sequence', asns: [64999] },
    ]);
  });

  it('iBGP: AS_PATH unchanged, LOCAL_PREF always present (default 100)', () => {
    const p = makePath(ebgpFrom, { asPath: [65001] });
    const out = exportAttrs(p, p.attrs, target('ibgp'));
    assert.deepEqual(out.asPath, p.attrs.asPath);
    assert.equal(out.localPref, 100);
  });

  it('sender-side loop check: no path containing the eBGP peer AS (optional)', () => {
    const p = makePath(ebgpFrom, { asPath: [65001, 65100] });
    assert.equal(exportRefusal(p, target('ebgp')), 'as-path-loop');
    assert.equal(exportRefusal(p, target('ebgp', { senderSideLoopCheck: false })), undefined);
  });

  it('NO_ADVERTISE goes nowhere; NO_EXPORT and NO_EXPORT_SUBCONFED not to eBGP', () => {
    const na = makePath(ebgpFrom, { communities: [WellKnownCommunity.NO_ADVERTISE] });
    assert.equal(exportRefusal(na, target('ibgp')), 'no-advertise');
    for (const c of [WellKnownCommunity.NO_EXPORT, WellKnownCommunity.NO_EXPORT_SUBCONFED]) {
      const p = makePath(ebgpFrom, { communities: [c] });
      assert.equal(exportRefusal(p, target('ebgp')), 'no-export');
      assert.equal(exportRefusal(p, target('ibgp')), undefined);
    }
  });

  it('unknown optional transitive attributes pass with Partial; non-transitive ones are dropped', () => {
    const base = makePath(ebgpFrom);
    const transitive = {
      type: 'unknown' as const,
      typeCode: 99,
      flags: AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE,
      value: Buffer.from([1]),
    };
    const nonTransitive = {
      type: 'unknown' as const,
      typeCode: 98,
      flags: AttributeFlag.OPTIONAL,
      value: Buffer.from([2]),
    };
    const attrs = { ...base.attrs, unknown: [transitive, nonTransitive] };
    const out = exportAttrs(base, attrs, target('ibgp'));
    assert.deepEqual(out.unknown, [{ ...transitive, flags: transitive.flags | AttributeFlag.PARTIAL }]);
  });
});

const SESSION_V4 = { ipv4: { nextHop: '192.0.2.1' } };

function setup(opts: Partial<RibOptions> = {}) {
  const rib = new Rib({ routerId: '10.0.0.1', localAs: LOCAL_AS, ...opts });
  const notified: string[] = [];
  const connect = (
    settings: PeerSettings,
    addresses: object = SESSION_V4,
    families: ('ipv4' | 'ipv6')[] = ['ipv4'],
  ) => {
    rib.addPeer(settings);
    rib.peerUp(settings.id, { routerId: settings.address, families, addresses }, () =>
      notified.push(settings.id),
    );
  };
  return { rib, notified, connect };
}

const announced = (batches: OutboundBatch[]) =>
  batches.flatMap((b) => (b.kind === 'announce' ? b.prefixes.map((p) => `${p.addr}/${p.len}`) : []));
const withdrawn = (batches: OutboundBatch[]) =>
  batches.flatMap((b) => (b.kind === 'withdraw' ? b.prefixes.map((p) => `${p.addr}/${p.len}`) : []));
const nextHopOf = (attributes: readonly PathAttribute[]) =>
  attributes.find((a) => a.type === 'next-hop' || a.type === 'mp-reach-nlri');

describe('bgp/rib Adj-RIB-Out', () => {
  it('initial table then End-of-RIB per family; afterwards only differences', () => {
    const { rib, connect, notified } = setup();
    rib.setLocalRoutes([
      {
        prefix: parsePrefix('10.244.0.0/26'),
        attributes: v4Attributes().filter((a) => a.type !== 'next-hop'),
      },
    ]);
    connect(
      { id: 'tor', address: '192.0.2.2', asn: 65001 },
      { ...SESSION_V4, ipv6: { nextHop: '2001:db8::1' } },
      ['ipv4', 'ipv6'],
    );
    assert.deepEqual(notified, ['tor']);
    const first = rib.takeOutbound('tor');
    assert.deepEqual(
      first.map((b) => b.kind),
      ['announce', 'end-of-rib', 'end-of-rib'],
    );
    assert.deepEqual(first.slice(1), [
      { kind: 'end-of-rib', family: 'ipv4' },
      { kind: 'end-of-rib', family: 'ipv6' },
    ]);
    assert.deepEqual(rib.takeOutbound('tor'), []);
    rib.setLocalRoutes([]);
    assert.deepEqual(withdrawn(rib.takeOutbound('tor')), ['10.244.0.0/26']);
    assert.deepEqual(rib.counts('tor').advertised, 0);
  });

  it('announce-then-withdraw before the session pulls sends nothing; notify once per operation', () => {
    const { rib, connect, notified } = setup();
    connect({ id: 'a', address: '192.0.2.2', asn: 65001 });
    connect({ id: 'b', address: '192.0.2.3', asn: 65002 });
    rib.takeOutbound('b');
    notified.length = 0;
    rib.receive('a', announce(['10.1.0.0/24', '10.2.0.0/24'], v4Attributes({ asPath: [65001] })));
    assert.deepEqual(notified, ['b']);
    rib.receive('a', withdraw(['10.1.0.0/24']));
    const out = rib.takeOutbound('b');
    assert.deepEqual(announced(out), ['10.2.0.0/24']);
    assert.deepEqual(withdrawn(out), []);
  });

  it('groups prefixes by identical outgoing attributes, ready for packUpdates', () => {
    const { rib, connect } = setup();
    connect({ id: 'a', address: '192.0.2.2', asn: 65001 });
    connect({ id: 'b', address: '192.0.2.3', asn: 65002 });
    rib.takeOutbound('b');
    const hosts = Array.from({ length: 300 }, (_, i) => `10.1.${i >> 8}.${i & 0xff}/32`);
    // Two UPDATEs with equal attributes but different next hops: one group toward an eBGP peer (next-hop self).
    rib.receive('a', announce(hosts.slice(0, 150), v4Attributes({ asPath: [65001], nextHop: '192.0.2.2' })));
    rib.receive('a', announce(hosts.slice(150), v4Attributes({ asPath: [65001], nextHop: '192.0.2.22' })));
    rib.receive('a', announce(['10.9.0.0/24'], v4Attributes({ asPath: [65001, 7] })));
    const out = rib.takeOutbound('b');
    assert.deepEqual(
      out.map((b) => (b.kind === 'announce' ? b.prefixes.length : -1)),
      [300, 1],
    );
    const [group] = out;
    assert.ok(group?.kind === 'announce');
    assert.deepEqual(nextHopOf(group.attributes), { type: 'next-hop', nextHop: '192.0.2.1' });
    const messages = packUpdates(group.attributes, group.prefixes, {
      fourOctetAs: true,
      extendedMessage: false,
    });
    assert.equal(messages.length, 1);
  });

  it('next hop: auto keeps toward iBGP, self toward eBGP; self/keep force it; local routes are always self', () => {
    const { rib, connect } = setup();
    connect({ id: 'src', address: '192.0.2.2', asn: 65001 });
    connect({ id: 'ibgp', address: '192.0.2.3', asn: LOCAL_AS });
    connect({ id: 'ibgp-self', address: '192.0.2.4', asn: LOCAL_AS, nextHopMode: 'self' });
    connect({ id: 'ebgp-keep', address: '192.0.2.5', asn: 65005, nextHopMode: 'keep' });
    rib.receive('src', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001], nextHop: '192.0.2.99' })));
    rib.setLocalRoutes([
      {
        prefix: parsePrefix('10.244.0.0/26'),
        attributes: v4Attributes().filter((a) => a.type !== 'next-hop'),
      },
    ]);
    for (const id of ['ibgp', 'ibgp-self', 'ebgp-keep']) rib.takeOutbound(id);
    const hop = (id: string, prefix: string) => nextHopOf(rib.advertised(id).get(prefix)!);
    assert.deepEqual(hop('ibgp', '10.1.0.0/24'), { type: 'next-hop', nextHop: '192.0.2.99' });
    assert.deepEqual(hop('ibgp-self', '10.1.0.0/24'), { type: 'next-hop', nextHop: '192.0.2.1' });
    assert.deepEqual(hop('ebgp-keep', '10.1.0.0/24'), { type: 'next-hop', nextHop: '192.0.2.99' });
    assert.deepEqual(hop('ibgp', '10.244.0.0/26'), { type: 'next-hop', nextHop: '192.0.2.1' });
  });

  it('IPv6 goes out with an MP_REACH template (global + link-local self), never on an IPv4-only session', () => {
    const { rib, connect } = setup();
    connect(
      { id: 'v6', address: '2001:db8::2', asn: 65001 },
      { ipv6: { nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' } },
      ['ipv6'],
    );
    connect({ id: 'v4', address: '192.0.2.3', asn: 65002 });
    rib.setLocalRoutes([
      {
        prefix: parsePrefix('fd00:244::/80'),
        attributes: v4Attributes().filter((a) => a.type !== 'next-hop'),
      },
    ]);
    const [a] = rib.takeOutbound('v6');
    assert.ok(a?.kind === 'announce');
    assert.deepEqual(nextHopOf(a.attributes), {
      type: 'mp-reach-nlri',
      family: 'ipv6',
      nextHop: '2001:db8::1',
      linkLocalNextHop: 'fe80::1',
      nlri: [],
    });
    assert.deepEqual(announced(rib.takeOutbound('v4')), []);
  });

  it('route reflector end to end: client routes reach non-clients with RR attributes; non-client routes only clients', () => {
    const { rib, connect } = setup({ clusterId: '10.255.0.1' });
    connect({ id: 'c1', address: '192.0.2.11', asn: LOCAL_AS, rrClient: true });
    connect({ id: 'c2', address: '192.0.2.12', asn: LOCAL_AS, rrClient: true });
    connect({ id: 'n1', address: '192.0.2.21', asn: LOCAL_AS });
    connect({ id: 'n2', address: '192.0.2.22', asn: LOCAL_AS });
    for (const id of ['c1', 'c2', 'n1', 'n2']) rib.takeOutbound(id);
    rib.receive('c1', announce(['10.1.0.0/24'], v4Attributes({ nextHop: '192.0.2.11' })));
    rib.receive('n1', announce(['10.2.0.0/24'], v4Attributes({ nextHop: '192.0.2.21' })));
    const got = Object.fromEntries(
      ['c1', 'c2', 'n1', 'n2'].map((id) => [id, announced(rib.takeOutbound(id)).sort()]),
    );
    assert.deepEqual(got, {
      c1: ['10.2.0.0/24'],
      c2: ['10.1.0.0/24', '10.2.0.0/24'],
      n1: ['10.1.0.0/24'],
      n2: ['10.1.0.0/24'],
    });
    const attrs = rib.advertised('n2').get('10.1.0.0/24')!;
    assert.deepEqual(
      attrs.find((a) => a.type === 'originator-id'),
      { type: 'originator-id', originatorId: '192.0.2.11' },
    );
    assert.deepEqual(
      attrs.find((a) => a.type === 'cluster-list'),
      { type: 'cluster-list', clusterIds: ['10.255.0.1'] },
    );
  });

  it('export policy: reject, actions, next-hop self; setPolicies sends only the differences', () => {
    const policy = definePolicy({
      name: 'out',
      statements: [
        { match: { prefixes: [{ prefix: parsePrefix('10.1.0.0/24') }] }, result: 'reject', actions: [] },
        {
          match: {},
          result: 'accept',
          actions: [
            { type: 'prepend', count: 2 },
            { type: 'add-communities', communities: [0xfde80064] },
          ],
        },
      ],
      defaultResult: 'reject',
    });
    const { rib, connect } = setup({ policies: new Map([['out', policy]]) });
    connect({ id: 'src', address: '192.0.2.2', asn: 65001 });
    connect({ id: 'tor', address: '192.0.2.3', asn: 65002, exportPolicy: 'out' });
    rib.takeOutbound('tor');
    rib.receive('src', announce(['10.1.0.0/24', '10.2.0.0/24'], v4Attributes({ asPath: [65001] })));
    assert.deepEqual(announced(rib.takeOutbound('tor')), ['10.2.0.0/24']);
    const attrs = rib.advertised('tor').get('10.2.0.0/24')!;
    assert.deepEqual(
      attrs.find((a) => a.type === 'as-path'),
      { type: 'as-path', segments: [{ type: 'sequence', asns: [LOCAL_AS, LOCAL_AS, LOCAL_AS, 65001] }] },
    );
    assert.deepEqual(
      attrs.find((a) => a.type === 'communities'),
      { type: 'communities', communities: [0xfde80064] },
    );
    rib.setPolicies(
      new Map([['out', definePolicy({ name: 'out', statements: [], defaultResult: 'accept' })]]),
    );
    const diff = rib.takeOutbound('tor');
    assert.deepEqual(announced(diff).sort(), ['10.1.0.0/24', '10.2.0.0/24']);
    rib.setPolicies(
      new Map([['out', definePolicy({ name: 'out', statements: [], defaultResult: 'accept' })]]),
    );
    assert.deepEqual(rib.takeOutbound('tor'), [], 'same outcome: nothing to send');
  });

  it('RFC 8212 on export: nothing to an eBGP peer without export policy when required', () => {
    const { rib, connect } = setup({ ebgpRequiresPolicy: true });
    connect({ id: 'tor', address: '192.0.2.3', asn: 65002 });
    connect({ id: 'mesh', address: '192.0.2.4', asn: LOCAL_AS });
    rib.setLocalRoutes([
      {
        prefix: parsePrefix('10.244.0.0/26'),
        attributes: v4Attributes().filter((a) => a.type !== 'next-hop'),
      },
    ]);
    assert.deepEqual(announced(rib.takeOutbound('tor')), []);
    assert.deepEqual(announced(rib.takeOutbound('mesh')), ['10.244.0.0/26']);
  });

  it('best path moving to the peer itself withdraws it there (split horizon); refresh resends everything', () => {
    const { rib, connect } = setup();
    connect({ id: 'a', address: '192.0.2.2', asn: 65001 });
    connect({ id: 'b', address: '192.0.2.3', asn: 65002 });
    rib.receive('a', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001, 9, 9] })));
    rib.takeOutbound('b');
    rib.takeOutbound('a');
    rib.receive('b', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65002] })));
    assert.deepEqual(withdrawn(rib.takeOutbound('b')), ['10.1.0.0/24']);
    assert.deepEqual(announced(rib.takeOutbound('a')), ['10.1.0.0/24']);
    rib.refresh('a');
    assert.deepEqual(announced(rib.takeOutbound('a')), ['10.1.0.0/24']);
  });
});
