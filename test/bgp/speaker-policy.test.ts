// BgpSpeaker.reconfigure with the real Rib (sessions scripted, no kernel, no root): a policy
// change reaches routes already received, a bad policy leaves everything as it was,
// stop({ graceful }) reaches every session, and a stop during a reconfigure starts nothing new.
import assert from 'node:assert/strict';
import { parseSpeakerConfig, type SpeakerConfig } from '../../bgp/config/index.js';
import { fromConfigPolicies } from '../../bgp/policy/index.js';
import { Rib } from '../../bgp/rib/index.js';
import { BgpSpeaker, type PeerStatus, type SessionFactory } from '../../bgp/speaker/index.js';
import { announce, v4Attributes } from './fixtures/rib-builders.js';
import { establishedStatus } from './fixtures/speaker-sessions.js';

const policyConfig = (policy: string, importPolicy = 'in'): SpeakerConfig =>
  parseSpeakerConfig(
    `routerId: 192.0.2.1
localAs: 65001
listen: { port: 0 }
kernel: { enabled: false }
gracefulRestartTime: 60
peers:
  - { name: tor, address: 192.0.2.2, as: 65002, importPolicy: ${importPolicy} }
policies:
${policy}`,
    'test',
  );

const ACCEPT_ALL = `  in: { defaultAction: accept, statements: [] }
  other: { defaultAction: accept, statements: [] }`;
const ONLY_10_1 = `  in:
    defaultAction: reject
    statements: [{ match: { prefixes: [{ prefix: 10.1.0.0/16, le: 32 }] }, action: accept }]
  other: { defaultAction: accept, statements: [] }`;

/** Sessions that join the real RIB at once and receive two routes from the peer. */
function sessionsOnto(rib: Rib): { factory: SessionFactory; stops: { peer: string; graceful: boolean }[] } {
  const stops: { peer: string; graceful: boolean }[] = [];
  const factory: SessionFactory = (peer) => {
    rib.addPeer({
      id: peer.name,
      address: peer.address,
      asn: peer.as,
      ...(peer.importPolicy !== undefined && { importPolicy: peer.importPolicy }),
    });
    rib.peerUp(
      peer.name,
      { routerId: peer.address, families: ['ipv4'], addresses: { ipv4: { nextHop: '192.0.2.1' } } },
      () => {},
    );
    rib.receive(
      peer.name,
      announce(['10.1.0.0/24', '10.2.0.0/24'], v4Attributes({ asPath: [peer.as], nextHop: peer.address })),
    );
    return {
      status: () => establishedStatus(peer),
      stop: async (_reason, opts) => {
        stops.push({ peer: peer.name, graceful: opts?.graceful === true });
        rib.removePeer(peer.name);
      },
    };
  };
  return { factory, stops };
}

async function startWith(cfg: SpeakerConfig) {
  const rib = new Rib({
    routerId: cfg.routerId,
    localAs: cfg.localAs,
    policies: fromConfigPolicies(cfg.policies),
  });
  const sessions = sessionsOnto(rib);
  const speaker = await BgpSpeaker.start({ config: cfg, rib, createSession: sessions.factory });
  return { rib, speaker, stops: sessions.stops };
}

const bestPrefixes = (rib: Rib): string[] =>
  rib
    .routes()
    .filter((r) => r.paths.some((p) => p.best))
    .map((r) => r.prefix)
    .sort();

