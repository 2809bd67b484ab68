// Routes between our assembled speaker (its own namespace, 'us') and FRR, BIRD and GoBGP (root):
// announcements with communities and large communities reach each daemon's table and are
// withdrawn; routes the daemons announce land in our kernel (proto 46) and forward a ping;
// graceful restart with the daemons as helpers keeps our routes across a SIGKILL of our
// process; BIRD as route-reflector client of ours. One lab per describe.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpeakerConfig, type SpeakerConfig } from '../../bgp/config/index.js';
import { type RunningSpeaker, runSpeaker } from '../../bgp/speaker/index.js';
import { type LabProcess, requireRoot } from '../../src/lab/index.js';
import { birdRoute, heldRoute, InteropLab, waitFor } from './peers.js';
import { ourSpeakerYaml } from './us.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const OUR_AS = 65001;
const OURS = '10.80.0.0/24';
const DAEMONS = ['frr', 'bird', 'gobgp'] as const;
type Daemon = (typeof DAEMONS)[number];
/** The prefix each daemon announces; its .1 lives on the daemon's loopback. */
const THEIRS: Record<Daemon, string> = { frr: '10.70.1.0/24', bird: '10.70.2.0/24', gobgp: '10.70.3.0/24' };

/** The daemon's view of `prefix`: communities, large communities, stale (what these tests check). */
function seenBy(lab: InteropLab, name: Daemon, prefix: string) {
  const held = heldRoute(lab, name, prefix);
  if (held === undefined) return undefined;
  return { communities: held.communities, largeCommunities: held.largeCommunities, stale: held.stale };
}

const ourConfig = (lab: InteropLab, announcements: string, controlSocket?: string): string =>
  ourSpeakerYaml(lab, DAEMONS, {
    localAs: OUR_AS,
    announcements,
    gracefulRestartTime: 120,
    ...(controlSocket === undefined ? {} : { controlSocket }),
  });

const WITH_COMMUNITIES = `  - { prefix: ${OURS}, communities: ['65001:100'], largeCommunities: ['65001:1:2'] }`;

