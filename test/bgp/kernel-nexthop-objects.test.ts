// KernelSync with nexthop objects (as the speaker runs it), against the real kernel in a
// namespace of its own: one object per connected IPv4 gateway, named by our routes; gateways
// that cannot have one, multipath and IPv6 routes naming their gateways; a restart adopting the
// objects; unused ones pruned at the sweep; foreign ones untouched; a link flap survived, also
// with no change from the RIB (periodic resync).
import assert from 'node:assert/strict';
import {
  type KernelRoute,
  KernelSync,
  type KernelSyncOptions,
  TRELLIS_BGP_RT_PROTO,
} from '../../bgp/kernel/index.js';
import { LinkMonitor, RouteNetlink } from '../../src/netlink/index.js';
import {
  addUplink,
  ip,
  ipJson,
  requireRoot,
  routesByDst,
  TestNamespaces,
  type TestNs,
} from '../netlink/fixture.js';
import { waitFor } from '../wait.js';

interface IpRoute {
  dst: string;
  nhid?: number;
  gateway?: string;
  nexthops?: { gateway: string }[];
}

interface IpNextHop {
  id: number;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

const via = (family: 4 | 6, dst: string, ...gateways: string[]): KernelRoute => ({
  family,
  dst,
  nextHops: gateways.map((gateway) => ({ gateway })),
});

/** /32s 10.9.0.1.. over `gateway`. */
const hostRoutes = (count: number, gateway: string, third = 0): KernelRoute[] =>
  Array.from({ length: count }, (_, i) => via(4, `10.9.${third}.${i + 1}/32`, gateway));

describe('bgp/kernel KernelSync with nexthop objects (root, kernel)', function () {
  this.timeout(60_000);
  const namespaces = new TestNamespaces();
  let ns: TestNs;
  let nl: RouteNetlink;
  const syncs: KernelSync[] = [];

  const ourRoutes = (family: 4 | 6 = 4): Map<string, IpRoute> =>
    routesByDst<IpRoute>(ns, family, TRELLIS_BGP_RT_PROTO);
  const nextHops = (): IpNextHop[] => ipJson<IpNextHop[]>(['-n', ns.name, 'nexthop', 'show']);
  const ourNextHops = (): IpNextHop[] =>
    nextHops().filter((n) => n.protocol === String(TRELLIS_BGP_RT_PROTO));
  const newSync = (opts: Pick<KernelSyncOptions, 'resyncIntervalMs' | 'links'> = {}): KernelSync => {
    const sync = new KernelSync({ routes: nl, nextHops: nl, ...opts });
    syncs.push(sync);
    return sync;
  };

  before(function () {
    requireRoot(this);
  });

  beforeEach(() => {
    ns = namespaces.add('bgpnh');
    addUplink(ns);
    nl = RouteNetlink.open({ netnsPath: ns.path });
  });

  afterEach(() => {
    for (const sync of syncs.splice(0)) sync.close();
    nl?.close();
    namespaces.removeAll();
  });

  it('routes over a connected IPv4 gateway name one object of ours on its interface', () => {
    const sync = newSync();
    sync.start({ keepStale: false });
    for (const route of hostRoutes(50, '192.0.2.2')) sync.set(route);
    assert.deepEqual(sync.flush().failed, []);

    const objects = ourNextHops();
    assert.equal(objects.length, 1, JSON.stringify(nextHops()));
    assert.deepEqual([objects[0]!.gateway, objects[0]!.dev], ['192.0.2.2', 'up0']);
    const routes = ourRoutes();
    assert.equal(routes.size, 50);
    // An operator still reads the gateway beside the id (`ip route`: nhid N via 192.0.2.2 dev up0).
    for (const r of routes.values()) assert.deepEqual([r.nhid, r.gateway], [objects[0]!.id, '192.0.2.2']);
    // The dump reads them as forwarding as wanted: a resync changes nothing.
    assert.deepEqual(sync.resync(), { replaced: 0, deleted: 0, failed: [] });
  });

  it('multipath, IPv6 and unreachable gateways name their gateways, and create no object', () => {
    const sync = newSync();
    sync.start({ keepStale: false });
    sync.set(via(4, '10.2.0.0/24', '192.0.2.2', '192.0.2.3'));
    sync.set(via(6, '2001:db8:10::/48', '2001:db8:1::2'));
    sync.set(via(4, '10.3.0.0/24', '198.51.100.1'));
    const result = sync.flush();
    // Not on a connected subnet: refused as before, for the route, with the kernel's reason.
    assert.deepEqual(
      result.failed.map((f) => [f.dst, f.error.code]),
      [['10.3.0.0/24', 'ENETUNREACH']],
    );
    assert.deepEqual(ourNextHops(), []);
    assert.deepEqual(
      ourRoutes(4)
        .get('10.2.0.0/24')
        ?.nexthops?.map((h) => h.gateway),
      ['192.0.2.2', '192.0.2.3'],
    );
    assert.equal(ourRoutes(6).get('2001:db8:10::/48')?.gateway, '2001:db8:1::2');
  });

  it('removes its objects with its routes, and leaves a foreign object and its route alone', () => {
    ip(['-n', ns.name, 'nexthop', 'add', 'id', '5', 'via', '192.0.2.2', 'dev', 'up0', 'proto', 'static']);
    ip(['-n', ns.name, 'route', 'add', '10.8.0.0/24', 'nhid', '5', 'proto', 'static']);
    const sync = newSync();
    sync.start({ keepStale: false });
    for (const route of [...hostRoutes(5, '192.0.2.2'), ...hostRoutes(5, '192.0.2.3', 1)]) sync.set(route);
    assert.deepEqual(sync.flush().failed, []);
    assert.equal(ourNextHops().length, 2);
    // The foreign object for the same gateway is never named by our routes.
    for (const r of ourRoutes().values()) assert.notEqual(r.nhid, 5);

    const removed = sync.removeAll();
    assert.deepEqual([removed.deleted, removed.failed.length], [10, 0]);
    assert.equal(ourRoutes().size, 0);
    assert.deepEqual(ourNextHops(), []);
    assert.deepEqual(
      nextHops().map((n) => n.id),
      [5],
    );
    assert.match(ip(['-n', ns.name, 'route', 'show', '10.8.0.0/24']), /nhid 5/);
  });

  it('after a restart adopts the objects (nothing replaced) and prunes the unused one at the sweep', () => {
    const first = newSync();
    first.start({ keepStale: false });
    for (const route of [...hostRoutes(20, '192.0.2.2'), ...hostRoutes(20, '192.0.2.3', 1)]) first.set(route);
    assert.deepEqual(first.flush().failed, []);
    const idOf2 = ourNextHops().find((n) => n.gateway === '192.0.2.2')!.id;
    first.close();

    // The next run (graceful restart) learns only the routes over .2 again.
    const second = newSync();
    second.start({ keepStale: true });
    for (const route of hostRoutes(20, '192.0.2.2')) second.set(route);
    assert.deepEqual(second.flush(), { replaced: 0, deleted: 0, failed: [] });
    assert.equal(ourNextHops().length, 2, 'stale routes keep their object until the sweep');

    const swept = second.sweepStale();
    assert.deepEqual([swept.deleted, swept.failed.length], [20, 0]);
    assert.deepEqual(
      ourNextHops().map((n) => [n.id, n.gateway]),
      [[idOf2, '192.0.2.2']],
    );
    assert.equal(ourRoutes().size, 20);
  });

  it('after a link flap took its object and routes, creates the object again for re-learned routes', () => {
    const sync = newSync();
    sync.start({ keepStale: false });
    const routes = hostRoutes(10, '192.0.2.2');
    for (const route of routes) sync.set(route);
    assert.deepEqual(sync.flush().failed, []);
    const before = ourNextHops()[0]!.id;

    ip(['-n', ns.name, 'link', 'set', 'up0', 'down']);
    assert.deepEqual([ourNextHops(), ourRoutes().size], [[], 0], 'the kernel deletes both with the link');
    ip(['-n', ns.name, 'link', 'set', 'up0', 'up']);

    // The session over that link went down and came back: withdrawn, then learned again.
    for (const route of routes) sync.delete(route.dst);
    sync.flush();
    for (const route of routes) sync.set(route);
    const refused = sync.flush();
    assert.equal(refused.failed.length, 10, 'first attempt names the object the kernel deleted');
    const retried = sync.flush();
    assert.deepEqual([retried.replaced, retried.failed.length], [10, 0]);
    const objects = ourNextHops();
    assert.equal(objects.length, 1);
    assert.notEqual(objects[0]!.id, before);
    for (const r of ourRoutes().values()) assert.equal(r.nhid, objects[0]!.id);
  });

  it('after a link flap the session survived, the periodic resync puts the object and its routes back', async () => {
    const sync = newSync({ resyncIntervalMs: 50 });
    sync.start({ keepStale: false });
    for (const route of hostRoutes(10, '192.0.2.2')) sync.set(route);
    assert.deepEqual(sync.flush().failed, []);

    ip(['-n', ns.name, 'link', 'set', 'up0', 'down']);
    assert.equal(ourRoutes().size, 0, 'the kernel deletes the routes with the link');
    ip(['-n', ns.name, 'link', 'set', 'up0', 'up']);
    // Nothing changes in the RIB: only the resync can know.
    await waitFor('routes back', 10_000, () => (ourRoutes().size === 10 ? true : undefined), 20);
    const objects = ourNextHops();
    assert.equal(objects.length, 1);
    for (const r of ourRoutes().values()) assert.equal(r.nhid, objects[0]!.id);
  });

  it('after a link flap, with no periodic resync, the link monitor has the routes back within seconds', async () => {
    const links = LinkMonitor.open({ netnsPath: ns.path, links: nl });
    try {
      const sync = newSync({ links });
      sync.start({ keepStale: false });
      for (const route of hostRoutes(10, '192.0.2.2')) sync.set(route);
      assert.deepEqual(sync.flush().failed, []);

      ip(['-n', ns.name, 'link', 'set', 'up0', 'down']);
      assert.equal(ourRoutes().size, 0);
      ip(['-n', ns.name, 'link', 'set', 'up0', 'up']);
      await waitFor('routes back', 5000, () => (ourRoutes().size === 10 ? true : undefined), 50);
      assert.equal(ourNextHops().length, 1);
      assert.equal(sync.stats().repaired, 10);
    } finally {
      links.close();
    }
  });
});
