// KernelSync logic against an in-memory route table: coalescing, diffing, stale handling,
// refusals and input checks. No root needed; test/bgp/kernel.test.ts runs it against the kernel.
import assert from 'node:assert/strict';
import {
  type KernelRoute,
  KernelRouteError,
  KernelSync,
  type RouteTable,
  TRELLIS_BGP_RT_PROTO,
} from '../../bgp/kernel/index.js';
import {
  NetlinkError,
  type RouteBatchOp,
  type RouteBatchResult,
  type RouteFilter,
  type RouteInfo,
} from '../../src/netlink/index.js';

const ENETUNREACH = 101;
const ESRCH = 3;

/** A route table keyed like the kernel's (dst + metric), recording every batch it receives. */
class FakeTable implements RouteTable {
  readonly routes = new Map<string, RouteInfo>();
  readonly batches: RouteBatchOp[][] = [];
  readonly unreachable = new Set<string>();

  listRoutes(filter: RouteFilter): RouteInfo[] {
    return [...this.routes.values()].filter(
      (r) =>
        r.family === filter.family &&
        (filter.protocol === undefined || r.protocol === filter.protocol) &&
        (filter.table === undefined || r.table === filter.table),
    );
  }

  applyRouteBatch(ops: readonly RouteBatchOp[]): RouteBatchResult {
    this.batches.push([...ops]);
    const failed: RouteBatchResult['failed'][number][] = [];
    ops.forEach((o, index) => {
      const key = `${o.route.dst} ${o.route.metric ?? 0}`;
      const request = { type: 0, typeName: 'RTM_NEWROUTE', flags: 0, seq: index, what: o.route.dst };
      if (o.op === 'delete') {
        if (!this.routes.delete(key)) failed.push({ index, error: new NetlinkError(ESRCH, request) });
        return;
      }
      if (o.route.gateway !== undefined && this.unreachable.has(o.route.gateway)) {
        failed.push({ index, error: new NetlinkError(ENETUNREACH, request) });
        return;
      }
      this.routes.set(key, {
        ...o.route,
        type: 'unicast',
        protocol: o.route.protocol ?? 0,
        table: o.route.table ?? 254,
        scope: 'universe',
      });
    });
    return { ok: ops.length - failed.length, failed };
  }

  seed(route: Partial<RouteInfo> & { dst: string }): void {
    const info: RouteInfo = {
      family: route.dst.includes(':') ? 6 : 4,
      type: 'unicast',
      protocol: TRELLIS_BGP_RT_PROTO,
      table: 254,
      scope: 'universe',
      metric: 20,
      ...route,
    };
    this.routes.set(`${info.dst} ${info.metric ?? 0}`, info);
  }
}

const v4 = (dst: string, ...gateways: string[]): KernelRoute => ({
  family: 4,
  dst,
  nextHops: gateways.map((gateway) => ({ gateway })),
});