describe('bgp routes interop (root)', function () {
  this.timeout(60_000);
  let lab: InteropLab;
  let us: RunningSpeaker | undefined;

  const ourKernel = async (): Promise<string> =>
    (await lab.lab.exec('us', 'ip', ['-4', 'route', 'show', 'proto', '46'])).stdout;

  before(async function () {
    requireRoot(this);
    lab = await InteropLab.create(
      Object.fromEntries(
        DAEMONS.map((name, i) => [
          name,
          { kind: name, as: 65010 + 10 * i, ourAs: OUR_AS, gracefulRestart: true, announce: [THEIRS[name]] },
        ]),
      ),
    );
    await Promise.all(
      DAEMONS.map((name) =>
        lab.lab.ip(name, [`addr add ${THEIRS[name].replace('.0/24', '.1/32')} dev lo`, 'link set lo up']),
      ),
    );
  });
  after(async () => {
    await us?.stop();
    await lab?.teardown();
  });

  it('our routes reach each daemon with communities; theirs reach our kernel and forward; withdraws propagate both ways', async () => {
    const config = (a: string): SpeakerConfig => parseSpeakerConfig(ourConfig(lab, a), 'test');
    us = await runSpeaker(config(WITH_COMMUNITIES), { netns: lab.netns });
    const speaker = us;
    for (const name of DAEMONS) {
      const seen = await waitFor(`${name} holds ${OURS}`, 20_000, () => seenBy(lab, name, OURS));
      assert.deepEqual(seen, { communities: true, largeCommunities: true, stale: false }, name);
      await waitFor(`we learn ${THEIRS[name]}`, 10_000, () =>
        speaker.rib.bestPath(THEIRS[name]) !== undefined ? true : undefined,
      );
    }
    await waitFor('all three in our kernel', 10_000, async () => {
      // JSON: `ip route` prints a route over a nexthop object as "X nhid N via Y dev Z".
      const routes = JSON.parse(
        (await lab.lab.exec('us', 'ip', ['-j', '-4', 'route', 'show', 'proto', '46'])).stdout,
      ) as { dst: string; gateway?: string }[];
      return DAEMONS.every((n) =>
        routes.some((r) => r.dst === THEIRS[n] && r.gateway === lab.peer(n).address),
      )
        ? routes
        : undefined;
    });
    for (const name of DAEMONS) {
      // The .1 of each prefix lives only behind its daemon: reachable over the learned route alone.
      await lab.lab.exec('us', 'ping', ['-c', '1', '-W', '2', THEIRS[name].replace('.0/24', '.1')]);
    }
    for (const name of DAEMONS) lab.withdrawAnnounced(name, 'ipv4');
    await waitFor('their withdraws leave our RIB and kernel', 10_000, async () => {
      const gone = DAEMONS.every((n) => speaker.rib.bestPath(THEIRS[n]) === undefined);
      return gone && (await ourKernel()).trim() === '' ? true : undefined;
    });

    await speaker.speaker.reconfigure(config('  - { prefix: 10.80.9.0/24 }'));
    for (const name of DAEMONS) {
      await waitFor(`${name} drops ${OURS}`, 10_000, () =>
        seenBy(lab, name, OURS) === undefined ? true : undefined,
      );
      assert.ok(seenBy(lab, name, '10.80.9.0/24') !== undefined, `${name} has the new announcement`);
    }
    await us.stop();
    us = undefined;
    for (const name of DAEMONS) {
      await waitFor(`${name} drops our routes after Cease`, 10_000, () =>
        seenBy(lab, name, '10.80.9.0/24') === undefined ? true : undefined,
      );
    }
  });

  it('graceful restart: each daemon keeps our routes while our process is SIGKILLed and restarted', async () => {
    const file = join(lab.dir, 'us.yaml');
    writeFileSync(file, ourConfig(lab, WITH_COMMUNITIES));
    const start = (): Promise<LabProcess> =>
      lab.lab.spawn('us', 'node', [MAIN, 'bgp', 'run', '-c', file], {
        logFile: join(lab.dir, 'us.out'),
        env: { TRELLIS_LOG_FORMAT: 'json' },
      });
    let proc = await start();
    try {
      for (const name of DAEMONS) {
        await waitFor(`${name} holds ${OURS}`, 20_000, () => seenBy(lab, name, OURS));
      }
      process.kill(proc.pid, 'SIGKILL');
      await proc.exited;
      for (const name of DAEMONS) {
        // The helper marks our routes stale and keeps them (RFC 4724 4.2).
        const seen = await waitFor(`${name} marks ${OURS} stale`, 15_000, () => {
          const s = seenBy(lab, name, OURS);
          return s?.stale === true ? s : undefined;
        });
        assert.equal(seen.communities, true);
      }
      proc = await start();
      for (const name of DAEMONS) {
        await waitFor(`${name} holds ${OURS} fresh again`, 30_000, () => {
          const s = seenBy(lab, name, OURS);
          return s !== undefined && !s.stale ? true : undefined;
        });
      }
    } finally {
      await lab.lab.stop(proc);
      rmSync(file, { force: true });
    }
  });
});

describe('bgp route reflection interop: BIRD as our client (root)', function () {
  this.timeout(60_000);
  let lab: InteropLab;
  let us: RunningSpeaker | undefined;

  before(async function () {
    requireRoot(this);
    lab = await InteropLab.create({
      frr: { kind: 'frr', as: OUR_AS, ourAs: OUR_AS, announce: ['10.71.0.0/24'] },
      bird: { kind: 'bird', as: OUR_AS, ourAs: OUR_AS },
    });
  });
  after(async () => {
    await us?.stop();
    await lab?.teardown();
  });

  it('reflects an iBGP route to BIRD with ORIGINATOR_ID and our cluster id', async () => {
    const frr = lab.peer('frr');
    const bird = lab.peer('bird');
    us = await runSpeaker(
      parseSpeakerConfig(
        `routerId: 10.251.0.1
localAs: ${OUR_AS}
clusterId: 10.251.0.99
listen: { port: 0 }
kernel: { enabled: false }
peers:
  - { name: frr, address: ${frr.address}, sourceAddress: ${frr.ourAddress}, as: ${OUR_AS} }
  - { name: bird, address: ${bird.address}, sourceAddress: ${bird.ourAddress}, as: ${OUR_AS}, routeReflectorClient: true }
`,
        'test',
      ),
      { netns: lab.netns },
    );
    const shown = await waitFor('BIRD holds the reflected route', 20_000, () => {
      return birdRoute(lab, 'bird', '10.71.0.0/24');
    });
    assert.match(shown, new RegExp(`BGP\\.originator_id:\\s*${frr.routerId.replace(/\./g, '\\.')}`));
    assert.match(shown, /BGP\.cluster_list:\s*10\.251\.0\.99/);
    // iBGP reflection keeps the originator's next hop.
    assert.match(shown, new RegExp(`BGP\\.next_hop:\\s*${frr.address.replace(/\./g, '\\.')}`));
  });
});
