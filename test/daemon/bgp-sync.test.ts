// BgpSync without root: a FileDatastore in a temp dir and a fake speaker. The speaker starts
// with the datastore's configuration, follows changes with reconfigure, restarts on identity
// changes, skips (and names) bad peers without stopping the rest, and feeds the metrics.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { BgpSync, type SpeakerHandle } from '../../agent/daemon/bgp-sync.js';
import { AgentMetrics } from '../../agent/daemon/metrics.js';
import type { SpeakerConfig } from '../../bgp/config/index.js';
import type { KernelSyncStats } from '../../bgp/kernel/index.js';
import { type PeerStatus, SpeakerReconfigureError } from '../../bgp/speaker/index.js';
import { FileDatastore } from '../../src/datastore/file.js';
import type { Resource } from '../../src/datastore/types.js';
import { validateResource } from '../../src/resources/index.js';
import { waitFor } from '../wait.js';

const node = (name: string, ipv4: string, extra: object = {}): Resource => ({
  apiVersion: 'trellis.network/v1',
  kind: 'TrellisNode',
  metadata: { name },
  spec: { addresses: { ipv4 }, ...extra },
});

const block = (cidr: string, affinity: string, allocations: unknown[] = []): Resource => ({
  apiVersion: 'trellis.network/v1',
  kind: 'IPAMBlock',
  metadata: { name: cidr.replace(/[./:]/g, '-') },
  spec: { cidr, pool: 'p', affinity, allocations, unallocated: [], nextSeq: 10 },
});

const peer = (name: string, spec: object): Resource => ({
  apiVersion: 'trellis.network/v1',
  kind: 'BGPPeer',
  metadata: { name },
  spec,
});

/** Records what BgpSync asks of its speakers; `refuse` makes reconfigure demand a restart. */
class FakeSpeakers {
  readonly started: SpeakerConfig[] = [];
  readonly reconfigured: SpeakerConfig[] = [];
  readonly stopped: { graceful: boolean }[] = [];
  states = new Map<string, string>();
  kernel: KernelSyncStats | undefined;

  start = async (config: SpeakerConfig): Promise<SpeakerHandle> => {
    this.started.push(config);
    let current = config;
    return {
      reconfigure: async (next) => {
        if (next.localAs !== current.localAs) throw new SpeakerReconfigureError('changing localAs');
        this.reconfigured.push(next);
        current = next;
      },
      peers: (): PeerStatus[] =>
        current.peers.map((p) => ({
          name: p.name,
          address: p.address,
          as: p.as,
          state: this.states.get(p.name) ?? 'Active',
          prefixesReceived: 3,
          prefixesAccepted: 3,
          prefixesAdvertised: 1,
        })),
      kernelStats: () => this.kernel,
      stop: async (opts) => {
        this.stopped.push({ graceful: opts?.graceful === true });
      },
    };
  };
}

