// NetworkPolicy conformance with real packets (root): nine pods in three namespaces on one node
// namespace, attached by the real dataplane; each case's policies are compiled from documents,
// loaded into the node's kernel, and every ordered pod pair is probed with fresh TCP, UDP and
// SCTP connections on ports 80 and 81 (486 cells). The observed matrix must equal the one the
// independent evaluator (expect.ts) computes; mismatching cells get one retry, as upstream.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { ApplyReport } from '../../policy/apply/index.js';
import { compileFromDocuments } from '../../policy/documents.js';
import { type NetworkPolicy, PROTOCOLS } from '../../policy/model.js';
import { requireRoot } from '../../src/lab/index.js';
import { CASES } from './cases.js';
import { expectedMatrix } from './expect.js';
import { ConformanceLab } from './lab.js';
import { allCells, describeMismatches, mismatches } from './matrix.js';
import { probeAgainst, probeCells } from './probe.js';
import { documentsOf, podId, type World } from './world.js';

/** Policies are keyed by namespace/name: keep the first of each. */
function uniqueName(p: NetworkPolicy, i: number, all: readonly NetworkPolicy[]): boolean {
  const key = (q: NetworkPolicy): string => `${q.metadata.namespace}/${q.metadata.name}`;
  return all.findIndex((q) => key(q) === key(p)) === i;
}

