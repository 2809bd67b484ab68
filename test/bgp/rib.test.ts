// The Rib: Adj-RIB-In (pre/post policy, loop detection, treat-as-withdraw), Loc-RIB change feed,
// local routes, graceful-restart stale handling, and incremental == from-scratch.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type DecodedUpdate, endOfRib, parsePrefix } from '../../bgp/codec/index.js';
import { definePolicy } from '../../bgp/policy/index.js';
import { type LocRibChange, Rib, RibError, type RibOptions, type SessionInfo } from '../../bgp/rib/index.js';
import type { SpeakerRib } from '../../bgp/speaker/ports.js';
import { announce, v4Attributes, withdraw } from './fixtures/rib-builders.js';

const ROUTER = '10.0.0.1';
const SESSION: SessionInfo = {
  routerId: '10.9.9.9',
  families: ['ipv4'],
  addresses: { ipv4: { nextHop: '192.0.2.1' } },
};

function ribWith(opts: Partial<RibOptions> = {}): { rib: Rib; changes: LocRibChange[] } {
  const rib = new Rib({ routerId: ROUTER, localAs: 65000, ...opts });
  const changes: LocRibChange[] = [];
  rib.onChange((c) => changes.push(c));
  return { rib, changes };
}

function up(rib: Rib, id: string, asn: number, n: number, extra: object = {}): void {
  rib.addPeer({ id, address: `192.0.2.${n}`, asn, ...extra });
  rib.peerUp(id, { ...SESSION, routerId: `10.9.9.${n}` }, () => {});
}

const eor = (): DecodedUpdate => ({ ...endOfRib('ipv4'), handling: { kind: 'ok' } });

