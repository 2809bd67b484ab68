// The agent can restart — cleanly (SIGTERM) or by crash (SIGKILL) — without any pod losing
// connectivity: it adopts the veths, pod routes and node routes it finds instead of rebuilding
// them, so a continuous ping across nodes through both restarts loses nothing.
import assert from 'node:assert/strict';
import { type AddedPod, buildShim, Cluster } from '../../agent/lab/cluster.js';
import { requireRoot } from '../../src/lab/index.js';

const V4 = { assignIPv4: true, assignIPv6: false, ipv4Pools: ['restart-v4'] };

describe('agent restart (root): pods keep forwarding', function () {
  this.timeout(60_000);
  let cluster: Cluster;
  let a: AddedPod;
  let b: AddedPod;

  before(async function () {
    requireRoot(this);
    buildShim();
    cluster = await Cluster.start({ nodes: 2, pools: [{ name: 'restart-v4', cidr: '10.247.0.0/16' }] });
    const [n1, n2] = cluster.nodes;
    await cluster.podNamespaces(['ra', 'rb']);
    a = await cluster.add(n1!, 'restart-a', 'ra', V4);
    b = await cluster.add(n2!, 'restart-b', 'rb', V4);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('loses no ping across nodes while both agents restart, and changes nothing in the kernel', async () => {
    const [n1, n2] = cluster.nodes;
    const before = await cluster.footprint();
    const routesBefore = await cluster.lab.exec('n1', 'ip', ['route', 'show', 'proto', '45']);
    // 200 pings, 20 ms apart: about 4 s of traffic spanning both restarts.
    const pinging = cluster.lab.exec('ra', 'ping', ['-q', '-i', '0.02', '-c', '200', '-W', '1', b.ipv4!], {
      allowFailure: true,
    });
    await new Promise((r) => setTimeout(r, 300));
    await cluster.killAgent(n1!);
    await cluster.startAgent(n1!);
    await cluster.stopAgent(n2!);
    await cluster.startAgent(n2!);
    const result = await pinging;
    const summary = result.stdout.match(/(\d+) packets transmitted, (\d+) received/);
    assert.ok(summary, result.stdout);
    assert.equal(summary[1], '200');
    assert.equal(summary[2], '200', `lost pings during agent restarts:\n${result.stdout}`);
    assert.deepEqual(await cluster.footprint(), before);
    const routesAfter = await cluster.lab.exec('n1', 'ip', ['route', 'show', 'proto', '45']);
    assert.equal(routesAfter.stdout, routesBefore.stdout);
    assert.ok(a.ipv4);
  });
});
