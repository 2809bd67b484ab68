// The lab's ToR end to end: FRR in the fabric namespace peers with every node's agent (--bgp),
// and routes between nodes come from BGP alone. The proof is negative as well as positive: no
// node has a host-gw (proto 45) route to another node's block, and with bgpd stopped the routes
// are withdrawn everywhere and the pods cannot reach each other until it is back. An agent
// restart, by contrast, must not cut its pods off: the ToR keeps its blocks (graceful restart).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BgpView, type NodeBlock, nodeBlocks, waitForBgp } from '../../agent/lab/bgp-view.js';
import { type AddedPod, Cluster, type ClusterNode, DEFAULT_TOR } from '../../agent/lab/cluster.js';
import { runCommand } from '../../src/lab/commands.js';
import { requireRoot } from '../../src/lab/index.js';
import { listNamespaces } from '../../src/lab/teardown.js';
import { waitFor } from '../wait.js';
import { processesUsing } from './processes.js';

const IPAM = { assignIPv4: true, assignIPv6: true };
const FABRIC = { v4: '10.248.0', v6: 'fd00:248::' };

interface KernelRoute {
  dst: string;
  gateway?: string;
}

async function kernelRoutes(netns: string, proto: string): Promise<KernelRoute[]> {
  const out: KernelRoute[] = [];
  for (const family of ['-4', '-6']) {
    const r = await runCommand('ip', ['-n', netns, '-j', family, 'route', 'show', 'proto', proto]);
    out.push(...(JSON.parse(r.stdout) as KernelRoute[]));
  }
  return out;
}

