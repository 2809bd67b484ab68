// BgpSpeaker assembled with a scripted RIB and sessions (the seams bgp/rib and bgp/session
// plug into) and the real kernel in a namespace: Loc-RIB -> kernel, announcements, runtime
// reconfiguration, graceful restart as restarting speaker, control socket, shutdown.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrefix } from '../../bgp/codec/index.js';
import { type PeerConfig, parseSpeakerConfig, type SpeakerConfig } from '../../bgp/config/index.js';
import type { RoutePolicy } from '../../bgp/policy/index.js';
import {
  BgpSpeaker,
  controlRequest,
  type KernelStatus,
  type LocalRoute,
  type LocRibChange,
  type PeerStatus,
  type RouteStatus,
  type SessionFactory,
  SpeakerReconfigureError,
  type SpeakerRib,
} from '../../bgp/speaker/index.js';
import { RouteNetlink } from '../../src/netlink/index.js';
import { addUplink, ip, ipJson, requireRoot, TestNamespaces, type TestNs } from '../netlink/fixture.js';
import { waitFor } from '../wait.js';
import { establishedStatus } from './fixtures/speaker-sessions.js';

class ScriptedRib implements SpeakerRib {
  readonly localRouteSets: (readonly LocalRoute[])[] = [];
  readonly policySets: ReadonlyMap<string, RoutePolicy>[] = [];
  #listener: ((change: LocRibChange) => void) | undefined;

  onChange(listener: (change: LocRibChange) => void): void {
    this.#listener = listener;
  }
  setLocalRoutes(routes: readonly LocalRoute[]): void {
    this.localRouteSets.push(routes);
  }
  setPolicies(policies: ReadonlyMap<string, RoutePolicy>): void {
    this.policySets.push(policies);
  }
  routes(prefix?: string): readonly RouteStatus[] {
    return [{ prefix: prefix ?? '0.0.0.0/0', paths: [] }];
  }
  emit(prefix: string, ...nextHops: (string | undefined)[]): void {
    this.#listener!({
      prefix: parsePrefix(prefix),
      key: prefix,
      paths: nextHops.map((nextHop) => (nextHop === undefined ? {} : { nextHop })),
    });
  }
}

interface SessionRecord {
  readonly peer: PeerConfig;
  readonly restarting: boolean;
  stoppedWith?: string;
  endOfRib(family: 'ipv4' | 'ipv6'): void;
}

function scriptedSessions(): { factory: SessionFactory; started: SessionRecord[] } {
  const started: SessionRecord[] = [];
  const factory: SessionFactory = (peer, ctx) => {
    const record: SessionRecord = {
      peer,
      restarting: ctx.restarting,
      endOfRib: (family) => ctx.events.endOfRib(peer.name, family),
    };
    started.push(record);
    return {
      status: () => establishedStatus(peer),
      stop: async (reason) => {
        record.stoppedWith = reason;
      },
    };
  };
  return { factory, started };
}

const config = (extra: string): SpeakerConfig =>
  parseSpeakerConfig(
    `routerId: 192.0.2.1
localAs: 65001
listen: { port: 0 }
peers:
  - { name: a, address: 192.0.2.2, as: 65002 }
  - { name: b, address: 192.0.2.3, as: 65003 }
${extra}`,
    'test',
  );