describe('agent BgpSync (fake speaker, file datastore)', () => {
  let dir: string;
  let store: FileDatastore;
  let speakers: FakeSpeakers;
  let logs: { msg: string; peer?: string; error?: string }[];
  let sync: BgpSync;
  let metrics: AgentMetrics;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trl-bgpsync-'));
    store = await FileDatastore.open(join(dir, 'store'), { validate: validateResource });
    await store.create(node('n1', '10.252.0.11/24'));
    await store.create(node('n2', '10.252.0.12/24'));
    await store.create(block('10.248.0.0/26', 'n1'));
    await store.create(
      block('10.248.0.64/26', 'n2', [{ ordinal: 5, handle: 'h', seq: 1, attributes: { node: 'n1' } }]),
    );
    speakers = new FakeSpeakers();
    logs = [];
    metrics = new AgentMetrics();
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    sync = new BgpSync({
      node: 'n1',
      datastore: store,
      log,
      metrics,
      controlSocket: join(dir, 'bgp.sock'),
      startSpeaker: speakers.start,
    });
  });

  afterEach(async () => {
    await sync.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the speaker with the defaults: AS 64512, the mesh, its blocks and borrowed addresses', async () => {
    await sync.syncOnce();
    await sync.started;
    assert.equal(speakers.started.length, 1);
    const cfg = speakers.started[0]!;
    assert.equal(cfg.localAs, 64512);
    assert.equal(cfg.routerId, '10.252.0.11');
    assert.equal(cfg.kernel.enabled, true);
    assert.equal(cfg.controlSocket, join(dir, 'bgp.sock'));
    assert.deepEqual(
      cfg.peers.map((p) => `${p.name} ${p.address} ${p.as} ${p.passive ? 'passive' : 'active'}`),
      ['n2-ipv4 10.252.0.12 64512 passive'],
    );
    assert.deepEqual(cfg.announcements.map((a) => a.prefix).sort(), ['10.248.0.0/26', '10.248.0.69/32']);
  });

  it('follows the datastore by itself: a new node is a new peer, a deleted block is withdrawn', async () => {
    sync.start();
    await sync.started;
    await store.create(node('n3', '10.252.0.13/24'));
    await store.delete('IPAMBlock', '10-248-0-0-26');
    await until(() => {
      const last = speakers.reconfigured.at(-1);
      return last !== undefined && last.peers.length === 2 && last.announcements.length === 1;
    });
    const last = speakers.reconfigured.at(-1)!;
    assert.deepEqual(
      last.peers.map((p) => `${p.name} ${p.passive ? 'passive' : 'active'}`),
      ['n2-ipv4 passive', 'n3-ipv4 passive'],
    );
    assert.deepEqual(
      last.announcements.map((a) => a.prefix),
      ['10.248.0.69/32'],
    );
    assert.equal(speakers.started.length, 1, 'reconfigured, not restarted');
  });

  it('an unchanged datastore does not reconfigure the speaker', async () => {
    await sync.syncOnce();
    await sync.syncOnce();
    assert.equal(speakers.reconfigured.length, 0);
  });

  it('restarts the speaker (plain stop, Cease) when the AS changes', async () => {
    await sync.syncOnce();
    await store.create({
      apiVersion: 'trellis.network/v1',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { asNumber: 65010 },
    });
    await sync.syncOnce();
    assert.deepEqual(
      speakers.started.map((c) => c.localAs),
      [64512, 65010],
    );
    assert.deepEqual(speakers.stopped, [{ graceful: false }]);
    assert.equal(sync.config?.localAs, 65010);
  });

  it('a per-rack ASN on a node makes its sessions eBGP', async () => {
    const n2 = await store.get<Resource<{ addresses: object; asNumber?: number }>>('TrellisNode', 'n2');
    await store.update({ ...n2!, spec: { ...n2!.spec, asNumber: 65002 } });
    await sync.syncOnce();
    assert.deepEqual(
      speakers.started[0]!.peers.map((p) => p.as),
      [65002],
    );
  });

  it('ToR BGPPeers with a password file and from a Secret; a bad peer is skipped with its field named, the rest run', async () => {
    const secretFile = join(dir, 'tor-password');
    writeFileSync(secretFile, 's3cret\n');
    await store.create(
      peer('tor', { peerIP: '10.252.0.1', asNumber: 65100, password: { file: secretFile } }),
    );
    await store.create(
      peer('lost-file', { peerIP: '10.252.0.2', asNumber: 65100, password: { file: '/nonexistent/pw' } }),
    );
    await store.create(
      peer('via-secret', {
        peerIP: '10.252.0.3',
        asNumber: 65100,
        password: { secretKeyRef: { name: 'bgp', key: 'pw' } },
      }),
    );
    await store.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bgp-rack1', namespace: 'trellis-system' },
      data: { pw: Buffer.from('from-a-secret').toString('base64') },
    });
    await store.create(
      peer('tor-secret', {
        peerIP: '10.252.0.6',
        asNumber: 65100,
        password: { secretKeyRef: { name: 'bgp-rack1', namespace: 'trellis-system', key: 'pw' } },
      }),
    );
    // Valid as a resource, refused by the speaker: hold 3 s under the cluster's 30 s keepalive.
    await store.create(peer('short-hold', { peerIP: '10.252.0.4', asNumber: 65100, holdTime: 3 }));
    await store.create(peer('other-node', { peerIP: '10.252.0.5', asNumber: 65100, node: 'n2' }));
    await sync.syncOnce();
    const cfg = speakers.started[0]!;
    assert.deepEqual(
      cfg.peers.map((p) => p.name),
      ['n2-ipv4', 'tor', 'tor-secret'],
    );
    assert.equal(cfg.peers.find((p) => p.name === 'tor')!.password, 's3cret');
    assert.equal(cfg.peers.find((p) => p.name === 'tor-secret')!.password, 'from-a-secret');
    const skipped = new Map(
      logs.filter((l) => l.msg === 'invalid BGP peer skipped').map((l) => [l.peer, l.error ?? '']),
    );
    assert.deepEqual([...skipped.keys()].sort(), ['lost-file', 'short-hold', 'via-secret']);
    assert.match(
      skipped.get('lost-file')!,
      /BGPPeer\/lost-file\.spec\.password\.file: cannot read \/nonexistent\/pw/,
    );
    assert.match(
      skipped.get('via-secret')!,
      /BGPPeer\/via-secret\.spec\.password\.secretKeyRef: Secret default\/bgp not found/,
    );
    assert.match(skipped.get('short-hold')!, /keepalive|hold/i);
    await sync.syncOnce();
    assert.equal(
      logs.filter((l) => l.msg === 'invalid BGP peer skipped').length,
      3,
      'a lasting problem is logged once, not on every pass',
    );
  });

  it('without its own TrellisNode it starts nothing and says why; it starts once the node appears', async () => {
    await store.delete('TrellisNode', 'n1');
    await sync.syncOnce();
    assert.equal(speakers.started.length, 0);
    assert.match(
      logs.find((l) => l.msg.startsWith('bgp configuration not applied'))?.error ?? '',
      /TrellisNode\/n1/,
    );
    await store.create(node('n1', '10.252.0.11/24'));
    await sync.syncOnce();
    assert.equal(speakers.started.length, 1);
  });

  it('stop({ graceful: true }) reaches the speaker', async () => {
    await sync.syncOnce();
    await sync.stop({ graceful: true });
    assert.deepEqual(speakers.stopped, [{ graceful: true }]);
  });

  it('a stop while the speaker is starting stops that speaker too (nothing left running)', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let starting = false;
    const slow = new BgpSync({
      node: 'n1',
      datastore: store,
      log: pino({ level: 'silent' }),
      startSpeaker: async (config) => {
        starting = true;
        await gate;
        return speakers.start(config);
      },
    });
    const pass = slow.syncOnce();
    await until(() => starting);
    const stopping = slow.stop({ graceful: true });
    release();
    await Promise.all([pass, stopping]);
    assert.equal(speakers.started.length, 1);
    assert.deepEqual(speakers.stopped, [{ graceful: true }]);
    assert.deepEqual(slow.peers(), []);
  });

  it('exposes session state and prefix counts as Prometheus gauges', async () => {
    await sync.syncOnce();
    speakers.states.set('n2-ipv4', 'Established');
    const text = await metrics.registry.metrics();
    assert.match(text, /^trellis_bgp_session_established\{peer="n2-ipv4"\} 1$/m);
    assert.match(text, /^trellis_bgp_session_state\{peer="n2-ipv4",state="Established"\} 1$/m);
    assert.match(text, /^trellis_bgp_session_state\{peer="n2-ipv4",state="Active"\} 0$/m);
    assert.match(text, /^trellis_bgp_prefixes_received\{peer="n2-ipv4",family="ipv4"\} 3$/m);
    assert.match(text, /^trellis_bgp_prefixes_advertised\{peer="n2-ipv4",family="ipv4"\} 1$/m);
    await store.delete('TrellisNode', 'n2');
    await sync.syncOnce();
    assert.doesNotMatch(await metrics.registry.metrics(), /n2-ipv4/, 'a removed peer leaves the metrics');
  });

  it('exposes kernel sync route counts and repairs, none while kernel sync is off', async () => {
    await sync.syncOnce();
    assert.doesNotMatch(await metrics.registry.metrics(), /^trellis_bgp_kernel_routes\{/m);
    assert.match(await metrics.registry.metrics(), /^trellis_bgp_kernel_routes_repaired_total 0$/m);
    speakers.kernel = {
      desired: 7,
      installed: 6,
      stale: 2,
      pending: 1,
      inFlight: 0,
      failed: 1,
      batches: 4,
      repaired: 5,
    };
    const text = await metrics.registry.metrics();
    for (const [state, n] of [
      ['desired', 7],
      ['installed', 6],
      ['stale', 2],
      ['pending', 1],
      ['failed', 1],
    ] as const) {
      assert.match(text, new RegExp(`^trellis_bgp_kernel_routes\\{state="${state}"\\} ${n}$`, 'm'));
    }
    assert.match(text, /^trellis_bgp_kernel_routes_repaired_total 5$/m);
  });
});

const until = (done: () => boolean, timeoutMs = 5000): Promise<true> =>
  waitFor('the condition', timeoutMs, () => (done() ? true : undefined), 20);
