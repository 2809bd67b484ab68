// Connection collisions with real daemons (root): GoBGP and FRR dial us while we dial them.
// Our session starts the moment the daemon's connection reaches our listener, so our own
// connect is always under way beside theirs: either still connecting when we take theirs
// (ours is abandoned), or already connected (two connections, RFC 4271 6.8 decides). Either
// way exactly one session must end Established on both sides, on one TCP connection, and stay.
// (With both connected, one extra establishment is tolerated: see the assertion.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { BgpSession, resolveSessionConfig, transportDialer } from '../../bgp/session/index.js';
import { BgpListener } from '../../bgp/transport/index.js';
import { requireRoot } from '../../src/lab/index.js';
import { InteropLab, waitFor } from './peers.js';
import { RecordingConsumer } from './us.js';

const OUR_AS = 65001;
const ROUNDS = 2;
/** How long a kept session is watched for a late close. */
const STAY_MS = 3000;

type Timing = 'connecting' | 'connected';

describe('bgp connection collision interop (root)', function () {
  this.timeout(180_000);
  let lab: InteropLab;
  let listener: BgpListener;
  const sessions: BgpSession[] = [];

  before(async function () {
    requireRoot(this);
    this.timeout(60_000);
    lab = await InteropLab.create({
      gobgp: { kind: 'gobgp', as: 65030, ourAs: OUR_AS },
      frr: { kind: 'frr', as: 65010, ourAs: OUR_AS },
    });
    listener = await BgpListener.open({ address: '0.0.0.0', port: 179, netns: lab.netns });
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.stop('trellis collision test done')));
    await listener?.close();
    await lab?.teardown();
  });

  /** Established TCP connections between the daemon and us, seen from its side: [its port, ours]. */
  async function connections(name: string): Promise<[number, number][]> {
    const ours = `${lab.peer(name).ourAddress}:`;
    const out = (await lab.lab.exec(name, 'ss', ['-tnH', 'state', 'established'])).stdout;
    const port = (endpoint: string): number => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
    return out
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols.length >= 4 && cols.at(-1)!.startsWith(ours))
      .map((cols) => [port(cols.at(-2)!), port(cols.at(-1)!)]);
  }

  function daemonLog(name: string): string {
    const p = lab.peer(name);
    const file = join(p.dir, p.options.kind === 'frr' ? 'bgpd.log' : 'gobgpd.out');
    try {
      return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * One round: when the daemon's connection arrives our session starts and dials; the daemon's
   * connection is handed over at once ('connecting') or once ours is connected ('connected').
   */
  async function round(name: string, routerId: string, timing: Timing): Promise<void> {
    const peer = lab.peer(name);
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const config = resolveSessionConfig({
      peerAddress: peer.address,
      peerAs: peer.options.as,
      localAs: OUR_AS,
      routerId,
      localAddress: peer.ourAddress,
      connectRetry: { baseMs: 1000, maxMs: 2000 },
    });
    const events = new RecordingConsumer();
    const session = new BgpSession(config, events, {
      dial: transportDialer(config, { timeoutMs: 3000, netns: lab.netns }),
      logger,
    });
    sessions.push(session);
    let handedOver = false;
    listener.addPeer(peer.address, {
      accept: (socket: net.Socket) => {
        session.start();
        if (timing === 'connecting' || handedOver) {
          session.accept(socket);
          return;
        }
        handedOver = true;
        void waitFor('our connection', 3000, () => (session.state === 'OpenSent' ? true : undefined)).then(
          () => session.accept(socket),
          () => session.accept(socket),
        );
      },
    });
    const explain = (): string =>
      `\nour status: ${JSON.stringify(session.status())}\nour log:\n${lines.join('')}\n${name} log tail:\n${daemonLog(name)}`;
    try {
      // GoBGP after a session went down: 5 s in Idle refusing connections, then a dial after a
      // random 5..10 s, and once more if it lost the race described in docs/bgp-session.md.
      await waitFor(`${name} Established on both sides`, 40_000, () =>
        session.state === 'Established' && lab.peerState(name) === 'Established' ? true : undefined,
      ).catch(async (err: Error) => {
        const sockets = await Promise.all(
          ['us', name].map(async (ns) => `${ns}:\n${(await lab.lab.exec(ns, 'ss', ['-tanH'])).stdout}`),
        );
        throw new Error(
          `${err.message} (ours ${session.state}, ${name} ${lab.peerState(name)})\n${sockets.join('')}${explain()}`,
        );
      });
      await new Promise((r) => setTimeout(r, STAY_MS));
      assert.equal(session.state, 'Established', `ours left Established${explain()}`);
      assert.equal(lab.peerState(name), 'Established', `${name} left Established${explain()}`);
      // With both connections open, the two FSMs decide at the same moment on different
      // messages: FRR, getting our Cease/7 on its connection, may reset the peer and close ours
      // too (seen under CI load, once in many rounds); the next attempt then settles. RFC 4271
      // 6.8 allows that; a second flap would be our bug.
      assert.ok(
        events.established.length <= (timing === 'connected' ? 2 : 1),
        `ours went Established ${events.established.length} times${explain()}`,
      );
      const kept = session.negotiated;
      assert.deepEqual(
        await connections(name),
        [[kept?.remotePort, kept?.localPort]],
        `${name} and we are not on one and the same connection${explain()}`,
      );
    } finally {
      listener.removePeer(peer.address);
      await session.stop('round over');
      await waitFor(`${name} leaves Established`, 10_000, () =>
        lab.peerState(name) !== 'Established' ? true : undefined,
      );
    }
  }

  for (const name of ['gobgp', 'frr'] as const) {
    for (const timing of ['connecting', 'connected'] as const) {
      for (const [what, routerId] of [
        ['our identifier lower', '10.251.0.1'],
        ['our identifier higher', '10.251.255.1'],
      ] as const) {
        it(`${name}, ours ${timing} when theirs arrives, ${what}: one session, ${ROUNDS} rounds`, async () => {
          for (let i = 0; i < ROUNDS; i++) await round(name, routerId, timing);
        });
      }
    }
  }
});