describe('bgp/speaker BgpSpeaker (root, kernel)', function () {
  this.timeout(30_000);
  const namespaces = new TestNamespaces();
  let ns: TestNs;
  let nl: RouteNetlink;
  let dir: string;
  const speakers: BgpSpeaker[] = [];

  const bgpRoutes = (): { dst: string; gateway?: string; nexthops?: { gateway: string }[] }[] =>
    ipJson(['-n', ns.name, '-4', 'route', 'show', 'proto', '46']);

  async function start(cfg: SpeakerConfig, sessions = scriptedSessions(), rib = new ScriptedRib()) {
    const speaker = await BgpSpeaker.start({ config: cfg, rib, createSession: sessions.factory, routes: nl });
    speakers.push(speaker);
    return { speaker, rib, sessions };
  }

  before(function () {
    requireRoot(this);
  });

  beforeEach(() => {
    ns = namespaces.add('bgpsp');
    addUplink(ns);
    nl = RouteNetlink.open({ netnsPath: ns.path });
    dir = mkdtempSync(join(tmpdir(), 'trellis-bgp-speaker-'));
  });

  afterEach(async () => {
    for (const s of speakers.splice(0)) await s.stop();
    nl.close();
    namespaces.removeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces the configured set and starts one session per peer', async () => {
    const { rib, sessions } = await start(
      config(`announcements:
  - { prefix: 10.244.1.0/26, communities: ['65000:100'], largeCommunities: ['65000:1:2'], med: 7 }`),
    );
    assert.deepEqual(
      sessions.started.map((s) => [s.peer.name, s.restarting]),
      [
        ['a', false],
        ['b', false],
      ],
    );
    assert.deepEqual(rib.localRouteSets[0], [
      {
        prefix: { family: 'ipv4', addr: '10.244.1.0', len: 26 },
        attributes: [
          { type: 'origin', origin: 'igp' },
          { type: 'as-path', segments: [] },
          { type: 'med', med: 7 },
          { type: 'communities', communities: [65000 * 65536 + 100] },
          { type: 'large-communities', communities: [{ globalAdmin: 65000, localData1: 1, localData2: 2 }] },
        ],
      },
    ]);
  });

  it('installs best paths and ECMP sets from the Loc-RIB, withdraws them, never installs local routes', async () => {
    const { rib } = await start(config(''));
    rib.emit('10.1.0.0/24', '192.0.2.2', '192.0.2.3');
    rib.emit('10.2.0.0/24', '192.0.2.2');
    rib.emit('10.3.0.0/24', undefined);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const routes = bgpRoutes();
    assert.deepEqual(routes.map((r) => r.dst).sort(), ['10.1.0.0/24', '10.2.0.0/24']);
    assert.deepEqual(
      routes
        .find((r) => r.dst === '10.1.0.0/24')!
        .nexthops!.map((h) => h.gateway)
        .sort(),
      ['192.0.2.2', '192.0.2.3'],
    );
    rib.emit('10.1.0.0/24');
    rib.emit('10.2.0.0/24', undefined); // our own route became best: the BGP route goes
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(bgpRoutes(), []);
  });

  it('reconfigures: untouched sessions keep running, changed ones restart, announcements are replaced', async () => {
    const { speaker, rib, sessions } = await start(config('announcements: [{ prefix: 10.9.0.0/24 }]'));
    const next = parseSpeakerConfig(
      `routerId: 192.0.2.1
localAs: 65001
listen: { port: 0 }
peers:
  - { name: a, address: 192.0.2.2, as: 65002 }
  - { name: b, address: 192.0.2.3, as: 65003, holdTime: 30, keepaliveTime: 10 }
  - { name: c, address: 192.0.2.4, as: 65004 }
announcements: [{ prefix: 10.8.0.0/24 }]`,
      'next',
    );
    await speaker.reconfigure(next);
    assert.deepEqual(
      sessions.started.map((s) => `${s.peer.name}${s.stoppedWith === undefined ? '' : ' stopped'}`),
      ['a', 'b stopped', 'c', 'b'],
    );
    assert.deepEqual(
      rib.localRouteSets.map((set) => set.map((r) => `${r.prefix.addr}/${r.prefix.len}`)),
      [['10.9.0.0/24'], ['10.8.0.0/24']],
    );
    assert.deepEqual(
      speaker
        .peers()
        .map((p) => p.name)
        .sort(),
      ['a', 'b', 'c'],
    );
    await assert.rejects(speaker.reconfigure({ ...next, localAs: 65099 }), SpeakerReconfigureError);
  });

  it('reconfigures: a changed policy body reaches the RIB, unchanged policies do not', async () => {
    const policy = (action: string) => `policies: { in: { defaultAction: ${action} } }`;
    const { speaker, rib } = await start(config(policy('accept')));
    await speaker.reconfigure(config(policy('accept')));
    assert.equal(rib.policySets.length, 0, 'same policies: nothing re-applied');
    await speaker.reconfigure(config(policy('reject')));
    assert.deepEqual(
      rib.policySets.map((set) => [...set].map(([name, p]) => `${name} ${p.defaultResult}`)),
      [['in reject']],
    );
  });

  it('after a restart sets the restart bit, keeps old routes until every End-of-RIB, then sweeps', async () => {
    const first = await start(config('gracefulRestartTime: 60'));
    first.rib.emit('10.1.0.0/24', '192.0.2.2');
    first.rib.emit('10.2.0.0/24', '192.0.2.2');
    await first.speaker.stop();
    speakers.splice(speakers.indexOf(first.speaker), 1);
    assert.equal(bgpRoutes().length, 2, 'graceful restart keeps forwarding across the stop');

    const second = await start(config('gracefulRestartTime: 60'));
    assert.equal(second.speaker.restarting, true);
    assert.deepEqual(
      second.sessions.started.map((s) => s.restarting),
      [true, true],
    );
    second.rib.emit('10.1.0.0/24', '192.0.2.3');
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(bgpRoutes().length, 2, '10.2.0.0/24 is stale but still forwards');
    second.sessions.started[0]!.endOfRib('ipv4');
    assert.equal(second.speaker.converged, false);
    second.sessions.started[1]!.endOfRib('ipv4');
    assert.equal(second.speaker.converged, true);
    assert.deepEqual(
      bgpRoutes().map((r) => `${r.dst} ${r.gateway}`),
      ['10.1.0.0/24 192.0.2.3'],
    );
  });

  it('sweeps stale routes when the restart timer fires without End-of-RIB', async () => {
    const first = await start(config('gracefulRestartTime: 1'));
    first.rib.emit('10.2.0.0/24', '192.0.2.2');
    await first.speaker.stop();
    speakers.splice(speakers.indexOf(first.speaker), 1);
    const second = await start(config('gracefulRestartTime: 1'));
    assert.equal(second.speaker.restarting, true);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    assert.equal(second.speaker.converged, true);
    assert.deepEqual(bgpRoutes(), []);
  });

  it('without graceful restart: no restart bit, and stop removes our routes after Cease to every peer', async () => {
    ip(['-n', ns.name, 'route', 'add', '10.7.0.0/24', 'via', '192.0.2.9', 'proto', '46', 'metric', '20']);
    const { speaker, rib, sessions } = await start(config('gracefulRestartTime: 0'));
    assert.equal(speaker.restarting, false);
    rib.emit('10.1.0.0/24', '192.0.2.2');
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(
      bgpRoutes().map((r) => r.dst),
      ['10.1.0.0/24'],
      'the leftover was removed at once',
    );
    await speaker.stop();
    speakers.splice(0);
    assert.deepEqual(
      sessions.started.map((s) => s.stoppedWith),
      ['Trellis BGP speaker shutting down', 'Trellis BGP speaker shutting down'],
    );
    assert.deepEqual(bgpRoutes(), []);
  });

  it('serves peers, routes and kernel sync (with refused prefixes) on its control socket', async () => {
    const socket = join(dir, 'bgp.sock');
    const { rib } = await start(config(`controlSocket: ${socket}`));
    rib.emit('10.1.0.0/24', '192.0.2.2');
    // Not on a connected subnet: the kernel refuses it, and the operator sees why.
    rib.emit('10.3.0.0/24', '198.51.100.1');
    const kernel = await waitFor(
      'both routes tried',
      5000,
      async () => {
        const k = (await controlRequest(socket, { method: 'kernel' })) as KernelStatus;
        return k.enabled && k.installed + k.failed === 2 ? k : undefined;
      },
      20,
    );
    assert.ok(kernel.enabled);
    const { failures, ...counts } = kernel;
    assert.deepEqual(counts, {
      enabled: true,
      table: 254,
      metric: 20,
      desired: 2,
      installed: 1,
      stale: 0,
      pending: 0,
      failed: 1,
      repaired: 0,
    });
    assert.deepEqual(
      failures.map((f) => f.prefix),
      ['10.3.0.0/24'],
    );
    assert.match(failures[0]!.error, /^ENETUNREACH/);
    const peers = (await controlRequest(socket, { method: 'peers' })) as PeerStatus[];
    assert.deepEqual(
      peers.map((p) => `${p.name} ${p.state}`),
      ['a Established', 'b Established'],
    );
    assert.deepEqual(await controlRequest(socket, { method: 'routes', prefix: '10.0.0.0/8' }), [
      { prefix: '10.0.0.0/8', paths: [] },
    ]);
  });
});
