// `trellis bgp run -c FILE` as a real process in a namespace, peering with an in-process speaker
// in another: its announcements arrive, `trellis bgp peers` reads its control socket, and
// SIGTERM ends it with a Cease carrying the RFC 8203 text (with --graceful: no NOTIFICATION, the
// peer keeps our route as stale). A bad file fails before any socket.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { parseSpeakerConfig } from '../../bgp/config/index.js';
import { type PeerStatus, type RunningSpeaker, runSpeaker } from '../../bgp/speaker/index.js';
import { requireRoot, TestNamespaces, type TestNs } from '../netlink/fixture.js';
import { waitFor } from '../wait.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

const until = <T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> =>
  waitFor(what, timeoutMs, probe, 50);

describe('trellis bgp run', function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-bgp-run-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects an invalid file naming the field, exit code 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'routerId: 10.0.0.1\nlocalAs: 65001\npeers:\n  - { address: 10.0.0.2, as: 0 }\n');
    const r = await execa('node', [MAIN, 'bgp', 'run', '-c', file], { reject: false });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /bad\.yaml: peers\[0\]\.as/);
  });

  describe('in a namespace (root)', () => {
    const namespaces = new TestNamespaces();
    let a: TestNs;
    let b: TestNs;
    let proc: ResultPromise | undefined;
    let peer: RunningSpeaker | undefined;

    before(function () {
      requireRoot(this);
    });

    beforeEach(() => {
      [a, b] = namespaces.pair('runa', 'runb', '10.98.0');
    });

    afterEach(async () => {
      proc?.kill('SIGKILL');
      await proc?.catch(() => undefined);
      proc = undefined;
      await peer?.stop();
      peer = undefined;
      namespaces.removeAll();
    });

    /** The CLI speaker in namespace a (announcing 10.51.0.0/24), peered with an in-process one in b. */
    async function startPair(flags: readonly string[]): Promise<{ socket: string; speaker: RunningSpeaker }> {
      const socket = path.join(dir, 'bgp.sock');
      const file = path.join(dir, 'speaker.yaml');
      writeFileSync(
        file,
        `routerId: 10.98.0.1
localAs: 65001
listen: { port: 0 }
controlSocket: ${socket}
peers:
  - { name: b, address: 10.98.0.2, as: 65002, holdTime: 9, keepaliveTime: 3 }
announcements:
  - { prefix: 10.51.0.0/24, communities: ['65001:1'] }
`,
      );
      const speaker = await runSpeaker(
        parseSpeakerConfig(
          `routerId: 10.98.0.2
localAs: 65002
listen: { address: 0.0.0.0, port: 179 }
kernel: { enabled: false }
peers:
  - { name: a, address: 10.98.0.1, as: 65001, passive: true }
`,
          'test',
        ),
        { netns: b.path },
      );
      peer = speaker;
      proc = execa('ip', ['netns', 'exec', a.name, 'node', MAIN, 'bgp', 'run', '-c', file, ...flags], {
        env: { TRELLIS_LOG_FORMAT: 'json' },
        reject: false,
      });
      await until('the route from the CLI speaker', () =>
        speaker.rib.bestPath('10.51.0.0/24') !== undefined ? true : undefined,
      );
      return { socket, speaker };
    }

    async function terminate(): Promise<void> {
      proc?.kill('SIGTERM');
      const result = await proc;
      proc = undefined;
      assert.equal(result?.exitCode, 0, String(result?.stderr));
    }

    it('announces from its file, answers `bgp peers`, and SIGTERM sends Cease with the shutdown text', async () => {
      const { socket, speaker } = await startPair([]);
      assert.deepEqual(speaker.speaker.routes('10.51.0.0/24')[0]?.paths[0]?.communities, ['65001:1']);

      const shown = await execa('node', [MAIN, 'bgp', 'peers', '-o', 'json', '--socket', socket]);
      const peers = JSON.parse(shown.stdout) as PeerStatus[];
      assert.equal(peers[0]?.name, 'b');
      assert.equal(peers[0]?.state, 'Established');
      assert.equal(peers[0]?.prefixesAdvertised, 1);

      await terminate();
      await until('the peer drops the route', () =>
        speaker.rib.bestPath('10.51.0.0/24') === undefined ? true : undefined,
      );
      assert.match(speaker.speaker.peers()[0]?.lastError ?? '', /Trellis BGP speaker shutting down/);
    });

    it('--graceful: SIGTERM sends no NOTIFICATION, so the graceful-restart peer keeps the route as stale', async () => {
      const { speaker } = await startPair(['--graceful']);
      await terminate();
      await until('the peer sees the session down', () =>
        speaker.speaker.peers()[0]?.state !== 'Established' ? true : undefined,
      );
      // Past the moment a Cease would have made the peer drop it.
      await new Promise((r) => setTimeout(r, 500));
      const held = speaker.speaker.routes('10.51.0.0/24')[0]?.paths[0];
      assert.ok(held !== undefined, 'the route survives the restart window');
      assert.doesNotMatch(speaker.speaker.peers()[0]?.lastError ?? '', /shutting down/);
    });
  });
});
