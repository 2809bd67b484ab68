// Two of our speakers, each in its own namespace on one veth, assembled from the real parts
// (Rib, BgpSession, BgpListener, KernelSync): routes flow both ways with their communities,
// land in the kernel with proto 46 and forward; withdraws and shutdown propagate. Root only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseSpeakerConfig, type SpeakerConfig } from '../../bgp/config/index.js';
import { type RunningSpeaker, runSpeaker } from '../../bgp/speaker/index.js';
import { ip, ipJson, requireRoot, TestNamespaces, type TestNs } from '../netlink/fixture.js';
import { waitFor } from '../wait.js';

interface KernelRoute {
  dst: string;
  gateway?: string;
  protocol?: string;
}

const until = <T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> =>
  waitFor(what, timeoutMs, probe, 50);

const speakerConfig = (yaml: string): SpeakerConfig => parseSpeakerConfig(yaml, 'test');

describe('bgp/speaker assembled: two Trellis speakers (root)', function () {
  this.timeout(30_000);
  const namespaces = new TestNamespaces();
  let a: TestNs;
  let b: TestNs;
  const running: RunningSpeaker[] = [];

  const bgpRoutes = (ns: TestNs): KernelRoute[] =>
    ipJson<KernelRoute[]>(['-n', ns.name, '-4', 'route', 'show', 'proto', '46']);

  async function start(ns: TestNs, yaml: string): Promise<RunningSpeaker> {
    const s = await runSpeaker(speakerConfig(yaml), { netns: ns.path });
    running.push(s);
    return s;
  }

  // A announces 10.50.1.0/24 (and owns 10.50.1.1 on lo, so B can ping it over the learned route);
  // B is passive: A's session comes in through B's listener.
  const configA = (announcements: string) => `routerId: 10.99.0.1
localAs: 65001
gracefulRestartTime: 0
peers:
  - { name: b, address: 10.99.0.2, as: 65002, holdTime: 9, keepaliveTime: 3 }
announcements:
${announcements}`;
  const configB = `routerId: 10.99.0.2
localAs: 65002
listen: { address: 0.0.0.0, port: 179 }
gracefulRestartTime: 0
peers:
  - { name: a, address: 10.99.0.1, as: 65001, passive: true, holdTime: 9, keepaliveTime: 3 }
announcements:
  - { prefix: 10.60.0.0/16 }
`;
  const announceA = `  - { prefix: 10.50.1.0/24, communities: ['65001:100'], largeCommunities: ['65001:7:8'], med: 5 }
  - { prefix: 10.50.2.0/24 }`;

  before(function () {
    requireRoot(this);
  });

  beforeEach(() => {
    [a, b] = namespaces.pair('spa', 'spb', '10.99.0');
    ip(['-n', a.name, 'addr', 'add', '10.50.1.1/32', 'dev', 'lo']);
  });

  afterEach(async () => {
    // The namespaces go even when stopping a speaker fails (CI once kept them).
    try {
      for (const s of running.splice(0)) await s.stop().catch(() => undefined);
    } finally {
      namespaces.removeAll();
    }
  });

  it('exchanges routes both ways with communities; the kernel forwards over them', async () => {
    const sa = await start(a, configA(announceA));
    const sb = await start(b, configB);
    await until('B learns both prefixes of A', () => (sb.rib.size === 3 ? true : undefined));
    await until('A learns 10.60.0.0/16', () => (sa.rib.bestPath('10.60.0.0/16') ? true : undefined));

    const [route] = sb.speaker.routes('10.50.1.0/24');
    const path = route?.paths[0];
    assert.ok(path !== undefined);
    assert.equal(path.from, 'a');
    assert.equal(path.nextHop, '10.99.0.1');
    assert.deepEqual(path.asPath, [65001]);
    assert.deepEqual(path.communities, ['65001:100']);
    assert.deepEqual(path.largeCommunities, ['65001:7:8']);
    assert.equal(path.med, 5);

    const inB = await until('B kernel has both routes', () => {
      const r = bgpRoutes(b);
      return r.length === 2 ? r : undefined;
    });
    assert.deepEqual(inB.map((r) => [r.dst, r.gateway]).sort(), [
      ['10.50.1.0/24', '10.99.0.1'],
      ['10.50.2.0/24', '10.99.0.1'],
    ]);
    await until('A kernel has 10.60.0.0/16', () =>
      bgpRoutes(a).some((r) => r.dst === '10.60.0.0/16' && r.gateway === '10.99.0.2') ? true : undefined,
    );
    // 10.50.1.1 is reachable from B only through the route B learned over BGP.
    execFileSync('ip', ['netns', 'exec', b.name, 'ping', '-c', '1', '-W', '2', '10.50.1.1'], {
      stdio: 'ignore',
    });

    const peersB = sb.speaker.peers();
    assert.equal(peersB[0]?.state, 'Established');
    assert.equal(peersB[0]?.prefixesReceived, 2);
    assert.equal(peersB[0]?.prefixesAdvertised, 1);
  });

  it('a withdrawn announcement leaves the peer and its kernel; shutdown removes the rest', async () => {
    const sa = await start(a, configA(announceA));
    const sb = await start(b, configB);
    await until('B kernel has both routes', () => (bgpRoutes(b).length === 2 ? true : undefined));

    await sa.speaker.reconfigure(speakerConfig(configA('  - { prefix: 10.50.2.0/24 }')));
    await until('10.50.1.0/24 withdrawn from B', () =>
      sb.rib.bestPath('10.50.1.0/24') === undefined ? true : undefined,
    );
    await until('and from its kernel', () => {
      const r = bgpRoutes(b);
      return r.length === 1 && r[0]?.dst === '10.50.2.0/24' ? true : undefined;
    });
    // The session survived the change: announcements change without a reset.
    assert.equal(sb.speaker.peers()[0]?.state, 'Established');

    // Admin shutdown: Cease (RFC 8203 text); without graceful restart B drops A's routes at once.
    await sa.stop();
    running.splice(running.indexOf(sa), 1);
    await until('B drops A routes', () => (bgpRoutes(b).length === 0 ? true : undefined));
    assert.equal(sb.rib.bestPath('10.50.2.0/24'), undefined);
    assert.match(sb.speaker.peers()[0]?.lastError ?? '', /Trellis BGP speaker shutting down/);
    // A without graceful restart removed what it had installed.
    assert.deepEqual(bgpRoutes(a), []);
  });

  it('graceful stop: no NOTIFICATION, the peer keeps our routes stale until we are back, then fresh', async () => {
    const withGr = (yaml: string): string =>
      yaml.replace('gracefulRestartTime: 0', 'gracefulRestartTime: 30');
    const sa = await start(a, withGr(configA(announceA)));
    const sb = await start(b, withGr(configB));
    await until('B kernel has both routes', () => (bgpRoutes(b).length === 2 ? true : undefined));
    await until('A kernel has 10.60.0.0/16', () => (bgpRoutes(a).length === 1 ? true : undefined));

    await sa.stop({ graceful: true });
    running.splice(running.indexOf(sa), 1);
    const stalePaths = await until('B marks A’s paths stale', () => {
      const paths = sb.speaker.routes().flatMap((r) => r.paths.filter((p) => p.from === 'a'));
      return paths.length === 2 && paths.every((p) => p.stale && p.best) ? paths : undefined;
    });
    assert.equal(stalePaths.length, 2);
    assert.equal(bgpRoutes(b).length, 2, 'B still forwards to A’s prefixes');
    assert.doesNotMatch(sb.speaker.peers()[0]?.lastError ?? '', /shutting down/, 'no Cease was sent');
    assert.equal(bgpRoutes(a).length, 1, 'A kept its BGP routes in the kernel');

    const again = await start(a, withGr(configA(announceA)));
    assert.equal(again.speaker.restarting, true);
    await until('B holds A’s paths fresh again', () => {
      const paths = sb.speaker.routes().flatMap((r) => r.paths.filter((p) => p.from === 'a'));
      return paths.length === 2 && paths.every((p) => !p.stale) ? true : undefined;
    });
    await until('A converged (End-of-RIB from B)', () => (again.speaker.converged ? true : undefined));
    assert.equal(bgpRoutes(a).length, 1);
  });
});