describe('bgp/rib Rib', () => {
  it('satisfies the speaker SpeakerRib port and its change feed is what kernel sync reads', () => {
    const { rib, changes } = ribWith();
    const port: SpeakerRib = rib;
    up(rib, 'tor', 65001, 2);
    rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001], nextHop: '192.0.2.2' })));
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.paths[0]!.nextHop, '192.0.2.2');
    assert.equal(changes[0]!.best, changes[0]!.paths[0]);
    assert.equal(changes[0]!.previousBest, undefined);
    assert.deepEqual(
      port.routes('10.0.0.0/8').map((r) => r.prefix),
      ['10.1.0.0/24'],
    );
    assert.deepEqual(port.routes('10.2.0.0/16'), []);
  });

  it('lists routes in address order (IPv4 first, then shorter first), whatever the arrival order', () => {
    const { rib } = ribWith();
    up(rib, 'tor', 65001, 2);
    const arrived = ['192.168.0.0/16', '10.1.0.0/24', '10.1.0.0/16', '9.0.0.0/8', '10.0.255.0/24'];
    rib.receive('tor', announce(arrived, v4Attributes({ asPath: [65001], nextHop: '192.0.2.2' })));
    const ours = [
      { type: 'origin', origin: 'igp' },
      { type: 'as-path', segments: [] },
    ] as const;
    rib.setLocalRoutes(
      ['2001:db8:1::/48', '2001:db8::/48', '2001:db8::/32'].map((p) => ({
        prefix: parsePrefix(p),
        attributes: ours,
      })),
    );
    assert.deepEqual(
      rib.routes().map((r) => r.prefix),
      [
        '9.0.0.0/8',
        '10.0.255.0/24',
        '10.1.0.0/16',
        '10.1.0.0/24',
        '192.168.0.0/16',
        '2001:db8::/32',
        '2001:db8::/48',
        '2001:db8:1::/48',
      ],
    );
  });

  it('announce, replace and withdraw emit one change each with the previous best', () => {
    const { rib, changes } = ribWith();
    up(rib, 'tor', 65001, 2);
    rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001], med: 1 })));
    rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001], med: 2 })));
    rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001], med: 2 })));
    rib.receive('tor', withdraw(['10.1.0.0/24']));
    assert.deepEqual(
      changes.map((c) => c.best?.attrs.med),
      [1, 2, undefined],
    );
    assert.deepEqual(
      changes.map((c) => c.previousBest?.attrs.med),
      [undefined, 1, 2],
    );
    assert.deepEqual(changes[2]!.paths, []);
    assert.equal(rib.size, 0);
  });

  it('a change of the ECMP set alone is emitted (the best path stays)', () => {
    const { rib, changes } = ribWith({ maxPaths: 4 });
    up(rib, 'a', 65001, 2);
    up(rib, 'b', 65001, 3);
    rib.receive('a', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001], nextHop: '192.0.2.2' })));
    rib.receive('b', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001], nextHop: '192.0.2.3' })));
    rib.receive('b', withdraw(['10.1.0.0/24']));
    assert.deepEqual(
      changes.map((c) => c.paths.map((p) => p.nextHop)),
      [['192.0.2.2'], ['192.0.2.2', '192.0.2.3'], ['192.0.2.2']],
    );
    assert.deepEqual(
      changes.map((c) => c.best?.source.id),
      ['a', 'a', 'a'],
    );
  });

  it('treat-as-withdraw (RFC 7606) removes the announced prefixes', () => {
    const { rib } = ribWith();
    up(rib, 'tor', 65001, 2);
    rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001] })));
    const broken: DecodedUpdate = {
      ...announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001] })),
      handling: { kind: 'treat-as-withdraw', reason: 'bad MED', problems: [] },
    };
    const result = rib.receive('tor', broken);
    assert.deepEqual(result, { announced: 0, withdrawn: 1, rejected: 0 });
    assert.equal(rib.bestPath('10.1.0.0/24'), undefined);
  });

  it('ignores LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST from eBGP peers', () => {
    const { rib } = ribWith();
    up(rib, 'tor', 65001, 2);
    rib.receive(
      'tor',
      announce(
        ['10.1.0.0/24'],
        v4Attributes({ asPath: [65001], localPref: 900, originatorId: '1.1.1.1', clusterList: ['2.2.2.2'] }),
      ),
    );
    const a = rib.bestPath('10.1.0.0/24')!.attrs;
    assert.equal(a.localPref, undefined);
    assert.equal(a.originatorId, undefined);
    assert.deepEqual(a.clusterList, []);
  });

  describe('loop detection', () => {
    it('rejects our AS in the AS_PATH unless allowOwnAs tolerates it', () => {
      const { rib } = ribWith();
      up(rib, 'tor', 65001, 2);
      up(rib, 'tor2', 65001, 3, { allowOwnAs: 1 });
      const attrs = v4Attributes({ asPath: [65001, 65000] });
      assert.equal(rib.receive('tor', announce(['10.1.0.0/24'], attrs)).rejected, 1);
      assert.equal(rib.received('tor').get('10.1.0.0/24')?.rejection, 'as-loop');
      assert.equal(rib.receive('tor2', announce(['10.1.0.0/24'], attrs)).rejected, 0);
      const twice = v4Attributes({ asPath: [65001, 65000, 65000] });
      assert.equal(rib.receive('tor2', announce(['10.2.0.0/24'], twice)).rejected, 1);
    });

    it('checks the per-peer local AS too', () => {
      const { rib } = ribWith();
      up(rib, 'tor', 65001, 2, { localAs: 64999 });
      assert.equal(
        rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001, 64999] }))).rejected,
        1,
      );
    });

    it('rejects our router id as ORIGINATOR_ID and our cluster id in CLUSTER_LIST (RFC 4456)', () => {
      const { rib } = ribWith({ clusterId: '10.255.0.1' });
      up(rib, 'rr', 65000, 2);
      rib.receive('rr', announce(['10.1.0.0/24'], v4Attributes({ originatorId: ROUTER })));
      rib.receive(
        'rr',
        announce(['10.2.0.0/24'], v4Attributes({ clusterList: ['10.255.0.9', '10.255.0.1'] })),
      );
      rib.receive(
        'rr',
        announce(['10.3.0.0/24'], v4Attributes({ originatorId: '10.0.0.2', clusterList: ['10.255.0.9'] })),
      );
      const r = rib.received('rr');
      assert.equal(r.get('10.1.0.0/24')?.rejection, 'originator-id');
      assert.equal(r.get('10.2.0.0/24')?.rejection, 'cluster-loop');
      assert.equal(r.get('10.3.0.0/24')?.rejection, undefined);
      assert.equal(rib.size, 1);
    });
  });

  it('keeps the pre-policy view next to the accepted path', () => {
    const policies = new Map([
      [
        'in',
        definePolicy({
          name: 'in',
          statements: [
            {
              match: { prefixes: [{ prefix: parsePrefix('10.1.0.0/16'), le: 24 }] },
              result: 'accept',
              actions: [{ type: 'set-local-pref', localPref: 250 }],
            },
          ],
          defaultResult: 'reject',
        }),
      ],
    ]);
    const { rib } = ribWith({ policies });
    up(rib, 'tor', 65001, 2, { importPolicy: 'in' });
    const r = rib.receive('tor', announce(['10.1.1.0/24', '10.9.0.0/24'], v4Attributes({ asPath: [65001] })));
    assert.deepEqual(r, { announced: 2, withdrawn: 0, rejected: 1 });
    const kept = rib.received('tor').get('10.1.1.0/24')!;
    assert.equal(kept.received.attrs.localPref, undefined);
    assert.equal(kept.accepted?.attrs.localPref, 250);
    assert.equal(rib.received('tor').get('10.9.0.0/24')?.rejection, 'policy');
    assert.deepEqual(rib.counts('tor'), { received: 2, accepted: 1, advertised: 0 });
    // Changing the policy re-imports from the pre-policy view (soft reconfiguration).
    rib.setPolicies(new Map([['in', definePolicy({ name: 'in', statements: [], defaultResult: 'accept' })]]));
    assert.equal(rib.bestPath('10.9.0.0/24')?.source.id, 'tor');
    assert.equal(rib.bestPath('10.1.1.0/24')?.attrs.localPref, undefined);
  });

  it('RFC 8212: with ebgpRequiresPolicy an eBGP peer without import policy contributes nothing; iBGP is unaffected', () => {
    const { rib } = ribWith({ ebgpRequiresPolicy: true });
    up(rib, 'tor', 65001, 2);
    up(rib, 'mesh', 65000, 3);
    assert.equal(
      rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001] }))).rejected,
      1,
    );
    assert.equal(rib.received('tor').get('10.1.0.0/24')?.rejection, 'no-policy');
    assert.equal(rib.receive('mesh', announce(['10.2.0.0/24'], v4Attributes())).rejected, 0);
  });

  it('refuses calls for unknown or down peers and bad input with RibError, changing nothing', () => {
    const { rib, changes } = ribWith();
    assert.throws(() => rib.receive('nobody', withdraw([])), RibError);
    rib.addPeer({ id: 'tor', address: '192.0.2.2', asn: 65001 });
    assert.throws(() => rib.receive('tor', withdraw([])), /not established/);
    assert.throws(() => rib.addPeer({ id: 'tor', address: '192.0.2.3', asn: 1 }), /exists/);
    assert.throws(
      () => rib.addPeer({ id: 'x', address: '192.0.2.3', asn: 1, importPolicy: 'nope' }),
      /no policy/,
    );
    assert.throws(() => new Rib({ routerId: ROUTER, localAs: 65000, maxPaths: 0 }), RibError);
    rib.peerUp('tor', SESSION, () => {});
    assert.throws(() => rib.peerUp('tor', SESSION, () => {}), /up already/);
    rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001] })));
    const noOrigin = announce(['10.1.0.0/24', '10.2.0.0/24'], [{ type: 'as-path', segments: [] }]);
    const before = changes.length;
    assert.throws(
      () => rib.receive('tor', { ...noOrigin, withdrawn: [parsePrefix('10.1.0.0/24')] }),
      RibError,
    );
    assert.equal(changes.length, before);
    assert.ok(rib.bestPath('10.1.0.0/24'));
    assert.throws(() => rib.routes('10.0.0.1/8'), RibError);
  });

  describe('local routes', () => {
    const local = (prefix: string, med?: number) => ({
      prefix: parsePrefix(prefix),
      attributes: [
        { type: 'origin' as const, origin: 'igp' as const },
        { type: 'as-path' as const, segments: [] },
        ...(med === undefined ? [] : [{ type: 'med' as const, med }]),
      ],
    });

    it('only differences reach the change feed; local beats learned', () => {
      const { rib, changes } = ribWith();
      up(rib, 'tor', 65001, 2);
      rib.receive('tor', announce(['10.244.0.0/26'], v4Attributes({ asPath: [65001] })));
      rib.setLocalRoutes([local('10.244.0.0/26'), local('10.244.1.0/26')]);
      assert.equal(rib.bestPath('10.244.0.0/26')?.source.type, 'local');
      assert.equal(rib.bestPath('10.244.0.0/26')?.nextHop, undefined);
      const n = changes.length;
      rib.setLocalRoutes([local('10.244.0.0/26'), local('10.244.1.0/26')]);
      assert.equal(changes.length, n, 'same set: no change');
      rib.setLocalRoutes([local('10.244.0.0/26', 5)]);
      assert.deepEqual(
        changes.slice(n).map((c) => [c.prefix.addr, c.best?.source.id]),
        [
          ['10.244.1.0', undefined],
          ['10.244.0.0', 'local'],
        ],
      );
      rib.setLocalRoutes([]);
      assert.equal(rib.bestPath('10.244.0.0/26')?.source.id, 'tor', 'the learned path takes over');
    });

    it('refuses next hops and duplicates, keeping the previous set', () => {
      const { rib } = ribWith();
      rib.setLocalRoutes([local('10.244.0.0/26')]);
      const withHop = {
        ...local('10.244.1.0/26'),
        attributes: [...local('10.244.1.0/26').attributes, { type: 'next-hop' as const, nextHop: '1.2.3.4' }],
      };
      assert.throws(
        () => rib.setLocalRoutes([withHop]),
        (e: unknown) => e instanceof RibError && e.field === 'localRoutes[0].attributes',
      );
      assert.throws(() => rib.setLocalRoutes([local('10.244.2.0/26'), local('10.244.2.0/26')]), /twice/);
      assert.deepEqual(
        rib.routes().map((r) => r.prefix),
        ['10.244.0.0/26'],
      );
    });
  });

  describe('graceful restart (helper side)', () => {
    it('keeps paths stale across the session loss without a change; re-learned replace them; End-of-RIB sweeps the rest', () => {
      const { rib, changes } = ribWith();
      up(rib, 'tor', 65001, 2);
      rib.receive('tor', announce(['10.1.0.0/24', '10.2.0.0/24'], v4Attributes({ asPath: [65001] })));
      const n = changes.length;
      rib.peerDown('tor', ['ipv4']);
      assert.equal(changes.length, n, 'the kernel keeps forwarding: nothing changes');
      assert.equal(rib.bestPath('10.1.0.0/24')?.stale, true);
      assert.deepEqual(
        rib.routes('10.1.0.0/24')[0]!.paths.map((p) => p.stale),
        [true],
      );
      rib.peerUp('tor', SESSION, () => {});
      rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001] })));
      assert.equal(changes.length, n, 're-learning the same route changes nothing');
      assert.equal(rib.bestPath('10.1.0.0/24')?.stale, false);
      assert.equal(rib.bestPath('10.2.0.0/24')?.stale, true);
      assert.deepEqual(rib.receive('tor', eor()), {
        announced: 0,
        withdrawn: 0,
        rejected: 0,
        endOfRib: 'ipv4',
      });
      assert.equal(rib.bestPath('10.2.0.0/24'), undefined);
      assert.equal(changes.at(-1)?.prefix.addr, '10.2.0.0');
      assert.ok(rib.bestPath('10.1.0.0/24'));
    });

    it('without GR (or for other families) the paths go at once; the restart timer sweeps', () => {
      const { rib } = ribWith();
      up(rib, 'tor', 65001, 2);
      rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001] })));
      rib.peerDown('tor', ['ipv6']);
      assert.equal(rib.size, 0);
      rib.peerUp('tor', SESSION, () => {});
      rib.receive('tor', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001] })));
      rib.peerDown('tor', ['ipv4']);
      assert.equal(rib.sweepStale('tor'), 1);
      assert.equal(rib.size, 0);
    });

    it('a stale path still competes normally and is replaced by a better live one', () => {
      const { rib } = ribWith();
      up(rib, 'a', 65001, 2);
      up(rib, 'b', 65002, 3);
      rib.receive('a', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65001] })));
      rib.receive('b', announce(['10.1.0.0/24'], v4Attributes({ asPath: [65002, 1] })));
      rib.peerDown('a', ['ipv4']);
      assert.equal(rib.bestPath('10.1.0.0/24')?.source.id, 'a');
      rib.removePeer('a');
      assert.equal(rib.bestPath('10.1.0.0/24')?.source.id, 'b');
    });
  });

  it('property: incremental Loc-RIB after any announce/withdraw sequence equals a from-scratch build, and the change feed replays to it', () => {
    const PEERS = [
      { id: 'e1', asn: 65001, n: 11 },
      { id: 'e2', asn: 65002, n: 12 },
      { id: 'e3', asn: 65001, n: 13 },
      { id: 'i1', asn: 65000, n: 14 },
      { id: 'i2', asn: 65000, n: 15 },
    ];
    const PREFIXES = ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.1.0.0/16'];
    const op = fc.record({
      peer: fc.integer({ min: 0, max: PEERS.length - 1 }),
      prefix: fc.integer({ min: 0, max: PREFIXES.length - 1 }),
      withdraw: fc.boolean(),
      pathLen: fc.integer({ min: 0, max: 2 }),
      med: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      localPref: fc.option(fc.constantFrom(90, 100, 110), { nil: undefined }),
      down: fc.constantFrom('none', 'none', 'none', 'none', 'stale', 'drop', 'sweep'),
    });
    const build = (maxPaths: number) => {
      const { rib, changes } = ribWith({ maxPaths });
      for (const p of PEERS) up(rib, p.id, p.asn, p.n);
      return { rib, changes };
    };
    const attrsOf = (o: {
      peer: number;
      pathLen: number;
      med: number | undefined;
      localPref: number | undefined;
    }) => {
      const p = PEERS[o.peer]!;
      const path =
        p.asn === 65000 ? [65003, 65004].slice(0, o.pathLen) : [p.asn, 65003, 65004].slice(0, o.pathLen + 1);
      return v4Attributes({ asPath: path, med: o.med, localPref: o.localPref, nextHop: `198.51.100.${p.n}` });
    };
    const view = (rib: Rib) =>
      new Map(
        PREFIXES.map((prefix) => [
          prefix,
          rib.multipath(prefix).map((p) => `${p.source.id}:${p.attrs.med}:${p.stale}`),
        ]),
      );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 3 }), (ops, maxPaths) => {
        const { rib } = build(maxPaths);
        // Snapshot at emission time: a listener may keep what it was given.
        const snapshots: {
          prefix: LocRibChange['prefix'];
          paths: { source: { id: string }; attrs: { med?: number } }[];
        }[] = [];
        rib.onChange((c) =>
          snapshots.push({
            prefix: c.prefix,
            paths: c.paths.map((p) => ({ source: { id: p.source.id }, attrs: { med: p.attrs.med } })),
          }),
        );
        for (const o of ops) {
          const id = PEERS[o.peer]!.id;
          if (o.down === 'stale' || o.down === 'drop') {
            rib.peerDown(id, o.down === 'stale' ? ['ipv4'] : []);
            rib.peerUp(id, { ...SESSION, routerId: `10.9.9.${PEERS[o.peer]!.n}` }, () => {});
          } else if (o.down === 'sweep') rib.sweepStale(id);
          const prefix = PREFIXES[o.prefix]!;
          rib.receive(id, o.withdraw ? withdraw([prefix]) : announce([prefix], attrsOf(o)));
        }
        // From scratch: the surviving Adj-RIB-In contents, fed in reverse peer order (stale or
        // not: staleness never enters the decision, so the views below compare without it).
        const fresh = build(maxPaths).rib;
        for (const p of [...PEERS].reverse()) {
          for (const [key, route] of rib.received(p.id)) {
            const a = route.received.attrs;
            fresh.receive(
              p.id,
              announce(
                [key],
                v4Attributes({
                  asPath: a.asPath.flatMap((s) => s.asns),
                  med: a.med,
                  localPref: a.localPref,
                  nextHop: route.received.nextHop!,
                }),
              ),
            );
          }
        }
        const stale = (v: Map<string, string[]>) =>
          new Map([...v].map(([k, l]) => [k, l.map((s) => s.replace(/:(true|false)$/, ''))]));
        assert.deepEqual(stale(view(rib)), stale(view(fresh)));
        // The change feed, replayed, gives the final Loc-RIB.
        const replay = new Map<string, string[]>(PREFIXES.map((p) => [p, []]));
        for (const c of snapshots)
          replay.set(
            `${c.prefix.addr}/${c.prefix.len}`,
            c.paths.map((p) => `${p.source.id}:${p.attrs.med}`),
          );
        assert.deepEqual(replay, stale(view(rib)));
      }),
      { numRuns: 300 },
    );
  });
});
