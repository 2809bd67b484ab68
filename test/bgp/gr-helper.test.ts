// Graceful restart as helper (RFC 4724 4.2) through PeerLink, the real Rib and a real BgpSession
// over in-memory connections (no root): a peer that restarted without closing its TCP connection
// dials again; its paths stay in the RIB as stale across the switch, and are swept by its
// End-of-RIB, or at once when the new session says forwarding was not preserved.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import {
  type Capability,
  endOfRib,
  formatPrefix,
  type OpenMessage,
  parsePrefix,
  type UpdateMessage,
} from '../../bgp/codec/index.js';
import { parseSpeakerConfig } from '../../bgp/config/index.js';
import { Rib } from '../../bgp/rib/index.js';
import { PeerLink, type PeerListener } from '../../bgp/speaker/peer-link.js';
import type { PeerAcceptor } from '../../bgp/transport/index.js';
import { silentLogger } from '../../src/log.js';
import { waitFor } from '../wait.js';
import { MemorySocket, ScriptedPeer, settle } from './session-fakes.js';

const US = { address: '192.0.2.1', port: 179 };
const PEER = '192.0.2.2';
const PEER_AS = 65002;
let ephemeral = 41000;

const CONFIG = parseSpeakerConfig(
  [
    `routerId: ${US.address}`,
    'localAs: 65001',
    'listen: { port: 0 }',
    'gracefulRestartTime: 120',
    'kernel: { enabled: false }',
    'peers:',
    `  - { name: tor, address: '${PEER}', as: ${PEER_AS}, passive: true }`,
  ].join('\n'),
  'gr-helper.test',
);

function grCapability(restarting: boolean, forwardingPreserved: boolean): Capability {
  return {
    kind: 'graceful-restart',
    restarting,
    notification: false,
    restartTime: 60,
    families: [{ afi: 1, safi: 1, forwardingPreserved }],
  };
}

const open = (capabilities: Capability[]): OpenMessage => ({
  type: 'open',
  myAs: PEER_AS,
  holdTime: 90,
  bgpId: PEER,
  capabilities: [{ kind: 'four-octet-as', asn: PEER_AS }, ...capabilities],
});

const announce = (prefixes: string[]): UpdateMessage => ({
  type: 'update',
  withdrawn: [],
  attributes: [
    { type: 'origin', origin: 'igp' },
    { type: 'as-path', segments: [{ type: 'sequence', asns: [PEER_AS] }] },
    { type: 'next-hop', nextHop: PEER },
  ],
  nlri: prefixes.map(parsePrefix),
});

/** A socket of ours whose writes never drain: the peer died with its receive window full. */
class StuckSocket extends MemorySocket {
  override write(data: Uint8Array): boolean {
    super.write(data);
    return false;
  }
}

function harness() {
  const rib = new Rib({ routerId: US.address, localAs: 65001 });
  let acceptor: PeerAcceptor | undefined;
  const listener: PeerListener = {
    addPeer: (_address, a) => {
      acceptor = a;
    },
    removePeer: () => {},
  };
  const peerConfig = CONFIG.peers[0]!;
  const link = new PeerLink({
    peer: peerConfig,
    config: CONFIG,
    rib,
    restarting: false,
    events: { endOfRib: () => {} },
    listener,
    logger: silentLogger,
  });
  /** The peer dials us; our end may be a StuckSocket. */
  const dial = (ours: typeof MemorySocket = MemorySocket): ScriptedPeer => {
    const theirs = new MemorySocket({ address: PEER, port: ephemeral++ }, US);
    const mine = new ours(US, theirs.local);
    theirs.other = mine;
    mine.other = theirs;
    const peer = new ScriptedPeer(theirs);
    peer.codec = { fourOctetAs: true, extendedMessage: false };
    assert.ok(acceptor !== undefined, 'the peer link registered with the listener');
    // PeerLink hands the socket straight to BgpSession.accept, which needs only a BgpSocket.
    acceptor.accept(mine as unknown as Socket);
    return peer;
  };
  /** Each held prefix with its stale mark, e.g. ['10.1.0.0/24 stale']. */
  const held = (): string[] =>
    rib
      .routes()
      .flatMap((r) => r.paths.map((p) => `${r.prefix}${p.stale ? ' stale' : ''}`))
      .sort();
  return { rib, link, dial, held };
}