describe('bgp/kernel KernelSync (in-memory table)', () => {
  let table: FakeTable;
  let sync: KernelSync;

  beforeEach(() => {
    table = new FakeTable();
    sync = new KernelSync({ routes: table, flushDelayMs: 1, maxPending: 4 });
  });

  afterEach(() => sync.close());

  it('coalesces changes made in one tick into one batch after the delay', async () => {
    sync.start({ keepStale: false });
    sync.set(v4('10.1.0.0/24', '192.0.2.1'));
    sync.set(v4('10.2.0.0/24', '192.0.2.1'));
    sync.delete('10.2.0.0/24');
    assert.equal(table.batches.length, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(table.batches.length, 1);
    // The add-then-withdraw of 10.2.0.0/24 cancelled out before reaching the kernel.
    assert.deepEqual(
      table.batches[0]!.map((o) => `${o.op} ${o.route.dst}`),
      ['replace 10.1.0.0/24'],
    );
  });

  it('flushes at once when maxPending prefixes are waiting', () => {
    sync.start({ keepStale: false });
    for (let i = 0; i < 4; i++) sync.set(v4(`10.${i}.0.0/16`, '192.0.2.1'));
    assert.equal(table.batches.length, 1);
    assert.equal(table.batches[0]!.length, 4);
  });

  it('sends nothing when the desired route is already installed, and replaces when it differs', () => {
    table.seed({ dst: '10.1.0.0/24', gateway: '192.0.2.1', oif: 3 });
    table.seed({ dst: '10.2.0.0/24', gateway: '192.0.2.1', oif: 3 });
    sync.start({ keepStale: true });
    sync.set(v4('10.1.0.0/24', '192.0.2.1'));
    sync.set(v4('10.2.0.0/24', '192.0.2.1', '192.0.2.2'));
    const result = sync.flush();
    assert.equal(result.replaced, 1);
    assert.deepEqual(table.batches[0]![0]!.route.multipath, [
      { gateway: '192.0.2.1' },
      { gateway: '192.0.2.2' },
    ]);
  });

  it('keeps stale routes until sweepStale, then deletes them and strays at another metric', () => {
    table.seed({ dst: '10.1.0.0/24', gateway: '192.0.2.1' });
    table.seed({ dst: '10.9.0.0/24', gateway: '192.0.2.1' });
    table.seed({ dst: '10.8.0.0/24', gateway: '192.0.2.1', metric: 77 });
    sync.start({ keepStale: true });
    sync.set(v4('10.1.0.0/24', '192.0.2.1'));
    sync.delete('10.1.0.0/24');
    sync.flush();
    assert.equal(table.routes.size, 3, 'nothing removed before convergence');
    assert.equal(sync.stats().stale, 3);
    const swept = sync.sweepStale();
    assert.equal(swept.deleted, 3);
    assert.equal(table.routes.size, 0);
    assert.equal(sync.stats().installed, 0);
  });

  it('never lists or deletes routes of other protocols or tables', () => {
    table.seed({ dst: '10.1.0.0/24', gateway: '192.0.2.1', protocol: 45 });
    table.seed({ dst: '10.2.0.0/24', gateway: '192.0.2.1', table: 100 });
    sync.start({ keepStale: false });
    assert.equal(sync.removeAll().deleted, 0);
    assert.equal(table.routes.size, 2);
  });

  it('records refused replaces and retries them on resync', () => {
    sync.start({ keepStale: false });
    table.unreachable.add('198.51.100.1');
    sync.set(v4('10.1.0.0/24', '198.51.100.1'));
    const first = sync.flush();
    assert.equal(first.failed.length, 1);
    assert.equal(first.failed[0]!.error.code, 'ENETUNREACH');
    assert.equal(sync.stats().failed, 1);
    table.unreachable.clear();
    assert.equal(sync.resync().replaced, 1);
    assert.equal(sync.stats().failed, 0);
  });

  it('repairs a route someone else deleted, on resync', () => {
    sync.start({ keepStale: false });
    sync.set(v4('10.1.0.0/24', '192.0.2.1'));
    sync.flush();
    table.routes.clear();
    assert.equal(sync.resync().replaced, 1);
    assert.equal(table.routes.size, 1);
  });

  it('treats deleting an already vanished route as done', () => {
    sync.start({ keepStale: false });
    sync.set(v4('10.1.0.0/24', '192.0.2.1'));
    sync.flush();
    table.routes.clear();
    sync.delete('10.1.0.0/24');
    const result = sync.flush();
    assert.deepEqual([result.deleted, result.failed.length], [1, 0]);
    assert.equal(sync.stats().installed, 0);
  });

  for (const [name, route, message] of [
    ['host bits', v4('10.1.0.1/24', '192.0.2.1'), /host bits/],
    ['family', { family: 6, dst: '10.1.0.0/24', nextHops: [{ gateway: '192.0.2.1' }] }, /not an IPv6 prefix/],
    ['canonical', { family: 6, dst: '2001:DB8::/32', nextHops: [{ gateway: '2001:db8::1' }] }, /canonical/],
    ['next hops', v4('10.1.0.0/24'), /no next hop/],
    ['gateway', v4('10.1.0.0/24', '2001:db8::1'), /nextHops\[0\]\.gateway/],
    [
      'link-local',
      { family: 6, dst: '2001:db8::/32', nextHops: [{ gateway: 'fe80::1' }] },
      /needs an ifindex/,
    ],
    [
      'ifindex',
      { family: 4, dst: '10.1.0.0/24', nextHops: [{ gateway: '192.0.2.1', ifindex: 0 }] },
      /ifindex/,
    ],
  ] as const) {
    it(`refuses a malformed route (${name}) with KernelRouteError and keeps no state`, () => {
      sync.start({ keepStale: false });
      assert.throws(
        () => sync.set(route as KernelRoute),
        (err: unknown) => {
          assert.ok(err instanceof KernelRouteError);
          assert.match(err.message, message);
          return true;
        },
      );
      assert.deepEqual(sync.stats(), {
        desired: 0,
        installed: 0,
        stale: 0,
        pending: 0,
        failed: 0,
        batches: 0,
      });
    });
  }
});
