// KernelSync logic against an in-memory route table: coalescing, diffing, stale handling,
// refusals and input checks. No root needed; test/bgp/kernel.test.ts runs it against the kernel.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type KernelRoute,
  KernelRouteError,
  KernelSync,
  type RouteTable,
  TRELLIS_BGP_RT_PROTO,
} from '../../bgp/kernel/index.js';
import {
  type BatchInFlight,
  NetlinkError,
  type RouteBatchOp,
  type RouteBatchOutcome,
  type RouteBatchResult,
  type RouteFilter,
  type RouteInfo,
} from '../../src/netlink/index.js';
import { recordingLogger } from '../util/logger.js';
import { waitFor } from '../wait.js';

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
    return this.#apply(ops);
  }

  /** While true, started batches stay in flight until `land()` or their `finish()`. */
  hold = false;
  /** The next started batch fails as a whole (as a broken socket would), applying nothing. */
  failNext: Error | undefined;
  readonly #inFlight: { land: () => void }[] = [];

  startRouteBatch(ops: readonly RouteBatchOp[], done: (outcome: RouteBatchOutcome) => void): BatchInFlight {
    // Any call on the real table settles the batch in flight first; the sync only ever has one.
    assert.equal(this.#inFlight.length, 0, 'a batch started while another was in flight');
    this.batches.push([...ops]);
    const failure = this.failNext;
    this.failNext = undefined;
    let landed = false;
    const flight = {
      land: () => {
        if (landed) return;
        landed = true;
        this.#inFlight.splice(this.#inFlight.indexOf(flight), 1);
        done(failure === undefined ? { result: this.#apply(ops) } : { error: failure });
      },
    };
    this.#inFlight.push(flight);
    if (!this.hold) setImmediate(flight.land);
    return { finish: flight.land };
  }

  get inFlight(): number {
    return this.#inFlight.length;
  }

  /** Completes the batch in flight as the kernel's answer arriving would. */
  land(): void {
    assert.equal(this.#inFlight.length, 1, 'no batch in flight');
    this.#inFlight[0]!.land();
  }

  #apply(ops: readonly RouteBatchOp[]): RouteBatchResult {
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
    assert.deepEqual(
      sync.failures().map((f) => `${f.dst} ${f.error.code}`),
      ['10.1.0.0/24 ENETUNREACH'],
    );
    table.unreachable.clear();
    assert.equal(sync.resync().replaced, 1);
    assert.equal(sync.stats().failed, 0);
    assert.deepEqual(sync.failures(), []);
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

  it('flushes at once when maxPending prefixes are waiting, without waiting for the kernel', () => {
    table.hold = true;
    sync.start({ keepStale: false });
    for (let i = 0; i < 4; i++) sync.set(v4(`10.${i}.0.0/16`, '192.0.2.1'));
    assert.equal(table.inFlight, 1);
    assert.equal(table.routes.size, 0, 'the kernel has not answered yet');
    assert.deepEqual([sync.stats().inFlight, sync.stats().installed], [4, 0]);
    table.land();
    assert.deepEqual([sync.stats().inFlight, sync.stats().installed, sync.stats().batches], [0, 4, 1]);
  });

  it('a batch landing after later set/delete calls keeps those prefixes pending and sends them next', () => {
    table.hold = true;
    sync.start({ keepStale: false });
    for (let i = 0; i < 4; i++) sync.set(v4(`10.${i}.0.0/16`, '192.0.2.1'));
    // While the first batch is in flight: one prefix moves, one goes, one is new, one is set
    // back to what is in flight (nothing to send for it once the batch lands).
    sync.set(v4('10.0.0.0/16', '192.0.2.9'));
    sync.delete('10.1.0.0/16');
    sync.set(v4('10.7.0.0/16', '192.0.2.1'));
    sync.set(v4('10.2.0.0/16', '192.0.2.5'));
    sync.set(v4('10.2.0.0/16', '192.0.2.1'));
    assert.equal(table.batches.length, 1, 'no second batch while one is in flight');
    assert.equal(sync.stats().pending, 4);
    table.land();
    // The landing installed all four as sent, then started the next batch from the pending ones.
    assert.equal(table.batches.length, 2);
    assert.deepEqual(
      table.batches[1]!.map((o) => `${o.op} ${o.route.dst} ${o.route.gateway}`),
      ['replace 10.0.0.0/16 192.0.2.9', 'delete 10.1.0.0/16 undefined', 'replace 10.7.0.0/16 192.0.2.1'],
    );
    table.land();
    assert.deepEqual([...table.routes.values()].map((r) => `${r.dst} ${r.gateway}`).sort(), [
      '10.0.0.0/16 192.0.2.9',
      '10.2.0.0/16 192.0.2.1',
      '10.3.0.0/16 192.0.2.1',
      '10.7.0.0/16 192.0.2.1',
    ]);
    assert.deepEqual(
      [sync.stats().desired, sync.stats().installed, sync.stats().pending, sync.stats().inFlight],
      [4, 4, 0, 0],
    );
  });

  it('a prefix withdrawn while its replace is in flight is deleted once the replace lands', () => {
    table.hold = true;
    sync.start({ keepStale: false });
    for (let i = 0; i < 4; i++) sync.set(v4(`10.${i}.0.0/16`, '192.0.2.1'));
    sync.delete('10.3.0.0/16');
    table.land();
    table.land();
    assert.equal(table.routes.has('10.3.0.0/16 20'), false);
    assert.deepEqual([sync.stats().installed, sync.stats().desired], [3, 3]);
  });

  it('flush() while a batch is in flight completes it first and counts both', () => {
    table.hold = true;
    sync.start({ keepStale: false });
    for (let i = 0; i < 4; i++) sync.set(v4(`10.${i}.0.0/16`, '192.0.2.1'));
    sync.set(v4('10.0.0.0/16', '192.0.2.2'));
    const result = sync.flush();
    assert.deepEqual([result.replaced, result.deleted, result.failed.length], [5, 0, 0]);
    assert.equal(table.inFlight, 0);
    assert.equal(table.routes.get('10.0.0.0/16 20')?.gateway, '192.0.2.2');
    assert.deepEqual([sync.stats().pending, sync.stats().inFlight, sync.stats().batches], [0, 0, 2]);
  });

  it('records a route the kernel refused in an asynchronous batch, and sends it again only on resync', async () => {
    sync.start({ keepStale: false });
    table.unreachable.add('198.51.100.1');
    sync.set(v4('10.0.0.0/16', '192.0.2.1'));
    sync.set(v4('10.1.0.0/16', '198.51.100.1'));
    sync.set(v4('10.2.0.0/16', '192.0.2.1'));
    sync.set(v4('10.3.0.0/16', '192.0.2.1'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual([sync.stats().installed, sync.stats().failed, sync.stats().inFlight], [3, 1, 0]);
    assert.equal(table.routes.has('10.1.0.0/16 20'), false);
    assert.deepEqual(sync.flush(), { replaced: 0, deleted: 0, failed: [] });
    assert.equal(table.batches.length, 1);
    table.unreachable.clear();
    assert.equal(sync.resync().replaced, 1);
    assert.deepEqual([sync.stats().installed, sync.stats().failed], [4, 0]);
  });

  it('sends every change of a batch that failed as a whole again at the next flush', () => {
    table.hold = true;
    table.seed({ dst: '10.9.0.0/24', gateway: '192.0.2.1', metric: 77 });
    sync.start({ keepStale: false });
    table.failNext = new Error('socket broke');
    for (let i = 0; i < 4; i++) sync.set(v4(`10.${i}.0.0/16`, '192.0.2.1'));
    assert.equal(table.batches[0]!.length, 5, 'four replaces and the stray at metric 77');
    table.land();
    assert.deepEqual([sync.stats().installed, sync.stats().pending, sync.stats().stale], [0, 4, 1]);
    const retried = sync.flush();
    assert.deepEqual([retried.replaced, retried.deleted], [4, 1]);
    assert.deepEqual([...table.routes.keys()].sort(), [
      '10.0.0.0/16 20',
      '10.1.0.0/16 20',
      '10.2.0.0/16 20',
      '10.3.0.0/16 20',
    ]);
  });

  it('close() completes the batch in flight and starts no other', () => {
    table.hold = true;
    sync.start({ keepStale: false });
    for (let i = 0; i < 4; i++) sync.set(v4(`10.${i}.0.0/16`, '192.0.2.1'));
    sync.set(v4('10.5.0.0/16', '192.0.2.1'));
    sync.close();
    assert.deepEqual([table.inFlight, table.batches.length, table.routes.size], [0, 1, 4]);
  });

  describe('resync by itself (periodic, or when a link came back up)', () => {
    const lines: Record<string, unknown>[] = [];
    let periodic: KernelSync;
    const until = (what: string, done: () => boolean): Promise<true> =>
      waitFor(what, 5000, () => (done() ? true : undefined), 5);

    beforeEach(() => {
      lines.length = 0;
      periodic = new KernelSync({
        routes: table,
        flushDelayMs: 1,
        resyncIntervalMs: 20,
        logger: recordingLogger(lines),
      });
    });
    afterEach(() => periodic.close());

    it('puts back a route the kernel dropped and retries a refused one, with no call, and says so', async () => {
      periodic.start({ keepStale: false });
      table.unreachable.add('198.51.100.1');
      periodic.set(v4('10.1.0.0/24', '192.0.2.1'));
      periodic.set(v4('10.2.0.0/24', '198.51.100.1'));
      periodic.flush();
      // An interface going down takes its routes along; a next hop coming on link.
      table.routes.clear();
      table.unreachable.clear();
      await until('both routes installed', () => table.routes.size === 2);
      assert.deepEqual([periodic.stats().failed, periodic.stats().repaired], [0, 2]);
      assert.ok(lines.some((l) => l['msg'] === 'kernel sync: resync repaired routes' && l['replaced'] === 2));
    });

    it('survives a failed dump, and close() stops it', async () => {
      periodic.start({ keepStale: false });
      const listRoutes = table.listRoutes.bind(table);
      let dumps = 0;
      table.listRoutes = (filter) => {
        dumps++;
        if (dumps <= 2) throw new Error('netlink socket gone');
        return listRoutes(filter);
      };
      await until('a dump after the failed one', () => dumps > 3);
      assert.ok(lines.some((l) => l['msg'] === 'kernel sync: periodic resync failed'));
      periodic.close();
      const after = dumps;
      await new Promise((resolve) => setTimeout(resolve, 80));
      assert.equal(dumps, after, 'no dump after close()');
    });

    it('applies changes still waiting to be coalesced without counting them as repairs', async () => {
      periodic.close();
      periodic = new KernelSync({
        routes: table,
        flushDelayMs: 60_000,
        resyncIntervalMs: 20,
        logger: recordingLogger(lines),
      });
      periodic.start({ keepStale: false });
      periodic.set(v4('10.1.0.0/24', '192.0.2.1'));
      await until('the route installed', () => table.routes.size === 1);
      assert.deepEqual(lines, []);
    });

    it('resyncs when the link source says an interface came back up, and survives it failing', async () => {
      periodic.close();
      const answers: (boolean | Error)[] = [new Error('netlink socket gone'), true];
      periodic = new KernelSync({
        routes: table,
        flushDelayMs: 1,
        links: {
          cameBackUp: () => {
            const next = answers.shift() ?? false;
            if (next instanceof Error) throw next;
            return next;
          },
        },
        logger: recordingLogger(lines),
      });
      periodic.start({ keepStale: false });
      periodic.set(v4('10.1.0.0/24', '192.0.2.1'));
      periodic.flush();
      table.routes.clear();
      // Polled once a second: the first poll fails (logged), the second reports a flap.
      await until('the route put back', () => table.routes.size === 1);
      assert.deepEqual(
        lines.map((l) => l['msg']),
        ['kernel sync: reading link changes failed', 'kernel sync: resync repaired routes'],
      );
    }).timeout(10_000);

    it('is off unless asked for', async () => {
      sync.start({ keepStale: false });
      sync.set(v4('10.1.0.0/24', '192.0.2.1'));
      sync.flush();
      table.routes.clear();
      await new Promise((resolve) => setTimeout(resolve, 80));
      assert.equal(table.routes.size, 0);
    });
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
        inFlight: 0,
        failed: 0,
        batches: 0,
        repaired: 0,
      });
    });
  }
});

describe('bgp/kernel KernelSync: any sequence of changes ends with the kernel as wanted', () => {
  // Shared, frozen hop lists as the speaker hands them (so prefixes settle into them), and
  // fresh lists equal to them (so comparison by content is exercised too).
  const shared = [
    Object.freeze([Object.freeze({ gateway: '192.0.2.1' })]),
    Object.freeze([Object.freeze({ gateway: '192.0.2.2' })]),
    Object.freeze([Object.freeze({ gateway: '192.0.2.1' }), Object.freeze({ gateway: '192.0.2.2' })]),
  ];
  const v6Hops = Object.freeze([Object.freeze({ gateway: 'fe80::1', ifindex: 2 })]);
  const dsts = ['10.0.0.0/24', '10.0.1.0/24', '10.0.0.0/16', '255.255.255.255/32', '2001:db8::/32'];
  const hopsOf = (dst: string, variant: number) => {
    if (dst.includes(':')) return variant % 2 === 0 ? v6Hops : v6Hops.map((h) => ({ ...h }));
    const list = shared[variant % 3]!;
    return variant < 3 ? list : list.map((h) => ({ ...h }));
  };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(dsts.length - 1), variant: fc.nat(5) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(dsts.length - 1) }),
    fc.record({ kind: fc.constantFrom('flush' as const, 'resync' as const) }),
    fc.record({ kind: fc.constant('lost' as const), at: fc.nat(dsts.length - 1) }),
  );

  it('after a flush (and, when routes were lost, a resync) the table holds exactly the desired routes; stats agree', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const table = new FakeTable();
        const sync = new KernelSync({ routes: table, flushDelayMs: 60_000, maxPending: 1000 });
        const want = new Map<string, string[]>();
        try {
          sync.start({ keepStale: false });
          for (const o of ops) {
            if (o.kind === 'set') {
              const dst = dsts[o.at]!;
              const nextHops = hopsOf(dst, o.variant);
              sync.set({ family: dst.includes(':') ? 6 : 4, dst, nextHops });
              want.set(dst, nextHops.map((h) => h.gateway).sort());
            } else if (o.kind === 'delete') {
              sync.delete(dsts[o.at]!);
              want.delete(dsts[o.at]!);
            } else if (o.kind === 'lost') {
              // Someone else removed our route (an interface went down).
              table.routes.delete(`${dsts[o.at]!} 20`);
            } else if (o.kind === 'flush') {
              sync.flush();
            } else {
              sync.resync();
            }
          }
          const have = () =>
            new Map(
              [...table.routes.values()].map((r) => [
                r.dst,
                (r.multipath?.map((h) => h.gateway!) ?? [r.gateway!]).sort(),
              ]),
            );
          // Without outside interference a flush alone must get there; a resync repairs the rest.
          sync.flush();
          if (!ops.some((o) => o.kind === 'lost')) assert.deepEqual(have(), want, 'after flush');
          sync.resync();
          assert.deepEqual(have(), want, 'after resync');
          const stats = sync.stats();
          assert.deepEqual(
            [stats.desired, stats.installed, stats.pending, stats.stale],
            [want.size, want.size, 0, 0],
          );
        } finally {
          sync.close();
        }
      }),
    );
  });
});
