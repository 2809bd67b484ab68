// RFC 4271 9.1.2.2 decision process: each step in isolation, combinations, ECMP selection.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type DecisionOptions, type Path, selectPaths } from '../../bgp/rib/index.js';
import { makePath, peerRef } from './fixtures/rib-builders.js';

const OPTS: DecisionOptions = { localAs: 65000, maxPaths: 1, multipathRelax: false, alwaysCompareMed: false };
const ECMP: DecisionOptions = { ...OPTS, maxPaths: 8 };

// Peers whose later tie-breaks (router id, address) all favour `b`, so a step that favours `a` is what decides.
const a = peerRef('a', { address: '192.0.2.20', routerId: '10.0.0.20', asn: 65001 });
const b = peerRef('b', { address: '192.0.2.10', routerId: '10.0.0.10', asn: 65001 });
const ibgpA = peerRef('ia', { address: '192.0.2.20', routerId: '10.0.0.20', asn: 65000, type: 'ibgp' });
const ibgpB = peerRef('ib', { address: '192.0.2.10', routerId: '10.0.0.10', asn: 65000, type: 'ibgp' });

function best(paths: Path[], opts = OPTS): string | undefined {
  const chosen = selectPaths(paths, opts).best?.source.id;
  // The outcome must not depend on arrival order.
  assert.equal(selectPaths([...paths].reverse(), opts).best?.source.id, chosen);
  return chosen;
}