describe('bgp/speaker reconfigure: policies', () => {
  it('a changed import policy is applied to routes already received, without restarting the session', async () => {
    const { rib, speaker, stops } = await startWith(policyConfig(ACCEPT_ALL));
    assert.deepEqual(bestPrefixes(rib), ['10.1.0.0/24', '10.2.0.0/24']);
    await speaker.reconfigure(policyConfig(ONLY_10_1));
    assert.deepEqual(bestPrefixes(rib), ['10.1.0.0/24']);
    assert.deepEqual(stops, [], 'the peer kept its session');
    await speaker.reconfigure(policyConfig(ACCEPT_ALL));
    assert.deepEqual(bestPrefixes(rib), ['10.1.0.0/24', '10.2.0.0/24']);
    await speaker.stop();
  });

  it('a peer moved to a new policy restarts under it while the old policy goes away', async () => {
    const { rib, speaker } = await startWith(policyConfig(ACCEPT_ALL));
    const renamed = `  fresh:
    defaultAction: reject
    statements: [{ match: { prefixes: [{ prefix: 10.2.0.0/16, le: 32 }] }, action: accept }]`;
    await speaker.reconfigure(policyConfig(renamed, 'fresh'));
    assert.deepEqual(bestPrefixes(rib), ['10.2.0.0/24']);
    await speaker.stop();
  });

  it('a policy that does not parse is refused and the speaker keeps its previous configuration', async () => {
    const before = policyConfig(ACCEPT_ALL);
    const { rib, speaker, stops } = await startWith(before);
    const bad: SpeakerConfig = {
      ...before,
      policies: {
        ...before.policies,
        in: {
          defaultAction: 'accept',
          statements: [{ match: { communities: ['70000:1'] }, action: 'reject' }],
        },
      },
    };
    await assert.rejects(speaker.reconfigure(bad), { name: 'PolicyError', message: /70000:1/ });
    assert.deepEqual(bestPrefixes(rib), ['10.1.0.0/24', '10.2.0.0/24']);
    assert.deepEqual(stops, []);
    await speaker.reconfigure(policyConfig(ONLY_10_1));
    assert.deepEqual(bestPrefixes(rib), ['10.1.0.0/24'], 'the refused config was not half-applied');
    await speaker.stop();
  });

  it('stop({ graceful: true }) closes every session gracefully; a plain stop sends Cease', async () => {
    const first = await startWith(policyConfig(ACCEPT_ALL));
    await first.speaker.stop({ graceful: true });
    assert.deepEqual(first.stops, [{ peer: 'tor', graceful: true }]);
    const second = await startWith(policyConfig(ACCEPT_ALL));
    await second.speaker.stop();
    assert.deepEqual(second.stops, [{ peer: 'tor', graceful: false }]);
  });

  it('graceful stop is a plain stop when graceful restart is off (peers would not keep our routes)', async () => {
    const cfg = { ...policyConfig(ACCEPT_ALL), gracefulRestartTime: 0 };
    const { speaker, stops } = await startWith(cfg);
    await speaker.stop({ graceful: true });
    assert.deepEqual(stops, [{ peer: 'tor', graceful: false }]);
  });

  it('a stop while reconfigure waits for old sessions to close starts no new session', async () => {
    const rib = new Rib({ routerId: '192.0.2.1', localAs: 65001 });
    let release = (): void => {};
    const closing = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: string[] = [];
    const factory: SessionFactory = (peer) => {
      started.push(peer.name);
      return {
        status: (): PeerStatus => ({
          name: peer.name,
          address: peer.address,
          as: peer.as,
          state: 'Idle',
          prefixesReceived: 0,
          prefixesAccepted: 0,
          prefixesAdvertised: 0,
        }),
        stop: () => closing,
      };
    };
    const first = policyConfig(ACCEPT_ALL);
    const speaker = await BgpSpeaker.start({ config: first, rib, createSession: factory });
    const next: SpeakerConfig = {
      ...first,
      peers: [
        { ...first.peers[0]!, holdTime: 30, keepaliveTime: 10 },
        { ...first.peers[0]!, name: 'new', address: '192.0.2.9' },
      ],
    };
    const reconfiguring = speaker.reconfigure(next);
    const stopping = speaker.stop();
    release();
    await Promise.all([reconfiguring, stopping]);
    assert.deepEqual(started, ['tor'], 'neither the changed nor the added peer was started after stop');
    assert.deepEqual(speaker.peers(), []);
  });
});
