// NetworkPolicy enforced by the agents from the datastore, end to end: Namespace, Pod and
// NetworkPolicy objects written to the embedded datastore (standing in for the API server's
// objects) are compiled and applied by each node's agent; real pings across and within nodes
// show what passes. An invalid policy is logged with its field and changes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AddedPod, buildShim, Cluster } from '../../agent/lab/cluster.js';
import type { Resource } from '../../src/datastore/types.js';
import { requireRoot } from '../../src/lab/index.js';

const V4 = { assignIPv4: true, assignIPv6: false, ipv4Pools: ['pol-v4'] };

describe('agent enforces NetworkPolicy from the datastore (root)', function () {
  this.timeout(90_000);
  let cluster: Cluster;
  let a: AddedPod;
  let b: AddedPod;
  let c: AddedPod;

  const podObject = (p: AddedPod, app: string): Resource => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.ns, namespace: 'x', labels: { app } },
    spec: { containers: [{ name: 'c' }] },
    status: { podIPs: [{ ip: p.ipv4 }] },
  });

  const reaches = async (from: AddedPod, to: AddedPod): Promise<boolean> => {
    const r = await cluster.lab.exec(from.ns, 'ping', ['-c1', '-W1', to.ipv4!], { allowFailure: true });
    return r.exitCode === 0;
  };

  /** Polls until the matrix of (from, to, expected) holds; policy passes are asynchronous. */
  const eventually = async (cells: [AddedPod, AddedPod, boolean][]): Promise<void> => {
    const deadline = Date.now() + 10_000;
    let wrong: string[] = [];
    do {
      wrong = [];
      for (const [from, to, want] of cells) {
        if ((await reaches(from, to)) !== want)
          wrong.push(`${from.ns}->${to.ns} want ${want ? 'open' : 'blocked'}`);
      }
      if (wrong.length === 0) return;
    } while (Date.now() < deadline);
    assert.fail(`policy did not converge: ${wrong.join(', ')}`);
  };

  before(async function () {
    requireRoot(this);
    buildShim();
    cluster = await Cluster.start({ nodes: 2, pools: [{ name: 'pol-v4', cidr: '10.249.0.0/16' }] });
    const [n1, n2] = cluster.nodes;
    await cluster.podNamespaces(['pa', 'pb', 'pc']);
    a = await cluster.add(n1!, 'pol-a', 'pa', V4);
    b = await cluster.add(n2!, 'pol-b', 'pb', V4);
    c = await cluster.add(n2!, 'pol-c', 'pc', V4);
    const ds = cluster.datastore;
    await ds.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { ns: 'x' } } });
    for (const [p, app] of [
      [a, 'a'],
      [b, 'b'],
      [c, 'c'],
    ] as const)
      await ds.create(podObject(p, app));
  });

  after(async () => {
    await cluster?.stop();
  });

  it('with no policy every pod reaches every pod', async () => {
    await eventually([
      [a, b, true],
      [c, b, true],
      [b, a, true],
    ]);
  });

  it('an ingress policy on b admits only app=a, across nodes and on the same node', async () => {
    await cluster.datastore.create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'b-from-a', namespace: 'x' },
      spec: {
        podSelector: { matchLabels: { app: 'b' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }] }],
      },
    });
    await eventually([
      [a, b, true],
      [c, b, false],
      [a, c, true],
      [b, c, true],
    ]);
  });

  it('relabelling the client changes what passes', async () => {
    const pod = await cluster.datastore.get<Resource>('Pod', a.ns, 'x');
    await cluster.datastore.update({ ...pod!, metadata: { ...pod!.metadata, labels: { app: 'z' } } });
    await eventually([
      [a, b, false],
      [a, c, true],
    ]);
  });

  it('an invalid policy is logged with its field and changes nothing', async () => {
    await cluster.datastore.create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'broken', namespace: 'x' },
      spec: { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 0 }] }] },
    });
    const log = join(cluster.node('n2').dir, 'agent.log');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !readFileSync(log, 'utf8').includes('invalid object skipped')) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(
      readFileSync(log, 'utf8'),
      /NetworkPolicy x\/broken: spec\.ingress\[0\]\.ports\[0\]\.port.*invalid object skipped/,
    );
    await eventually([
      [a, c, true],
      [c, b, false],
    ]);
    await cluster.datastore.delete('NetworkPolicy', 'broken', 'x');
  });

  it('deleting the policy opens b again', async () => {
    await cluster.datastore.delete('NetworkPolicy', 'b-from-a', 'x');
    await eventually([
      [a, b, true],
      [c, b, true],
    ]);
  });
});