async function up(peer: ScriptedPeer, capabilities: Capability[]): Promise<void> {
  peer.send(open(capabilities));
  peer.send({ type: 'keepalive' });
  await settle();
}

describe('bgp graceful restart helper: the peer dials again while our session is up (RFC 4724 4.2)', () => {
  const links: PeerLink[] = [];
  afterEach(async () => {
    for (const link of links.splice(0)) await link.stop('test done');
  });

  async function learned(stuck = false) {
    const h = harness();
    links.push(h.link);
    h.rib.setLocalRoutes([
      {
        prefix: parsePrefix('10.200.0.0/24'),
        attributes: [
          { type: 'origin', origin: 'igp' },
          { type: 'as-path', segments: [] },
        ],
      },
    ]);
    const old = h.dial(stuck ? StuckSocket : MemorySocket);
    old.socket.ignoresFin = true; // dead: it never answers our FIN either
    await up(old, [grCapability(false, true)]);
    old.send(announce(['10.1.0.0/24', '10.2.0.0/24']));
    old.send(endOfRib('ipv4'));
    await settle();
    assert.deepEqual(h.held(), ['10.1.0.0/24', '10.2.0.0/24', '10.200.0.0/24']);
    return { ...h, old };
  }

  it('keeps the paths stale across the switch; the new End-of-RIB sweeps what was not re-sent', async () => {
    const h = await learned();
    const fresh = h.dial();
    await up(fresh, [grCapability(true, true)]);
    assert.equal(h.old.count('notification'), 0, 'the dead connection gets no NOTIFICATION');
    assert.deepEqual(h.held(), ['10.1.0.0/24 stale', '10.2.0.0/24 stale', '10.200.0.0/24']);
    assert.equal(h.link.status().state, 'Established');
    fresh.send(announce(['10.1.0.0/24']));
    await settle();
    assert.deepEqual(h.held(), ['10.1.0.0/24', '10.2.0.0/24 stale', '10.200.0.0/24'], 're-learned');
    fresh.send(endOfRib('ipv4'));
    await settle();
    assert.deepEqual(h.held(), ['10.1.0.0/24', '10.200.0.0/24']);
  });

  for (const [what, caps] of [
    ['without the F bit', [grCapability(true, false)]],
    ['without graceful restart', []],
  ] as const) {
    it(`the new session ${what}: stale paths go at once`, async () => {
      const h = await learned();
      const fresh = h.dial();
      fresh.send(open([...caps]));
      await settle();
      assert.deepEqual(
        h.held(),
        ['10.1.0.0/24 stale', '10.2.0.0/24 stale', '10.200.0.0/24'],
        'until Established',
      );
      fresh.send({ type: 'keepalive' });
      await settle();
      assert.deepEqual(h.held(), ['10.200.0.0/24']);
    });
  }

  it('sends the new session its table even while a send to the dead connection was stuck', async function () {
    this.timeout(6000);
    const h = await learned(true);
    const fresh = h.dial();
    await up(fresh, [grCapability(true, true)]);
    // The stuck send fails when the dead socket is destroyed (2 s after our FIN); then the drain resumes.
    await waitFor('our table and End-of-RIB on the new connection', 4000, () =>
      fresh.count('update') >= 2 ? true : undefined,
    );
    const [table, eor] = fresh.received.filter((m) => m.type === 'update');
    assert.deepEqual(table?.type === 'update' && table.nlri.map(formatPrefix), ['10.200.0.0/24']);
    assert.deepEqual(
      eor?.type === 'update' && [eor.nlri.length, eor.withdrawn.length, eor.attributes.length],
      [0, 0, 0],
    );
  });
});
