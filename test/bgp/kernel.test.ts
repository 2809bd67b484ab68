// KernelSync against the real kernel, in a namespace of its own: install, withdraw, ECMP,
// IPv6 (global and link-local next hops), resync after a restart, foreign routes untouched,
// and 100,000 routes (timed and printed, not asserted).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { type KernelRoute, KernelSync, TRELLIS_BGP_RT_PROTO } from '../../bgp/kernel/index.js';
import { RouteNetlink } from '../../src/netlink/index.js';
import {
  addUplink,
  ip,
  ipJson,
  requireRoot,
  routesByDst,
  TestNamespaces,
  type TestNs,
} from '../netlink/fixture.js';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol: string;
  metric?: number;
  nexthops?: { gateway: string; dev: string }[];
}

/** Our routes as `ip` (an independent reader) sees them, by dst. */
const bgpRoutes = (ns: TestNs, family: 4 | 6): Map<string, IpRoute> =>
  routesByDst<IpRoute>(ns, family, TRELLIS_BGP_RT_PROTO);

const via = (family: 4 | 6, dst: string, ...hops: (string | [string, number])[]): KernelRoute => ({
  family,
  dst,
  nextHops: hops.map((h) => (typeof h === 'string' ? { gateway: h } : { gateway: h[0], ifindex: h[1] })),
});