describe('NetworkPolicy conformance with real TCP, UDP and SCTP packets (root)', function () {
  this.timeout(60000);
  let cl: ConformanceLab;
  let ids: string[];
  const timings: string[] = [];
  const started = performance.now();

  before(async function () {
    requireRoot(this);
    cl = await ConformanceLab.create();
    ids = cl.world.pods.map(podId);
  });

  after(async () => {
    await cl?.teardown();
    if (timings.length > 0) {
      console.log(`    conformance timings (ms):\n${timings.join('\n')}`);
      console.log(`    total ${Math.round(performance.now() - started)} ms`);
    }
  });

  const apply = (world: World, policies: readonly NetworkPolicy[]): Promise<ApplyReport> =>
    cl.applyPolicy(compileFromDocuments(documentsOf(world, policies)).rendered);

  for (const c of CASES) {
    it(c.name, async () => {
      let world = cl.world;
      for (const step of c.steps) {
        world = step.relabel ? step.relabel(world) : world;
        const t0 = performance.now();
        const report = await apply(world, step.policies);
        const t1 = performance.now();
        const expected = expectedMatrix(world, step.policies);
        const cells = allCells(ids);
        const { actual, retried } = await probeAgainst(cl.agents, world, cells, expected);
        const t2 = performance.now();
        const title = c.steps.length > 1 ? `${c.name} / ${step.description}` : c.name;
        timings.push(
          `      apply ${Math.round(t1 - t0)} (${report.commands} commands, ${report.chainsWritten.length} chains written), probe ${Math.round(t2 - t1)}, retried ${retried}: ${title}`,
        );
        const wrong = mismatches(cells, expected, actual);
        assert.equal(
          wrong.length,
          0,
          `${title}: ${wrong.length} wrong cells\n${describeMismatches(ids, expected, actual)}`,
        );
      }
    });
  }

  it('the probes catch a dataplane that enforces the wrong policy', async () => {
    // Negative control: the kernel holds "deny ingress to x" while "no policies" is expected.
    // Exactly the cells into x from other pods must show up as wrong, after their retry.
    const deny: NetworkPolicy = {
      metadata: { namespace: 'x', name: 'deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    await apply(cl.world, [deny]);
    const cells = allCells(ids);
    const expected = expectedMatrix(cl.world, []);
    const { actual, retried } = await probeAgainst(cl.agents, cl.world, cells, expected);
    const wrong = mismatches(cells, expected, actual).map((c) => `${c.from}>${c.to}`);
    const intoX = ids.flatMap((from) =>
      ids.filter((to) => to.startsWith('x/') && to !== from).map((to) => `${from}>${to}`),
    );
    assert.equal(retried, intoX.length * 6);
    assert.deepEqual(new Set(wrong), new Set(intoX));
    assert.equal(wrong.length, intoX.length * 6);
  });

  it('conntrack in the node classifies an SCTP probe as an association being set up', async () => {
    const policies: NetworkPolicy[] = [
      {
        metadata: { namespace: 'x', name: 'sctp-from-y' },
        spec: {
          podSelector: { matchLabels: { pod: 'a' } },
          policyTypes: ['Ingress'],
          ingress: [
            { from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ protocol: 'SCTP' }] },
          ],
        },
      },
    ];
    await apply(cl.world, policies);
    await cl.inNode('conntrack', ['-F']);
    const sctp80 = { protocol: 'SCTP' as const, port: 80 };
    const conntrackTo = async (dst: string): Promise<string[]> =>
      (await cl.inNode('conntrack', ['-L', '-p', 'sctp']))
        .split('\n')
        .filter((l) => l.includes(`dst=${dst}`));
    // Listed right after the probe: an entry in COOKIE_WAIT lives only 3 s.
    const allowed = await probeCells(
      cl.agents,
      cl.world,
      [{ from: 'y/b', to: 'x/a', service: sctp80 }],
      1000,
    );
    const entries = await conntrackTo('10.99.0.10');
    assert.deepEqual([...allowed.values()], [true]);
    // The INIT created the entry and the INIT-ACK answered it (no [UNREPLIED]). Linux keeps an
    // association in COOKIE_WAIT until the COOKIE-ECHO, which this probe never sends.
    assert.equal(entries.length, 1, entries.join('\n'));
    assert.match(
      entries[0]!,
      /^sctp\s+132\s+\d+\s+COOKIE_WAIT\s+src=10\.99\.0\.21 dst=10\.99\.0\.10 sport=\d+ dport=80 src=10\.99\.0\.10 dst=10\.99\.0\.21 sport=80 /,
    );
    assert.doesNotMatch(entries[0]!, /UNREPLIED/);
    // A denied INIT is dropped before conntrack confirms its entry: none exists afterwards.
    const denied = await probeCells(cl.agents, cl.world, [{ from: 'z/b', to: 'x/a', service: sctp80 }], 500);
    assert.deepEqual([...denied.values()], [false]);
    assert.deepEqual(
      (await conntrackTo('10.99.0.10')).filter((l) => l.includes('src=10.99.0.31')),
      [],
    );
    timings.push(`      conntrack: ${entries[0]}`);
  });

  it('deleting every policy leaves no policy chain or set in the node', async () => {
    await apply(cl.world, CASES.flatMap((c) => c.steps.flatMap((s) => s.policies)).filter(uniqueName));
    assert.match(await cl.inNode('iptables-save', ['-t', 'filter']), /^:trl-pi-/m);
    await apply(cl.world, []);
    await cl.settled();
    assert.doesNotMatch(await cl.inNode('iptables-save', ['-t', 'filter']), /^:trl-p[io]-/m);
    assert.equal((await cl.inNode('ipset', ['list', '-n'])).trim(), '');
  });

  it('no denied connection passes while policies and labels are re-applied', async () => {
    // Two states that both deny z/c -> x/a and both allow y/a -> x/a on TCP 80; the switch
    // between them rewrites chains (different rules) and set members (a relabel).
    const fromY = (ports: NetworkPolicy['spec']['ingress']): NetworkPolicy[] => [
      {
        metadata: { namespace: 'x', name: 'from-y' },
        spec: { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: ports },
      },
    ];
    const stateA = {
      world: cl.world,
      policies: fromY([{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }]),
    };
    const stateB = {
      world: {
        ...cl.world,
        pods: cl.world.pods.map((p) => (podId(p) === 'z/a' ? { ...p, labels: { pod: 'a', vip: 'yes' } } : p)),
      },
      policies: fromY([
        {
          from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }],
          ports: [{ port: 80 }, { protocol: 'UDP' }],
        },
        { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { vip: 'yes' } } }] },
        {
          from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }],
          ports: [{ protocol: 'SCTP', port: 81 }],
        },
      ]),
    };
    for (const s of [stateA, stateB]) {
      const m = expectedMatrix(s.world, s.policies);
      assert.equal(m.get('z/c>x/a TCP/80'), false);
      assert.equal(m.get('y/a>x/a TCP/80'), true);
    }
    await apply(stateA.world, stateA.policies);
    const xa = cl.world.pods.find((p) => podId(p) === 'x/a')!.podIPs[0]!;
    const storm = { durationMs: 4000, intervalMs: 10, timeoutMs: 1000 };
    const denied = PROTOCOLS.map((protocol) =>
      cl.agent('z/c').storm({ address: xa, protocol, port: 80 }, storm),
    );
    const allowed = cl.agent('y/a').storm({ address: xa, protocol: 'TCP', port: 80 }, storm);
    const end = performance.now() + storm.durationMs - 500;
    let applies = 0;
    while (performance.now() < end) {
      const s = applies % 2 === 0 ? stateB : stateA;
      await apply(s.world, s.policies);
      applies++;
    }
    const deniedResults = await Promise.all(denied);
    const allowedResult = await allowed;
    timings.push(
      `      during ${applies} applies: denied storms ${deniedResults.map((r) => `${r.connected}/${r.sent}`).join(', ')}, allowed storm ${allowedResult.connected}/${allowedResult.sent}`,
    );
    assert.ok(applies >= 4, `only ${applies} applies during the storm`);
    for (const r of deniedResults) {
      assert.ok(r.sent > 100, `only ${r.sent} probes sent`);
      assert.equal(r.connected, 0, `${r.connected} of ${r.sent} denied probes got through`);
    }
    assert.equal(allowedResult.connected, allowedResult.sent, 'an allowed flow was cut during an update');
  });
});
