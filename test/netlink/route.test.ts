import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync } from 'node:fs';
import {
  NetlinkError,
  NetlinkInputError,
  openNetns,
  type RouteBatchOp,
  type RouteBatchOutcome,
  type RouteInfo,
  RouteNetlink,
  type RouteSpec,
  TRELLIS_RT_PROTO,
} from '../../src/netlink/index.js';
import { byDst, ip, ipJson, ipRoutes, requireRoot, TestNamespaces, type TestNs } from './fixture.js';

/** A protocol id other than Trellis's, to prove listRoutes filters by protocol. */
const OTHER_PROTO = 0x7e;

function assertNetlinkError(fn: () => unknown, code: string): NetlinkError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof NetlinkError, `expected NetlinkError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  linkinfo?: { info_kind: string };
}

/** Deletes of absent routes (refused ESRCH) scattered over 100 ops: where chunk edges fall. */
const REFUSED = new Set([0, 6, 7, 13, 20, 21, 50, 98, 99]);
const opsWithRefusals = (oif: number): RouteBatchOp[] =>
  Array.from({ length: 100 }, (_, i) => {
    const dst = `10.50.0.${i}/32`;
    return REFUSED.has(i)
      ? { op: 'delete', route: { family: 4, dst } }
      : { op: 'replace', route: { family: 4, dst, oif } };
  });

describe('netlink/route (root)', function () {
  this.timeout(60_000);
  const namespaces = new TestNamespaces();
  let host: TestNs;
  let pod: TestNs;
  let nl: RouteNetlink | undefined;

  before(function () {
    requireRoot(this);
  });

  beforeEach(() => {
    host = namespaces.add('host');
    pod = namespaces.add('pod');
    nl = RouteNetlink.open({ netnsPath: host.path });
  });

  afterEach(() => {
    nl?.close();
    nl = undefined;
    namespaces.removeAll();
  });

  const open = (): RouteNetlink => nl!;

  /** A veth host<->pod with the host side up; returns the host-side index. */
  function veth(name = 'veth-a', peer = 'eth0'): number {
    return open().createVeth({ name, up: true, peer: { name: peer, netnsPath: pod.path } }).index;
  }

  describe('links', () => {
    it('creates a veth with its peer inside another namespace, MTU and MACs set', () => {
      const created = open().createVeth({
        name: 'trlveth0',
        mtu: 1420,
        mac: '02:aa:00:00:00:01',
        up: true,
        peer: { name: 'eth0', netnsPath: pod.path, mac: '02:bb:00:00:00:02' },
      });
      const [hostSide] = ipJson<IpLink[]>(['-n', host.name, '-d', 'link', 'show', 'trlveth0']);
      const [podSide] = ipJson<IpLink[]>(['-n', pod.name, '-d', 'link', 'show', 'eth0']);
      assert.deepEqual(
        [hostSide!.ifindex, hostSide!.mtu, hostSide!.address, hostSide!.linkinfo?.info_kind],
        [created.index, 1420, '02:aa:00:00:00:01', 'veth'],
      );
      assert.ok(hostSide!.flags.includes('UP'));
      assert.deepEqual(
        [podSide!.mtu, podSide!.address, podSide!.linkinfo?.info_kind],
        [1420, '02:bb:00:00:00:02', 'veth'],
      );
      assert.deepEqual(
        [created.name, created.mtu, created.mac, created.up, created.kind, created.peerIndex],
        ['trlveth0', 1420, '02:aa:00:00:00:01', true, 'veth', podSide!.ifindex],
      );
      assert.throws(
        () => ip(['-n', host.name, 'link', 'show', 'eth0']),
        'the peer is not left in the host namespace',
      );
      assert.deepEqual(
        open()
          .listLinks()
          .map((l) => l.name)
          .sort(),
        ['lo', 'trlveth0'],
      );
    });

    it('creates the peer in a namespace given as an open fd (the caller keeps the fd)', () => {
      const fd = openNetns(pod.path);
      try {
        open().createVeth({ name: 'byfd0', peer: { name: 'eth0', netnsFd: fd } });
        assert.equal(ipJson<IpLink[]>(['-n', pod.name, 'link', 'show', 'eth0']).length, 1);
        assert.ok(fstatSync(fd).isFile(), 'fd still open');
      } finally {
        closeSync(fd);
      }
      assert.throws(
        () => open().createVeth({ name: 'byfd1', peer: { name: 'eth1', netnsFd: 1, netnsPath: pod.path } }),
        NetlinkInputError,
      );
    });

    it('changes state, MAC and MTU; deletes by name and by index', () => {
      const index = open().createVeth({ name: 'v1', peer: { name: 'eth0', netnsPath: pod.path } }).index;
      assert.equal(open().getLink(index).up, false);
      open().setLinkUp(index);
      open().setLinkMac(index, '02:00:00:00:00:0a');
      open().setLinkMtu(index, 9000);
      const [link] = ipJson<IpLink[]>(['-n', host.name, 'link', 'show', 'v1']);
      assert.ok(link!.flags.includes('UP'));
      assert.deepEqual([link!.address, link!.mtu], ['02:00:00:00:00:0a', 9000]);
      open().setLinkState(index, false);
      assert.equal(open().getLink('v1').up, false);
      open().updateLink(index, { up: true, mtu: 1300, mac: '02:00:00:00:00:0b' });
      const updated = open().getLink('v1');
      assert.deepEqual([updated.up, updated.mtu, updated.mac], [true, 1300, '02:00:00:00:00:0b']);
      open().deleteLink('v1');
      assert.equal(open().findLink('v1'), undefined);
      const other = open().createVeth({ name: 'v2', peer: { name: 'eth1' } }).index;
      open().deleteLink(other);
      assert.equal(open().findLink(other), undefined);
    });

    it('moves a link into another namespace', () => {
      const index = open().createVeth({ name: 'mv0', peer: { name: 'mv1' } }).index;
      open().moveLinkToNetns(index, pod.path);
      assert.equal(open().findLink('mv0'), undefined);
      assert.equal(ipJson<IpLink[]>(['-n', pod.name, 'link', 'show', 'mv0']).length, 1);
    });

    it('maps kernel refusals to typed errors naming the request', () => {
      veth('dup0');
      const exists = assertNetlinkError(
        () => open().createVeth({ name: 'dup0', peer: { name: 'eth9', netnsPath: pod.path } }),
        'EEXIST',
      );
      assert.equal(exists.request.typeName, 'RTM_NEWLINK');
      assert.match(exists.message, /veth dup0 peer eth9.*EEXIST/);
      assertNetlinkError(() => open().deleteLink('nope0'), 'ENODEV');
      assertNetlinkError(() => open().getLink('nope0'), 'ENODEV');
      assertNetlinkError(() => open().setLinkUp(4242), 'ENODEV');
      assert.equal(ipJson<IpLink[]>(['-n', pod.name, 'link', 'show']).length, 2, 'no stray peer left behind');
    });
  });

  describe('addresses', () => {
    it('adds, lists, replaces and deletes IPv4 and IPv6 addresses', () => {
      const index = veth();
      open().addAddress({ ifindex: index, family: 4, address: '10.77.0.1', prefixLen: 32 });
      open().addAddress({ ifindex: index, family: 6, address: 'fd00:77::1', prefixLen: 128, nodad: true });
      const listed = open()
        .listAddresses(index)
        .filter((a) => a.scope === 'universe')
        .map((a) => `${a.address}/${a.prefixLen}`);
      assert.deepEqual(listed, ['10.77.0.1/32', 'fd00:77::1/128']);
      const shown = ipJson<{ addr_info: { local: string; prefixlen: number; scope: string }[] }[]>([
        '-n',
        host.name,
        'addr',
        'show',
        'veth-a',
      ])[0]!.addr_info.filter((a) => a.scope === 'global');
      assert.deepEqual(
        shown.map((a) => `${a.local}/${a.prefixlen}`),
        listed,
      );
      // NODAD: usable at once, never "tentative".
      const v6 = open()
        .listAddresses(index, 6)
        .find((a) => a.address === 'fd00:77::1');
      assert.equal(v6!.flags & 0x40 /* IFA_F_TENTATIVE */, 0);
      assertNetlinkError(
        () => open().addAddress({ ifindex: index, family: 4, address: '10.77.0.1', prefixLen: 32 }),
        'EEXIST',
      );
      open().addAddress(
        { ifindex: index, family: 4, address: '10.77.0.1', prefixLen: 32 },
        { replace: true },
      );
      open().deleteAddress({ ifindex: index, family: 4, address: '10.77.0.1', prefixLen: 32 });
      assertNetlinkError(
        () => open().deleteAddress({ ifindex: index, family: 4, address: '10.77.0.1', prefixLen: 32 }),
        'EADDRNOTAVAIL',
      );
      assert.deepEqual(
        open()
          .listAddresses(index, 4)
          .map((a) => a.address),
        [],
      );
    });
  });

  describe('routes', () => {
    /** Routes of every kind, in one namespace, checked against what `ip -j route` reports. */
    it('installs unicast, gateway, onlink, ECMP, blackhole, unreachable and local routes as ip sees them', () => {
      const index = veth();
      open().addAddress({ ifindex: index, family: 4, address: '10.1.0.1', prefixLen: 24 });
      open().addAddress({ ifindex: index, family: 6, address: 'fd00:1::1', prefixLen: 64, nodad: true });
      const specs: RouteSpec[] = [
        { family: 4, dst: '10.2.0.5/32', oif: index },
        { family: 4, dst: '10.3.0.0/16', gateway: '10.1.0.2', metric: 20, src: '10.1.0.1' },
        { family: 4, dst: '10.4.0.0/16', gateway: '192.0.2.1', oif: index, onlink: true },
        {
          family: 4,
          dst: '10.5.0.0/16',
          multipath: [
            { gateway: '10.1.0.2', oif: index, weight: 1 },
            { gateway: '10.1.0.3', oif: index, weight: 3 },
          ],
        },
        { family: 4, dst: '10.6.0.0/16', type: 'blackhole', protocol: OTHER_PROTO },
        { family: 4, dst: '10.7.0.0/16', type: 'unreachable', table: 1000 },
        { family: 4, dst: '10.8.0.1/32', type: 'local', oif: index, table: 255 },
        { family: 6, dst: 'fd00:2::/64', type: 'blackhole' },
        {
          family: 6,
          dst: 'fd00:3::/64',
          multipath: [
            { gateway: 'fd00:1::2', oif: index },
            { gateway: 'fd00:1::3', oif: index },
          ],
        },
      ];
      for (const spec of specs) open().addRoute(spec);

      const ours = (r: RouteInfo): boolean => r.protocol === TRELLIS_RT_PROTO || r.protocol === OTHER_PROTO;
      for (const family of [4, 6] as const) {
        const mine = open().listRoutes({ family, table: 0 }).filter(ours).sort(byDst);
        const seen = ipRoutes(host, family).filter(ours).sort(byDst);
        assert.deepEqual(mine, seen, `IPv${family}: listRoutes agrees with ip -j route`);
        assert.equal(mine.length, specs.filter((s) => s.family === family).length);
      }
      // ip prints the custom id on the blackhole route.
      assert.match(
        ip(['-n', host.name, 'route', 'show', '10.6.0.0/16']),
        /^blackhole 10\.6\.0\.0\/16 proto 126/,
      );
      assert.match(ip(['-n', host.name, 'route', 'show', '10.2.0.5']), /proto 45/);
    });

    it('filters listRoutes by protocol and table', () => {
      open().addRoute({ family: 4, dst: '10.10.0.0/16', type: 'blackhole' });
      open().addRoute({ family: 4, dst: '10.11.0.0/16', type: 'blackhole', protocol: OTHER_PROTO });
      open().addRoute({ family: 4, dst: '10.12.0.0/16', type: 'blackhole', table: 100 });
      const dsts = (routes: RouteInfo[]): string[] => routes.map((r) => r.dst).sort();
      assert.deepEqual(dsts(open().listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO })), ['10.10.0.0/16']);
      assert.deepEqual(dsts(open().listRoutes({ family: 4, protocol: OTHER_PROTO })), ['10.11.0.0/16']);
      assert.deepEqual(dsts(open().listRoutes({ family: 4, table: 100 })), ['10.12.0.0/16']);
      assert.deepEqual(dsts(open().listRoutes({ family: 4, table: 0, protocol: TRELLIS_RT_PROTO })), [
        '10.10.0.0/16',
        '10.12.0.0/16',
      ]);
    });

    it('adds exclusively, replaces in place, and deletes with typed errors', () => {
      const a = veth('va', 'eth0');
      const b = veth('vb', 'eth1');
      open().addRoute({ family: 4, dst: '10.20.0.0/24', oif: a });
      assertNetlinkError(() => open().addRoute({ family: 4, dst: '10.20.0.0/24', oif: b }), 'EEXIST');
      open().addRoute({ family: 4, dst: '10.20.0.0/24', oif: b }, { replace: true });
      const routes = open().listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO });
      assert.deepEqual(
        routes.map((r) => [r.dst, r.oif]),
        [['10.20.0.0/24', b]],
      );
      open().deleteRoute({ family: 4, dst: '10.20.0.0/24' });
      const missing = assertNetlinkError(
        () => open().deleteRoute({ family: 4, dst: '10.20.0.0/24' }),
        'ESRCH',
      );
      assert.equal(missing.request.typeName, 'RTM_DELROUTE');
      assert.match(missing.message, /route 10\.20\.0\.0\/24 table 254/);
      assertNetlinkError(() => open().addRoute({ family: 4, dst: '10.21.0.0/24', oif: 4242 }), 'ENODEV');
    });

    it('applies a batch of 10,000 routes, then deletes them all', () => {
      const index = veth();
      const routes: RouteSpec[] = [];
      for (let i = 0; i < 10_000; i++) {
        routes.push({ family: 4, dst: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, oif: index });
      }
      const added = open().applyRouteBatch(routes.map((route) => ({ op: 'replace', route })));
      assert.deepEqual(added, { ok: 10_000, failed: [] });
      const listed = open().listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO });
      assert.equal(listed.length, 10_000);
      assert.deepEqual(new Set(listed.map((r) => r.dst)), new Set(routes.map((r) => r.dst)));
      const shown = ip(['-n', host.name, 'route', 'show', 'proto', String(TRELLIS_RT_PROTO)])
        .trim()
        .split('\n');
      assert.equal(shown.length, 10_000);
      const removed = open().applyRouteBatch(routes.map((route) => ({ op: 'delete', route })));
      assert.deepEqual(removed, { ok: 10_000, failed: [] });
      assert.equal(open().listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO }).length, 0);
    });

    it('reports each refused op of a batch by index and applies the rest', () => {
      const index = veth();
      open().addRoute({ family: 4, dst: '10.30.0.1/32', oif: index });
      const ops: RouteBatchOp[] = [];
      for (let i = 0; i < 3000; i++) {
        // Every 700th op deletes a route that does not exist; op 1 deletes one that does.
        const dst = i === 1 ? '10.30.0.1/32' : `10.31.${i >> 8}.${i & 255}/32`;
        ops.push(
          i % 700 === 0 || i === 1
            ? { op: 'delete', route: { family: 4, dst } }
            : { op: 'replace', route: { family: 4, dst, oif: index } },
        );
      }
      const result = open().applyRouteBatch(ops);
      assert.deepEqual(
        result.failed.map((f) => [f.index, f.error.code, f.error.request.typeName]),
        [0, 700, 1400, 2100, 2800].map((i) => [i, 'ESRCH', 'RTM_DELROUTE']),
      );
      assert.equal(result.ok, 2995);
      assert.match(result.failed[1]!.error.message, /route 10\.31\.2\.188\/32/);
      assert.equal(open().listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO }).length, 2995 - 1);
    });

    it('maps errors across many small sends, including a failing last message of a send', () => {
      const index = veth();
      // 7 messages or ~300 bytes per sendto: 100 ops take 15+ sends, so failures land at every
      // position of a chunk, including the ACK-requesting last one.
      const small = RouteNetlink.open({ netnsPath: host.path, maxBatchMessages: 7, maxBatchBytes: 300 });
      try {
        const ops = opsWithRefusals(index);
        const result = small.applyRouteBatch(ops);
        assert.deepEqual(
          result.failed.map((f) => f.index),
          [...REFUSED],
        );
        assert.ok(result.failed.every((f) => f.error.code === 'ESRCH'));
        assert.equal(small.listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO }).length, 100 - REFUSED.size);
      } finally {
        small.close();
      }
    });

    it('refuses a batch with an invalid op before sending any of it', () => {
      const index = veth();
      const ops: RouteBatchOp[] = [
        { op: 'replace', route: { family: 4, dst: '10.40.0.1/32', oif: index } },
        { op: 'replace', route: { family: 4, dst: '10.40.0.0/8', oif: index } },
      ];
      assert.throws(() => open().applyRouteBatch(ops), NetlinkInputError);
      const unknownOp = { op: 'add', route: ops[0]!.route } as unknown as RouteBatchOp;
      assert.throws(() => open().applyRouteBatch([ops[0]!, unknownOp]), /unknown op "add"/);
      assert.equal(open().listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO }).length, 0);
    });
  });

  describe('route batches in flight (startRouteBatch)', () => {
    const routesOf = (oif: number, count: number, second = 60): RouteSpec[] =>
      Array.from({ length: count }, (_, i) => ({
        family: 4 as const,
        dst: `10.${second + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
        oif,
      }));
    const replaces = (routes: readonly RouteSpec[]): RouteBatchOp[] =>
      routes.map((route) => ({ op: 'replace', route }));
    const ours = () => open().listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO }).length;

    it('returns before the kernel has the routes and reports the result on the event loop', async () => {
      const routes = routesOf(veth(), 10_000);
      const outcomes: RouteBatchOutcome[] = [];
      const completed = new Promise<void>((resolve) =>
        open().startRouteBatch(replaces(routes), (outcome) => {
          outcomes.push(outcome);
          resolve();
        }),
      );
      assert.equal(outcomes.length, 0, 'done never runs inside startRouteBatch');
      await completed;
      assert.deepEqual(outcomes, [{ result: { ok: 10_000, failed: [] } }]);
      assert.equal(ours(), 10_000);
    });

    it('maps refusals by index across many small asynchronous sends', async () => {
      const index = veth();
      const small = RouteNetlink.open({ netnsPath: host.path, maxBatchMessages: 7, maxBatchBytes: 300 });
      try {
        const ops = opsWithRefusals(index);
        const outcome = await new Promise<RouteBatchOutcome>((resolve) =>
          small.startRouteBatch(ops, resolve),
        );
        assert.equal(outcome.error, undefined);
        assert.deepEqual(
          outcome.result?.failed.map((f) => [f.index, f.error.code]),
          [...REFUSED].map((i) => [i, 'ESRCH']),
        );
        assert.equal(outcome.result?.ok, 100 - REFUSED.size);
      } finally {
        small.close();
      }
    });

    it('finish() completes the batch in flight on the spot, and done runs exactly once', async () => {
      const routes = routesOf(veth(), 20_000);
      let calls = 0;
      const flight = open().startRouteBatch(replaces(routes), (outcome) => {
        calls++;
        assert.deepEqual(outcome, { result: { ok: 20_000, failed: [] } });
      });
      flight.finish();
      assert.equal(calls, 1);
      assert.equal(ours(), 20_000);
      flight.finish();
      // The worker's late callback for the chunk finish() already read must change nothing.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(calls, 1);
    });

    it('keeps call order: any later call on the socket settles the batch in flight first', () => {
      const routes = routesOf(veth(), 10_000);
      const order: string[] = [];
      open().startRouteBatch(replaces(routes), () => order.push('add done'));
      // A dump right behind the batch sees all of it.
      assert.equal(ours(), 10_000);
      order.push('listed');
      // A second batch deleting what the first added cannot overtake it.
      open().startRouteBatch(
        routes.map((route) => ({ op: 'delete', route })),
        (outcome) => order.push(`delete done ${outcome.result?.ok}`),
      );
      open().startRouteBatch(replaces(routes.slice(0, 5)), () => order.push('re-add done'));
      assert.equal(ours(), 5);
      assert.deepEqual(order, ['add done', 'listed', 'delete done 10000', 're-add done']);
    });

    it('refuses bad input before sending anything and leaves nothing in flight', () => {
      const index = veth();
      const ops: RouteBatchOp[] = [
        { op: 'replace', route: { family: 4, dst: '10.40.0.1/32', oif: index } },
        { op: 'replace', route: { family: 4, dst: '10.40.0.0/8', oif: index } },
      ];
      let called = false;
      assert.throws(
        () =>
          open().startRouteBatch(ops, () => {
            called = true;
          }),
        NetlinkInputError,
      );
      assert.equal(ours(), 0);
      assert.equal(called, false);
    });

    it('close() waits for the batch in flight', () => {
      const index = veth();
      const other = RouteNetlink.open({ netnsPath: host.path });
      let outcome: RouteBatchOutcome | undefined;
      other.startRouteBatch(replaces(routesOf(index, 5000)), (o) => {
        outcome = o;
      });
      other.close();
      assert.deepEqual(outcome, { result: { ok: 5000, failed: [] } });
      assert.equal(ours(), 5000);
    });
  });

  describe('data path', () => {
    it('pings between two namespaces wired only through RouteNetlink (IPv4 and IPv6)', () => {
      const index = veth('trl-pod', 'eth0');
      const inPod = RouteNetlink.open({ netnsPath: pod.path });
      try {
        // Host side: the pod's /32 and /128 routed onto the veth.
        open().addAddress({ ifindex: index, family: 4, address: '10.200.0.1', prefixLen: 32 });
        open().addAddress({ ifindex: index, family: 6, address: 'fd00:200::1', prefixLen: 128, nodad: true });
        open().addRoute({ family: 4, dst: '10.200.0.2/32', oif: index });
        open().addRoute({ family: 6, dst: 'fd00:200::2/128', oif: index });
        // Pod side: its own address, a route to the host, both links up.
        const eth0 = inPod.getLink('eth0').index;
        inPod.setLinkUp(inPod.getLink('lo').index);
        inPod.setLinkUp(eth0);
        inPod.addAddress({ ifindex: eth0, family: 4, address: '10.200.0.2', prefixLen: 32 });
        inPod.addAddress({ ifindex: eth0, family: 6, address: 'fd00:200::2', prefixLen: 128, nodad: true });
        inPod.addRoute({ family: 4, dst: '10.200.0.1/32', oif: eth0 });
        inPod.addRoute({ family: 6, dst: 'fd00:200::1/128', oif: eth0 });
        for (const target of ['10.200.0.2', 'fd00:200::2']) {
          const out = execFileSync('ip', ['netns', 'exec', host.name, 'ping', '-c', '1', '-W', '5', target], {
            encoding: 'utf8',
          });
          assert.match(out, /1 received/);
        }
      } finally {
        inPod.close();
      }
    });
  });
});