describe('bgp/kernel KernelSync (root, kernel)', function () {
  this.timeout(120_000);
  const namespaces = new TestNamespaces();
  let ns: TestNs;
  let nl: RouteNetlink;
  let ifindex: number;
  let sync: KernelSync;

  before(function () {
    requireRoot(this);
  });

  beforeEach(() => {
    ns = namespaces.add('bgpk');
    addUplink(ns);
    ifindex = ipJson<{ ifindex: number }[]>(['-n', ns.name, 'link', 'show', 'up0'])[0]!.ifindex;
    nl = RouteNetlink.open({ netnsPath: ns.path });
    sync = new KernelSync({ routes: nl });
  });

  afterEach(() => {
    sync?.close();
    nl?.close();
    namespaces.removeAll();
  });

  it('installs single-path, ECMP and IPv6 routes (global and link-local next hops) with protocol 46', () => {
    sync.start({ keepStale: false });
    sync.set(via(4, '10.1.0.0/24', '192.0.2.2'));
    sync.set(via(4, '10.2.0.0/24', '192.0.2.2', '192.0.2.3'));
    sync.set(via(4, '10.3.0.7/32', '192.0.2.4'));
    sync.set(via(6, '2001:db8:10::/48', '2001:db8:1::2'));
    sync.set(via(6, '2001:db8:11::/48', ['fe80::2', ifindex], ['fe80::3', ifindex]));
    const result = sync.flush();
    assert.deepEqual([result.replaced, result.failed.length], [5, 0]);

    const v4 = bgpRoutes(ns, 4);
    assert.deepEqual([...v4.keys()].sort(), ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.7/32']);
    assert.equal(v4.get('10.1.0.0/24')!.gateway, '192.0.2.2');
    assert.equal(v4.get('10.1.0.0/24')!.metric, 20);
    assert.deepEqual(
      v4
        .get('10.2.0.0/24')!
        .nexthops!.map((h) => h.gateway)
        .sort(),
      ['192.0.2.2', '192.0.2.3'],
    );
    const v6 = bgpRoutes(ns, 6);
    assert.equal(v6.get('2001:db8:10::/48')!.gateway, '2001:db8:1::2');
    assert.deepEqual(
      v6
        .get('2001:db8:11::/48')!
        .nexthops!.map((h) => `${h.gateway}%${h.dev}`)
        .sort(),
      ['fe80::2%up0', 'fe80::3%up0'],
    );
    // What we installed reads back as already in place: a resync changes nothing.
    const again = sync.resync();
    assert.deepEqual([again.replaced, again.deleted], [0, 0]);
  });

  it('withdraws routes and changes next-hop sets in place', () => {
    sync.start({ keepStale: false });
    sync.set(via(4, '10.1.0.0/24', '192.0.2.2', '192.0.2.3'));
    sync.set(via(6, '2001:db8:10::/48', '2001:db8:1::2', '2001:db8:1::3'));
    sync.flush();
    sync.set(via(4, '10.1.0.0/24', '192.0.2.3'));
    sync.set(via(6, '2001:db8:10::/48', '2001:db8:1::3'));
    sync.flush();
    assert.equal(bgpRoutes(ns, 4).get('10.1.0.0/24')!.gateway, '192.0.2.3');
    assert.equal(bgpRoutes(ns, 6).get('2001:db8:10::/48')!.gateway, '2001:db8:1::3');
    sync.delete('10.1.0.0/24');
    sync.delete('2001:db8:10::/48');
    assert.equal(sync.flush().deleted, 2);
    assert.equal(bgpRoutes(ns, 4).size + bgpRoutes(ns, 6).size, 0);
  });

  it('leaves routes of other protocols alone, also for the same prefixes', () => {
    // Another reconciler's route to the same prefix at its own metric (0), and a static route.
    ip(['-n', ns.name, 'route', 'add', '10.1.0.0/24', 'via', '192.0.2.9', 'proto', '45']);
    ip(['-n', ns.name, 'route', 'add', '10.5.0.0/24', 'via', '192.0.2.9', 'proto', 'static']);
    sync.start({ keepStale: false });
    sync.set(via(4, '10.1.0.0/24', '192.0.2.2'));
    assert.equal(sync.flush().replaced, 1);
    const both = ipJson<IpRoute[]>(['-n', ns.name, '-4', 'route', 'show', '10.1.0.0/24']);
    assert.deepEqual(
      both.map((r) => `${r.protocol} ${r.gateway}`).sort(),
      ['46 192.0.2.2', '45 192.0.2.9'].sort(),
    );
    assert.equal(sync.removeAll().deleted, 1);
    const left = ipJson<IpRoute[]>(['-n', ns.name, '-4', 'route', 'show', 'via', '192.0.2.9']);
    assert.deepEqual(left.map((r) => r.dst).sort(), ['10.1.0.0/24', '10.5.0.0/24']);
  });

  it('after a restart keeps the old routes until the sweep, rewriting only the differences', () => {
    sync.start({ keepStale: false });
    sync.set(via(4, '10.1.0.0/24', '192.0.2.2'));
    sync.set(via(4, '10.2.0.0/24', '192.0.2.2'));
    sync.set(via(4, '10.3.0.0/24', '192.0.2.2'));
    sync.flush();
    sync.close();

    // The "restarted" speaker: a fresh KernelSync over the same kernel table.
    const restarted = new KernelSync({ routes: nl });
    sync = restarted;
    restarted.start({ keepStale: true });
    assert.equal(restarted.stats().stale, 3);
    restarted.set(via(4, '10.1.0.0/24', '192.0.2.2')); // unchanged
    restarted.set(via(4, '10.2.0.0/24', '192.0.2.3')); // changed
    const during = restarted.flush();
    assert.deepEqual([during.replaced, during.deleted], [1, 0]);
    assert.equal(bgpRoutes(ns, 4).size, 3, '10.3.0.0/24 still forwards before convergence');
    const swept = restarted.sweepStale();
    assert.deepEqual([swept.replaced, swept.deleted], [0, 1]);
    const after = bgpRoutes(ns, 4);
    assert.deepEqual([...after.keys()].sort(), ['10.1.0.0/24', '10.2.0.0/24']);
    assert.equal(after.get('10.2.0.0/24')!.gateway, '192.0.2.3');
  });

  it('reports a next hop that is not on link as a failure of that prefix only', () => {
    sync.start({ keepStale: false });
    sync.set(via(4, '10.1.0.0/24', '198.51.100.1'));
    sync.set(via(4, '10.2.0.0/24', '192.0.2.2'));
    const result = sync.flush();
    assert.equal(result.replaced, 1);
    assert.deepEqual(
      result.failed.map((f) => [f.dst, f.error.code]),
      [['10.1.0.0/24', 'ENETUNREACH']],
    );
    assert.equal(sync.stats().failed, 1);
  });

  it('lands batches started in the background in order, keeping changes made while one was in flight', async () => {
    sync = new KernelSync({ routes: nl, maxPending: 4096 });
    sync.start({ keepStale: false });
    const dst = (i: number) => `10.9.${i >> 8}.${i & 255}/32`;
    for (let i = 0; i < 10_000; i++) sync.set(via(4, dst(i), '192.0.2.2'));
    assert.ok(sync.stats().inFlight > 0, 'a full pending list starts a batch without waiting for it');
    // While batches are in flight: one prefix moves, one goes, one the kernel will refuse.
    sync.set(via(4, dst(0), '192.0.2.3'));
    sync.delete(dst(1));
    sync.set(via(4, '10.8.0.0/24', '198.51.100.1'));
    const deadline = Date.now() + 10_000;
    while (sync.stats().pending + sync.stats().inFlight > 0) {
      assert.ok(Date.now() < deadline, 'the batches never all landed');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const landed = bgpRoutes(ns, 4);
    assert.equal(landed.size, 9_999);
    assert.equal(landed.get(dst(0))?.gateway, '192.0.2.3');
    assert.equal(landed.has(dst(1)), false);
    assert.deepEqual([sync.stats().installed, sync.stats().failed], [9_999, 1]);

    // flush() right behind a batch in flight completes it first and counts both.
    for (let i = 0; i < 5000; i++) sync.set(via(4, dst(i), '192.0.2.4'));
    assert.ok(sync.stats().inFlight > 0);
    const flushed = sync.flush();
    assert.deepEqual([flushed.replaced, flushed.failed.length], [5000, 0]);
    assert.deepEqual([sync.stats().pending, sync.stats().inFlight], [0, 0]);
    const after = bgpRoutes(ns, 4);
    assert.equal(after.size, 10_000);
    assert.equal(after.get(dst(4999))?.gateway, '192.0.2.4');
    assert.equal(after.get(dst(5000))?.gateway, '192.0.2.2');
  });

  it('installs and removes 100,000 routes (timed, printed)', () => {
    sync = new KernelSync({ routes: nl, maxPending: 16_384 });
    sync.start({ keepStale: false });
    const count = 100_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      sync.set(
        via(
          4,
          `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`,
          i % 2 === 0 ? '192.0.2.2' : '192.0.2.3',
        ),
      );
    }
    sync.flush();
    const t1 = process.hrtime.bigint();
    assert.equal(sync.stats().installed, count);
    const listed = execFileSync('sh', ['-c', `ip -n ${ns.name} -4 route show proto 46 | wc -l`], {
      encoding: 'utf8',
    });
    assert.equal(Number(listed.trim()), count);
    const t2 = process.hrtime.bigint();
    const resynced = sync.resync();
    const t3 = process.hrtime.bigint();
    assert.equal(resynced.replaced, 0);
    const removed = sync.removeAll();
    const t4 = process.hrtime.bigint();
    assert.equal(removed.deleted, count);
    const ms = (a: bigint, b: bigint): string => (Number(b - a) / 1e6).toFixed(0);
    console.log(
      `      100k routes: install ${ms(t0, t1)} ms, resync (dump+diff, no changes) ${ms(t2, t3)} ms, remove ${ms(t3, t4)} ms`,
    );
  });
});