const until = (what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<true> =>
  waitFor(what, timeoutMs, async () => ((await done()) ? true : undefined), 100);

describe('lab ToR (root): pods reach each other across nodes through routes learned over BGP', function () {
  this.timeout(120_000);
  const prefix = `tt${process.pid.toString(36)}`.slice(0, 8);
  let cluster: Cluster | undefined;
  let stopped = false;
  let pods: AddedPod[];
  let blocks: NodeBlock[];
  let view: BgpView;

  const c = (): Cluster => {
    if (cluster === undefined) throw new Error('no cluster');
    return cluster;
  };
  const ping = async (from: AddedPod, to: string): Promise<boolean> =>
    (await c().lab.exec(from.ns, 'ping', ['-c1', '-W1', to], { allowFailure: true })).exitCode === 0;
  const othersBlocks = (n: ClusterNode): string[] =>
    blocks.filter((b) => b.node !== n.name).map((b) => b.cidr);
  const bgpRoutesEverywhere = async (): Promise<boolean> => {
    for (const n of c().nodes) {
      const dsts = (await kernelRoutes(n.netns, '46')).map((r) => r.dst);
      if (!othersBlocks(n).every((b) => dsts.includes(b))) return false;
    }
    return true;
  };

  before(async function () {
    requireRoot(this);
    cluster = await Cluster.start({
      nodes: 2,
      pools: [
        { name: 'tor-v4', cidr: '10.244.0.0/16' },
        { name: 'tor-v6', cidr: 'fd00:10:244::/112' },
      ],
      prefix,
      fabric: FABRIC,
      tor: DEFAULT_TOR,
    });
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    await cluster.podNamespaces(['a', 'b']);
    pods = [await cluster.add(n1, 'tor-a', 'a', IPAM), await cluster.add(n2, 'tor-b', 'b', IPAM)];
    view = await waitForBgp(cluster, 30_000);
    blocks = await nodeBlocks(cluster);
    // The speaker installs what it learned shortly after its RIB has it.
    await until('proto 46 routes on every node', 10_000, bgpRoutesEverywhere);
  });

  after(async () => {
    if (cluster !== undefined && !stopped) await cluster.stop();
  });

  it('each node has an Established session per family with the ToR, from its own AS', () => {
    assert.equal(blocks.length, 4, 'one IPv4 and one IPv6 block per node');
    for (const n of view.nodes) {
      assert.deepEqual(
        n.sessions.map((s) => [s.name, s.address, s.as, s.state]),
        [
          ['tor-ipv4', `${FABRIC.v4}.1`, DEFAULT_TOR.asNumber, 'Established'],
          ['tor-ipv6', `${FABRIC.v6}1`, DEFAULT_TOR.asNumber, 'Established'],
        ],
      );
    }
    assert.deepEqual(
      view.tor.sessions.map((s) => [s.address, s.remoteAs, s.state]),
      c()
        .nodes.flatMap((n) => [
          [n.ipv4, n.asNumber, 'Established'],
          [n.ipv6, n.asNumber, 'Established'],
        ])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  });

  it('the ToR holds every block with its node as next hop and installed it in the fabric kernel', async () => {
    const fabricRoutes = await kernelRoutes(c().lab.nsName('fabric'), 'bgp');
    for (const b of blocks) {
      const node = c().node(b.node);
      const route = view.tor.routes.find((r) => r.prefix === b.cidr);
      assert.ok(route, `ToR lacks ${b.cidr}`);
      assert.deepEqual(route.asPath, [node.asNumber]);
      assert.deepEqual(route.nextHops, [b.cidr.includes(':') ? node.ipv6 : node.ipv4]);
      assert.ok(
        fabricRoutes.some((r) => r.dst === b.cidr),
        `fabric kernel lacks ${b.cidr}: ${JSON.stringify(fabricRoutes)}`,
      );
    }
  });

  it('nodes route other nodes’ blocks over BGP (proto 46) and have no host-gw route to them', async () => {
    for (const n of c().nodes) {
      const bgp = (await kernelRoutes(n.netns, '46')).map((r) => r.dst).sort();
      assert.deepEqual(bgp, othersBlocks(n).sort());
      const own = (await kernelRoutes(n.netns, '45')).map((r) => r.dst);
      for (const b of othersBlocks(n)) assert.ok(!own.includes(b), `${n.name} has a proto-45 route to ${b}`);
    }
  });

  it('pods reach each other across nodes over IPv4 and IPv6', async () => {
    const [a, b] = pods as [AddedPod, AddedPod];
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      assert.ok(await ping(from, to.ipv4 ?? ''), `${from.ns} -> ${to.ipv4}`);
      assert.ok(await ping(from, to.ipv6 ?? ''), `${from.ns} -> ${to.ipv6}`);
    }
  });

  it('an agent restart keeps its blocks on the ToR (stale, graceful restart) and its pods reachable', async () => {
    const [a, b] = pods as [AddedPod, AddedPod];
    const tor = c().tor;
    assert.ok(tor);
    const n2 = c().node(b.node.name);
    const n2Blocks = blocks.filter((x) => x.node === n2.name).map((x) => x.cidr);
    const torRoutes = async () => [...(await tor.routes('ipv4')), ...(await tor.routes('ipv6'))];
    await c().stopAgent(n2);
    await until(`${n2.name}'s blocks stale on the ToR`, 15_000, async () => {
      const stale = (await torRoutes()).filter((r) => r.stale).map((r) => r.prefix);
      return n2Blocks.every((x) => stale.includes(x));
    });
    assert.ok(await ping(a, b.ipv4 ?? ''), 'IPv4 while the agent is down');
    assert.ok(await ping(a, b.ipv6 ?? ''), 'IPv6 while the agent is down');

    await c().startAgent(n2);
    await until(`${n2.name}'s blocks fresh on the ToR`, 30_000, async () => {
      const routes = await torRoutes();
      return n2Blocks.every((x) => routes.some((r) => r.prefix === x && !r.stale));
    });
    await waitForBgp(c(), 30_000);
    await until('proto 46 routes on every node', 10_000, bgpRoutesEverywhere);
  });

  it('with bgpd stopped the routes are withdrawn and pods cannot reach each other; restarted, both come back', async () => {
    const [a, b] = pods as [AddedPod, AddedPod];
    const tor = c().tor;
    assert.ok(tor);
    await tor.stopBgp();
    await until('proto 46 routes withdrawn on every node', 15_000, async () => {
      for (const n of c().nodes) if ((await kernelRoutes(n.netns, '46')).length > 0) return false;
      return true;
    });
    assert.deepEqual(await kernelRoutes(c().lab.nsName('fabric'), 'bgp'), [], 'zebra removed bgpd’s routes');
    assert.equal(await ping(a, b.ipv4 ?? ''), false, 'IPv4 reachable without BGP');
    assert.equal(await ping(a, b.ipv6 ?? ''), false, 'IPv6 reachable without BGP');

    await tor.startBgp();
    // startBgp resolves once bgpd serves its vty, not on the socket file the stopped bgpd left:
    // vtysh rejects with "bgpd is not running" before that.
    await tor.sessions();
    await waitForBgp(c(), 30_000);
    await until('proto 46 routes back on every node', 10_000, bgpRoutesEverywhere);
    assert.ok(await ping(a, b.ipv4 ?? ''), 'IPv4 after the ToR came back');
    assert.ok(await ping(a, b.ipv6 ?? ''), 'IPv6 after the ToR came back');
  });

  it('teardown stops FRR and the agents and removes every namespace', async () => {
    const dir = c().dir;
    assert.ok(processesUsing(`${dir}/tor`).length >= 2, 'zebra and bgpd were running');
    stopped = true;
    await c().stop();
    assert.deepEqual(processesUsing(dir), []);
    assert.deepEqual(
      listNamespaces().filter((ns) => ns.startsWith(`${prefix}-`)),
      [],
    );
  });
});

describe('lab ToR (root): a cluster that fails to start', function () {
  this.timeout(60_000);

  it('leaves no FRR daemon, agent, namespace or directory behind', async function () {
    requireRoot(this);
    const prefix = `tf${process.pid.toString(36)}`.slice(0, 8);
    const dir = join(tmpdir(), `trellis-tor-fail-${process.pid}`);
    // The agents refuse an unknown flag, after the ToR is already running.
    await assert.rejects(
      Cluster.start({
        nodes: 1,
        pools: [{ name: 'tor-v4', cidr: '10.244.0.0/16' }],
        prefix,
        dir,
        fabric: FABRIC,
        tor: DEFAULT_TOR,
        agentArgs: ['--no-such-flag'],
      }),
      /the agent of .* exited with code [1-9][0-9]* before listening on .*; last lines of .*agent\.log/,
    );
    assert.deepEqual(processesUsing(dir), []);
    assert.deepEqual(
      listNamespaces().filter((ns) => ns.startsWith(`${prefix}-`)),
      [],
    );
    assert.equal(existsSync(dir), false);
  });
});
