// BIRD as route reflector (RFC 4456) with our assembled speakers as its clients, all iBGP in
// AS 65001, all of ours in 'us' (kernel sync off: they share one kernel). A has two sessions
// to BIRD, B one, C one and C shares BIRD's cluster id (a redundant reflector of its cluster).
// A route of one client reaches another with BIRD's ORIGINATOR_ID and CLUSTER_LIST; A drops its
// own route coming back (ORIGINATOR_ID), C drops every reflection (CLUSTER_LIST loop).
import assert from 'node:assert/strict';
import { parseSpeakerConfig } from '../../bgp/config/index.js';
import { type RunningSpeaker, runSpeaker } from '../../bgp/speaker/index.js';
import { requireRoot } from '../../src/lab/index.js';
import { birdRoute, InteropLab, waitFor } from './peers.js';

const AS = 65001;
const CLUSTER = '10.251.1.99';
const FROM_A = '10.90.1.0/24';
const FROM_B = '10.90.2.0/24';

describe('bgp route reflection interop: BIRD reflects between our speakers (root)', function () {
  this.timeout(60_000);
  let lab: InteropLab;
  const speakers: RunningSpeaker[] = [];

  before(async function () {
    requireRoot(this);
    lab = await InteropLab.create({
      bird: { kind: 'bird', as: AS, ourAs: AS, routeReflectorClient: true, clusterId: CLUSTER, sessions: 4 },
    });
  });
  after(async () => {
    await Promise.all(speakers.map((s) => s.stop()));
    await lab?.teardown();
  });

  /** One of our speakers on the given BIRD sessions (by index), announcing `prefix`. */
  async function speaker(routerId: string, sessions: readonly number[], extra: string[], prefix?: string) {
    const bird = lab.peer('bird');
    const running = await runSpeaker(
      parseSpeakerConfig(
        [
          `routerId: ${routerId}`,
          `localAs: ${AS}`,
          'listen: { port: 0 }',
          'kernel: { enabled: false }',
          ...extra,
          'peers:',
          ...sessions.map((s) => {
            const pair = bird.sessions[s]!;
            return `  - { name: bird${s}, address: ${pair.peer}, sourceAddress: ${pair.us}, as: ${AS} }`;
          }),
          ...(prefix === undefined ? ['announcements: []'] : ['announcements:', `  - { prefix: ${prefix} }`]),
        ].join('\n'),
        'test',
      ),
      { netns: lab.netns },
    );
    speakers.push(running);
    return running;
  }

  it('reflects between clients with ORIGINATOR_ID and CLUSTER_LIST; loops are dropped', async () => {
    const bird = lab.peer('bird');
    const [a, b, c] = await Promise.all([
      speaker('10.251.0.1', [0, 1], [], FROM_A),
      speaker('10.251.0.2', [2], [], FROM_B),
      speaker('10.251.0.3', [3], [`clusterId: ${CLUSTER}`]),
    ]);

    // B learns A's route, reflected: originator A, BIRD's cluster, A's next hop kept (iBGP).
    const atB = await waitFor(`B learns ${FROM_A}`, 20_000, () => b!.rib.bestPath(FROM_A));
    assert.equal(atB.attrs.originatorId, '10.251.0.1');
    assert.deepEqual(atB.attrs.clusterList, [CLUSTER]);
    assert.equal(atB.nextHop, bird.sessions[0]!.us);
    // And A learns B's, over both of its sessions.
    const atA = await waitFor(`A learns ${FROM_B}`, 10_000, () => a!.rib.bestPath(FROM_B));
    assert.equal(atA.attrs.originatorId, '10.251.0.2');
    assert.deepEqual(atA.attrs.clusterList, [CLUSTER]);
    // BIRD itself holds both as its best paths.
    for (const prefix of [FROM_A, FROM_B]) {
      assert.match(birdRoute(lab, 'bird', prefix) ?? '', /unicast \[trellis\d? [^\]]*\] \*/);
    }

    // A's own route comes back over its second session carrying its own ORIGINATOR_ID: dropped.
    const back = await waitFor('A receives its own route back', 10_000, () =>
      a!.rib.received(a!.rib.received('bird1').has(FROM_A) ? 'bird1' : 'bird0').get(FROM_A),
    );
    assert.equal(back.rejection, 'originator-id');
    assert.equal(a!.rib.bestPath(FROM_A)?.nextHop, undefined, 'A keeps its own (local) route as best');

    // C shares BIRD's cluster id: every reflected route carries it in CLUSTER_LIST and is dropped.
    for (const prefix of [FROM_A, FROM_B]) {
      const atC = await waitFor(`C receives ${prefix}`, 10_000, () => c!.rib.received('bird3').get(prefix));
      assert.equal(atC.rejection, 'cluster-loop', prefix);
      assert.equal(c!.rib.bestPath(prefix), undefined, prefix);
    }
  });
});
