// IPv6 routes between our assembled speaker ('us') and FRR, BIRD and GoBGP over IPv6 sessions on
// shared links (fd00:251:<i>::/64 plus the kernel's link-locals): our announcement reaches each
// daemon's table as a valid best path with communities and large communities; each daemon's
// route lands in our kernel (proto 46) with a next hop that forwards a ping; withdraws go both
// ways. The next hop forms differ by daemon (see docs/bgp-speaker.md, "IPv6 next hops").
import assert from 'node:assert/strict';
import { parseSpeakerConfig } from '../../bgp/config/index.js';
import { type RunningSpeaker, runSpeaker } from '../../bgp/speaker/index.js';
import { requireRoot } from '../../src/lab/index.js';
import { heldRoute, InteropLab, linkLocalOf, waitFor } from './peers.js';
import { ourSpeakerYaml } from './us.js';

const OUR_AS = 65001;
const OURS = 'fd80::/64';
const DAEMONS = ['frr', 'bird', 'gobgp'] as const;
type Daemon = (typeof DAEMONS)[number];
/** The prefix each daemon announces; its ::1 lives on the daemon's loopback. */
const THEIRS: Record<Daemon, string> = { frr: 'fd70:1::/64', bird: 'fd70:2::/64', gobgp: 'fd70:3::/64' };
const hostOf = (prefix: string): string => prefix.replace('::/64', '::1');

describe('bgp IPv6 routes interop, sessions over IPv6 (root)', function () {
  this.timeout(60_000);
  let lab: InteropLab;
  let us: RunningSpeaker | undefined;

  const ourKernel = async (): Promise<string> =>
    (await lab.lab.exec('us', 'ip', ['-6', 'route', 'show', 'proto', '46'])).stdout;

  before(async function () {
    requireRoot(this);
    lab = await InteropLab.create(
      Object.fromEntries(
        DAEMONS.map((name, i) => [
          name,
          { kind: name, as: 65010 + 10 * i, ourAs: OUR_AS, transport: 'ipv6', announce: [THEIRS[name]] },
        ]),
      ),
    );
    await Promise.all(
      DAEMONS.map((name) => lab.lab.ip(name, [`addr add ${hostOf(THEIRS[name])}/128 dev lo`])),
    );
  });
  after(async () => {
    await us?.stop();
    await lab?.teardown();
  });

  const config = (announcements: string) =>
    parseSpeakerConfig(ourSpeakerYaml(lab, DAEMONS, { localAs: OUR_AS, announcements }), 'test');

  it('our route is each daemon’s best path via our global + link-local next hop, with communities', async () => {
    us = await runSpeaker(
      config(`  - { prefix: '${OURS}', communities: ['65001:100'], largeCommunities: ['65001:1:2'] }`),
      { netns: lab.netns },
    );
    for (const [i, name] of DAEMONS.entries()) {
      const ourLinkLocal = await linkLocalOf(lab, 'us', `v${i}`);
      const held = await waitFor(`${name} holds ${OURS}`, 20_000, () => {
        const h = heldRoute(lab, name, OURS);
        return h?.best === true ? h : undefined;
      });
      assert.deepEqual(
        held,
        {
          best: true,
          nextHops:
            name === 'gobgp' ? [lab.peer(name).ourAddress] : [lab.peer(name).ourAddress, ourLinkLocal],
          communities: true,
          largeCommunities: true,
          stale: false,
        },
        name,
      );
    }
  });

  it('their routes land in our kernel, via link-local + interface when sent, and forward a ping6', async () => {
    const speaker = us!;
    const expected: string[] = [];
    for (const [i, name] of DAEMONS.entries()) {
      await waitFor(`we learn ${THEIRS[name]}`, 10_000, () =>
        speaker.rib.bestPath(THEIRS[name]) !== undefined ? true : undefined,
      );
      // FRR and BIRD send global + link-local (32 octets) on a shared link; GoBGP only the global.
      const via = name === 'gobgp' ? lab.peer(name).address : await linkLocalOf(lab, name, 'eth0');
      expected.push(`${THEIRS[name]} via ${via} dev v${i}`);
    }
    const text = await waitFor('all three in our kernel', 10_000, async () => {
      const t = await ourKernel();
      return expected.every((e) => t.includes(e)) ? t : undefined;
    });
    assert.equal(text.trim().split('\n').length, DAEMONS.length, text);
    for (const name of DAEMONS) {
      // The ::1 of each prefix lives only behind its daemon: reachable over the learned route alone.
      await lab.lab.exec('us', 'ping', ['-6', '-c', '1', '-W', '2', hostOf(THEIRS[name])]);
    }
  });

  it('withdraws propagate both ways', async () => {
    const speaker = us!;
    await speaker.speaker.reconfigure(config(`  - { prefix: 'fd80:9::/64' }`));
    for (const name of DAEMONS) {
      await waitFor(`${name} drops ${OURS}`, 10_000, () =>
        heldRoute(lab, name, OURS) === undefined ? true : undefined,
      );
      await waitFor(`${name} holds fd80:9::/64`, 10_000, () => heldRoute(lab, name, 'fd80:9::/64'));
    }
    for (const name of DAEMONS) lab.withdrawAnnounced(name, 'ipv6');
    await waitFor('their routes leave our RIB and kernel', 10_000, async () => {
      const gone = DAEMONS.every((n) => speaker.rib.bestPath(THEIRS[n]) === undefined);
      return gone && (await ourKernel()).trim() === '' ? true : undefined;
    });
  });
});