describe('bgp/rib decision process', () => {
  it('no candidates: no best path', () => {
    assert.deepEqual(selectPaths([], OPTS), { multipath: [] });
  });

  it('a local route wins over any learned one', () => {
    const local = peerRef('local', { type: 'local', address: '10.9.9.9', routerId: '10.9.9.9', asn: 65000 });
    assert.equal(
      best([makePath(local, { asPath: [], origin: 'incomplete' }), makePath(b, { localPref: 500 })]),
      'local',
    );
  });

  it('step a: highest LOCAL_PREF; absent counts as 100', () => {
    assert.equal(best([makePath(ibgpA, { localPref: 200 }), makePath(ibgpB, { localPref: 150 })]), 'ia');
    assert.equal(best([makePath(ibgpA, {}), makePath(ibgpB, { localPref: 99 })]), 'ia');
    assert.equal(best([makePath(ibgpA, { localPref: 101 }), makePath(ibgpB, {})]), 'ia');
  });

  it('step b: shortest AS_PATH; an AS_SET counts 1, confederation segments 0', () => {
    assert.equal(best([makePath(a, { asPath: [65001] }), makePath(b, { asPath: [65001, 65009] })]), 'a');
    const withSet = makePath(a, { asPath: [65001] });
    const setPath: Path = {
      ...withSet,
      attrs: { ...withSet.attrs, asPath: [...withSet.attrs.asPath, { type: 'set', asns: [1, 2, 3, 4] }] },
    };
    const confed: Path = {
      ...makePath(b),
      attrs: {
        ...makePath(b).attrs,
        asPath: [
          { type: 'confed-sequence', asns: [64512, 64513, 64514] },
          { type: 'sequence', asns: [65001, 65002, 65003] },
        ],
      },
    };
    // set path length 2 < confed path length 3.
    assert.equal(best([setPath, confed]), 'a');
  });

  it('step c: lowest ORIGIN (IGP < EGP < INCOMPLETE)', () => {
    assert.equal(best([makePath(a, { origin: 'igp' }), makePath(b, { origin: 'egp' })]), 'a');
    assert.equal(best([makePath(a, { origin: 'egp' }), makePath(b, { origin: 'incomplete' })]), 'a');
  });

  it('step d: lowest MED among paths from the same neighbouring AS; missing MED is 0', () => {
    assert.equal(
      best([makePath(a, { asPath: [65001], med: 5 }), makePath(b, { asPath: [65001], med: 10 })]),
      'a',
    );
    assert.equal(best([makePath(a, { asPath: [65001] }), makePath(b, { asPath: [65001], med: 1 })]), 'a');
  });

  it('step d: MEDs from different neighbouring ASes are not compared unless alwaysCompareMed', () => {
    const pa = makePath(a, { asPath: [65001], med: 5 });
    const pb = makePath({ ...b, asn: 65002 }, { asPath: [65002], med: 50 });
    assert.equal(best([pa, pb]), 'b', 'router id decides');
    assert.equal(best([pa, pb], { ...OPTS, alwaysCompareMed: true }), 'a');
  });

  it('step d is elimination, not pairwise: the result does not depend on order (RFC 4271 9.1.2.2 c)', () => {
    // x (AS1, MED 10) loses to y (AS1, MED 5); z (AS2) survives its own group. Between y and z the router id decides.
    const x = makePath(peerRef('x', { routerId: '10.0.0.1', address: '192.0.2.1', asn: 1 }), {
      asPath: [1],
      med: 10,
    });
    const y = makePath(peerRef('y', { routerId: '10.0.0.3', address: '192.0.2.3', asn: 1 }), {
      asPath: [1],
      med: 5,
    });
    const z = makePath(peerRef('z', { routerId: '10.0.0.2', address: '192.0.2.2', asn: 2 }), { asPath: [2] });
    for (const order of [
      [x, y, z],
      [z, x, y],
      [y, z, x],
      [x, z, y],
    ])
      assert.equal(best(order), 'z');
  });

  it('step e: eBGP over iBGP', () => {
    assert.equal(best([makePath(a, {}), makePath(ibgpB, {})]), 'a');
  });

  it('step f: lowest router id; ORIGINATOR_ID stands in for reflected paths (RFC 4456)', () => {
    assert.equal(best([makePath(ibgpA), makePath(ibgpB)]), 'ib');
    assert.equal(best([makePath(ibgpA), makePath(ibgpB, { originatorId: '10.0.0.99' })]), 'ia');
  });

  it('router ids compare numerically, not as text', () => {
    const p9 = peerRef('p9', { routerId: '9.0.0.1', address: '192.0.2.50', type: 'ibgp', asn: 65000 });
    const p10 = peerRef('p10', { routerId: '10.0.0.1', address: '192.0.2.40', type: 'ibgp', asn: 65000 });
    assert.equal(best([makePath(p9), makePath(p10)]), 'p9');
  });

  it('step g: shortest CLUSTER_LIST', () => {
    const x = makePath(ibgpA, { originatorId: '10.1.1.1', clusterList: ['1.1.1.1'] });
    const y = makePath(ibgpB, { originatorId: '10.1.1.1', clusterList: ['1.1.1.1', '2.2.2.2'] });
    assert.equal(best([x, y]), 'ia');
  });

  it('step h: lowest peer address (IPv4 and IPv6, numerically)', () => {
    const x = peerRef('x', { routerId: '10.0.0.1', address: '2001:db8::10', type: 'ibgp', asn: 65000 });
    const y = peerRef('y', { routerId: '10.0.0.1', address: '2001:db8::9', type: 'ibgp', asn: 65000 });
    assert.equal(best([makePath(x), makePath(y)]), 'y');
    const v4 = peerRef('v4', { routerId: '10.0.0.1', address: '192.0.2.200', type: 'ibgp', asn: 65000 });
    assert.equal(best([makePath(x), makePath(v4)]), 'v4');
  });

  it('earlier steps beat later ones (combined)', () => {
    // a: worse origin but better local-pref -> a; then AS path beats origin, origin beats MED...
    assert.equal(
      best([
        makePath(ibgpA, { localPref: 200, asPath: [1, 2, 3], origin: 'incomplete' }),
        makePath(ibgpB, { localPref: 100 }),
      ]),
      'ia',
    );
    assert.equal(
      best([makePath(a, { asPath: [65001], origin: 'incomplete' }), makePath(b, { asPath: [65001, 2] })]),
      'a',
    );
    assert.equal(
      best([makePath(a, { asPath: [65001], med: 100 }), makePath(b, { asPath: [65001], origin: 'egp' })]),
      'a',
    );
    assert.equal(
      best([
        makePath(a, { asPath: [65001], med: 0 }),
        makePath({ ...b, type: 'ebgp' }, { asPath: [65001], med: 1 }),
      ]),
      'a',
    );
    assert.equal(
      best([makePath(a, { asPath: [65001], med: 9 }), makePath(ibgpB, { asPath: [65005], med: 0 })]),
      'a',
      'MEDs from different ASes are not compared, so eBGP over iBGP decides',
    );
  });

  describe('ECMP', () => {
    const e = (id: string, n: number, asn = 65001) =>
      peerRef(id, { address: `192.0.2.${n}`, routerId: `10.0.0.${n}`, asn });

    it('equal paths through step e form the set, best first, capped by maxPaths', () => {
      const paths = [3, 1, 2].map((n) => makePath(e(`p${n}`, n), { asPath: [65001] }));
      const all = selectPaths(paths, ECMP);
      assert.deepEqual(
        all.multipath.map((p) => p.source.id),
        ['p1', 'p2', 'p3'],
      );
      assert.equal(all.best, all.multipath[0]);
      assert.deepEqual(
        selectPaths(paths, { ...ECMP, maxPaths: 2 }).multipath.map((p) => p.source.id),
        ['p1', 'p2'],
      );
      assert.deepEqual(
        selectPaths(paths, OPTS).multipath.map((p) => p.source.id),
        ['p1'],
      );
    });

    it('a path losing any step a-e is not in the set', () => {
      const good = [makePath(e('p1', 1), { asPath: [65001] }), makePath(e('p2', 2), { asPath: [65001] })];
      for (const worse of [
        makePath(e('w', 3), { asPath: [65001, 7] }),
        makePath(e('w', 3), { asPath: [65001], origin: 'egp' }),
        makePath(e('w', 3), { asPath: [65001], med: 1 }),
        makePath(peerRef('w', { address: '192.0.2.3', routerId: '10.0.0.3', type: 'ibgp', asn: 65000 }), {
          asPath: [65001],
        }),
      ]) {
        assert.deepEqual(
          selectPaths([...good, worse], ECMP).multipath.map((p) => p.source.id),
          ['p1', 'p2'],
        );
      }
    });

    it('eBGP multipath needs the same neighbouring AS unless multipathRelax', () => {
      const paths = [
        makePath(e('p1', 1), { asPath: [65001] }),
        makePath(e('p2', 2, 65002), { asPath: [65002] }),
      ];
      assert.equal(selectPaths(paths, ECMP).multipath.length, 1);
      assert.equal(selectPaths(paths, { ...ECMP, multipathRelax: true }).multipath.length, 2);
    });

    it('iBGP paths with equal attributes share the set; one next hop counts once', () => {
      const i1 = makePath(ibgpA, { nextHop: '198.51.100.1' });
      const i2 = makePath(ibgpB, { nextHop: '198.51.100.2' });
      const i3 = makePath(
        peerRef('ic', { address: '192.0.2.30', routerId: '10.0.0.30', type: 'ibgp', asn: 65000 }),
        {
          nextHop: '198.51.100.2',
        },
      );
      assert.deepEqual(
        selectPaths([i1, i2, i3], ECMP).multipath.map((p) => p.source.id),
        ['ib', 'ia'],
      );
    });

    it('a local best path has no ECMP set beyond itself', () => {
      const local = peerRef('local', { type: 'local', asn: 65000 });
      const s = selectPaths([makePath(local), makePath(a), makePath(b)], ECMP);
      assert.deepEqual(
        s.multipath.map((p) => p.source.id),
        ['local'],
      );
    });
  });

  it('property: best is in the set, the set is within maxPaths and order-independent', () => {
    const arbPath = fc.record({
      n: fc.integer({ min: 1, max: 30 }),
      ibgp: fc.boolean(),
      lp: fc.option(fc.integer({ min: 90, max: 110 }), { nil: undefined }),
      path: fc.array(fc.integer({ min: 65001, max: 65003 }), { maxLength: 2 }),
      med: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
      origin: fc.constantFrom('igp' as const, 'egp' as const),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(arbPath, { selector: (p) => p.n, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (specs, maxPaths) => {
          const paths = specs.map((s) =>
            makePath(
              peerRef(`p${s.n}`, {
                address: `192.0.2.${s.n}`,
                routerId: `10.0.${s.n % 3}.${s.n}`,
                type: s.ibgp ? 'ibgp' : 'ebgp',
                asn: s.ibgp ? 65000 : (s.path[0] ?? 65009),
              }),
              {
                localPref: s.lp,
                asPath: s.ibgp ? s.path : [s.path[0] ?? 65009, ...s.path],
                med: s.med,
                origin: s.origin,
              },
            ),
          );
          const opts = { ...OPTS, maxPaths };
          const one = selectPaths(paths, opts);
          const other = selectPaths([...paths].reverse(), opts);
          assert.equal(one.best?.source.id, other.best?.source.id);
          assert.deepEqual(
            one.multipath.map((p) => p.source.id),
            other.multipath.map((p) => p.source.id),
          );
          if (paths.length === 0) return;
          assert.equal(one.multipath[0], one.best);
          assert.ok(one.multipath.length <= maxPaths);
        },
      ),
      { numRuns: 300 },
    );
  });
});
