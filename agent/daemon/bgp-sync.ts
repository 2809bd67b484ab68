// The BGP speaker inside the agent, configured from the datastore: BGPConfiguration "default",
// BGPPeers, TrellisNodes and IPAMBlocks are translated (bgp/config/translate.ts) into this
// node's SpeakerConfig on every change; the first config starts the speaker, later ones
// reconfigure it (untouched sessions keep running), and a change reconfigure cannot apply
// (router id, AS, listener) restarts it. Level-triggered like the other reconcilers: every
// pass re-reads everything, so a missed event cannot leave the speaker behind.
import { readFile } from 'node:fs/promises';
import { BgpConfigError, familyOf, peerSelectsNode, type SpeakerConfig } from '../../bgp/config/index.js';
import type { KernelSyncStats } from '../../bgp/kernel/index.js';
import { type PeerStatus, runSpeaker, SpeakerReconfigureError } from '../../bgp/speaker/index.js';
import type { Datastore, Resource } from '../../src/datastore/types.js';
import type { Logger } from '../../src/log.js';
import {
  type BGPConfiguration,
  type BGPPeer,
  DEFAULT_BGP_CONFIGURATION,
  type PeerPassword,
  type TrellisNode,
} from '../../src/resources/index.js';
import { type IPAMBlock, KIND_BLOCK } from '../ipam/types.js';
import { type PasswordOutcome, type SkippedPeer, translateCluster } from './bgp-inputs.js';
import { CoalescedTask, startReconcileLoop } from './coalesce.js';
import type { AgentMetrics, BgpPeerSample } from './metrics.js';

/** What BgpSync needs of a running speaker (runSpeaker's, or a test's). */
export interface SpeakerHandle {
  reconfigure(config: SpeakerConfig): Promise<void>;
  peers(): readonly PeerStatus[];
  /** Kernel sync's counts; undefined when it is off. */
  kernelStats(): KernelSyncStats | undefined;
  /** Graceful: close sessions without a NOTIFICATION so peers keep our routes (RFC 4724). */
  stop(opts?: { readonly graceful?: boolean }): Promise<void>;
}

export type StartSpeaker = (config: SpeakerConfig) => Promise<SpeakerHandle>;

export interface BgpSyncOptions {
  node: string;
  datastore: Datastore;
  log: Logger;
  metrics?: AgentMetrics;
  /** Unix socket of the speaker's control API (`trellis bgp peers --socket`). */
  controlSocket?: string;
  /** Default: runSpeaker with kernel sync (routes with protocol 46) in this namespace. */
  startSpeaker?: StartSpeaker;
  /** Full re-read period. Default 30 s. */
  resyncMs?: number;
  /** How long changes are gathered before one pass. Default 20 ms. */
  coalesceMs?: number;
}

export const BGP_INPUT_KINDS = ['BGPConfiguration', 'BGPPeer', 'TrellisNode', KIND_BLOCK] as const;

export class BgpSync {
  readonly #o: BgpSyncOptions;
  readonly #task: CoalescedTask;
  readonly #startSpeaker: StartSpeaker;
  #loop: { stop(): void } | undefined;
  #speaker: SpeakerHandle | undefined;
  #config: SpeakerConfig | undefined;
  /** The last problem reported per peer (or for the whole node, key ''): each is logged once. */
  readonly #reported = new Map<string, string>();
  #stopped = false;
  #stopOptions: { readonly graceful?: boolean } = {};
  /** Resolves once the speaker runs with the datastore's configuration (readiness). */
  readonly started: Promise<void>;
  #markStarted: () => void = () => {};

  constructor(opts: BgpSyncOptions) {
    this.#o = opts;
    this.#startSpeaker =
      opts.startSpeaker ??
      (async (config) => {
        const running = await runSpeaker(config, { logger: opts.log });
        return {
          reconfigure: (next) => running.speaker.reconfigure(next),
          peers: () => running.speaker.peers(),
          kernelStats: () => running.speaker.kernelStats(),
          stop: (stopOpts) => running.stop(stopOpts),
        };
      });
    this.started = new Promise((resolve) => {
      this.#markStarted = resolve;
    });
    this.#task = new CoalescedTask(() => this.syncOnce(), {
      delayMs: opts.coalesceMs ?? 20,
      minIntervalMs: 0,
      onError: (err) => {
        opts.metrics?.errors.inc({ component: 'bgp' });
        opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'bgp sync failed');
      },
    });
    opts.metrics?.observeBgp({ sessions: () => this.samples(), kernel: () => this.#speaker?.kernelStats() });
  }

  start(): void {
    this.#loop = startReconcileLoop({
      datastore: this.#o.datastore,
      kinds: BGP_INPUT_KINDS,
      task: this.#task,
      resyncMs: this.#o.resyncMs ?? 30_000,
      log: this.#o.log,
    });
  }

  /** Stops watching and stops the speaker (graceful: see SpeakerHandle.stop). */
  async stop(opts: { readonly graceful?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    this.#stopOptions = opts;
    this.#loop?.stop();
    this.#task.stop();
    const speaker = this.#speaker;
    this.#speaker = undefined;
    await speaker?.stop(opts);
  }

  /** The configuration the speaker runs with; undefined before it started. */
  get config(): SpeakerConfig | undefined {
    return this.#config;
  }

  peers(): readonly PeerStatus[] {
    return this.#speaker?.peers() ?? [];
  }

  /** The sessions as the metrics report them; an agent session carries its address's family. */
  samples(): BgpPeerSample[] {
    return this.peers().map((p) => ({
      peer: p.name,
      family: familyOf(p.address),
      state: p.state,
      received: p.prefixesReceived,
      advertised: p.prefixesAdvertised,
    }));
  }

  /** One full pass: read, translate, start or reconfigure; also what tests call to converge. */
  async syncOnce(): Promise<void> {
    const { datastore, node } = this.#o;
    const [configurations, peers, nodes, blocks] = await Promise.all([
      datastore.list<BGPConfiguration>('BGPConfiguration'),
      datastore.list<BGPPeer>('BGPPeer'),
      datastore.list<TrellisNode>('TrellisNode'),
      datastore.list<IPAMBlock>(KIND_BLOCK),
    ]);
    const self = nodes.items.find((n) => n.metadata.name === node);
    const mine = self === undefined ? [] : peers.items.filter((p) => peerSelectsNode(p, self));
    const passwords = await this.#passwords(mine);
    const configuration = configurations.items.find(
      (c) => c.metadata.name === DEFAULT_BGP_CONFIGURATION,
    )?.spec;
    let translation: ReturnType<typeof translateCluster>;
    try {
      translation = translateCluster(
        {
          nodeName: node,
          ...(configuration === undefined ? {} : { configuration }),
          nodes: nodes.items,
          peers: mine,
          blocks: blocks.items,
          ...(this.#o.controlSocket === undefined ? {} : { controlSocket: this.#o.controlSocket }),
        },
        passwords,
      );
    } catch (err) {
      if (!(err instanceof BgpConfigError)) throw err;
      // Nothing a skip can fix (e.g. no TrellisNode yet): keep running what we run.
      this.#report('', err.message);
      return;
    }
    this.#reportSkipped(translation.skipped);
    await this.#apply(translation.config);
  }

  async #apply(config: SpeakerConfig): Promise<void> {
    if (this.#stopped) return;
    if (this.#speaker === undefined) {
      if (!(await this.#launch(config))) return;
      this.#config = config;
      this.#o.log.info({ peers: config.peers.length, as: config.localAs }, 'bgp speaker running');
      this.#markStarted();
      return;
    }
    if (JSON.stringify(config) === JSON.stringify(this.#config)) return;
    const running = this.#speaker;
    try {
      await running.reconfigure(config);
    } catch (err) {
      if (!(err instanceof SpeakerReconfigureError)) throw err;
      if (this.#speaker !== running) return; // stop() took it meanwhile
      this.#o.log.info({ reason: err.message }, 'bgp speaker restarting for a new identity or listener');
      this.#speaker = undefined;
      // Not graceful: our identity changed, so peers must not keep the old speaker's routes.
      await running.stop();
      if (!(await this.#launch(config))) return;
    }
    this.#config = config;
  }

  /** Starts a speaker; false when stop() came meanwhile (then the new speaker is stopped too). */
  async #launch(config: SpeakerConfig): Promise<boolean> {
    const speaker = await this.#startSpeaker(config);
    if (this.#stopped) {
      await speaker.stop(this.#stopOptions);
      return false;
    }
    this.#speaker = speaker;
    return true;
  }

  async #passwords(peers: readonly BGPPeer[]): Promise<Map<string, PasswordOutcome>> {
    const out = new Map<string, PasswordOutcome>();
    await Promise.all(
      peers.map(async (peer) => {
        const password = peer.spec.password;
        if (password === undefined) return;
        out.set(peer.metadata.name, await this.#readPassword(password, peer));
      }),
    );
    return out;
  }

  async #readPassword(password: PeerPassword, peer: BGPPeer): Promise<PasswordOutcome> {
    const at = `BGPPeer/${peer.metadata.name}.spec.password`;
    if (password.file !== undefined) {
      try {
        // A trailing newline is the editor's, not part of the key.
        return { password: (await readFile(password.file, 'utf8')).replace(/\r?\n$/, '') };
      } catch (err) {
        return { error: `${at}.file: cannot read ${password.file}: ${(err as Error).message}` };
      }
    }
    const ref = password.secretKeyRef;
    if (ref === undefined) return { error: `${at}: neither file nor secretKeyRef given` };
    const where = `${at}.secretKeyRef`;
    let secret:
      | (Resource & { data?: Record<string, string>; stringData?: Record<string, string> })
      | undefined;
    try {
      secret = await this.#o.datastore.get('Secret', ref.name, ref.namespace ?? 'default');
    } catch (err) {
      return {
        error: `${where}: this datastore cannot read Secrets (${(err as Error).message}); use password.file`,
      };
    }
    if (secret === undefined)
      return { error: `${where}: Secret ${ref.namespace ?? 'default'}/${ref.name} not found` };
    const text = secret.stringData?.[ref.key];
    if (text !== undefined) return { password: text };
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) return { error: `${where}.key: Secret ${ref.name} has no key "${ref.key}"` };
    return { password: Buffer.from(encoded, 'base64').toString('utf8') };
  }

  #reportSkipped(skipped: readonly SkippedPeer[]): void {
    const now = new Set(skipped.map((s) => s.peer));
    for (const key of [...this.#reported.keys()]) if (key !== '' && !now.has(key)) this.#reported.delete(key);
    this.#reported.delete('');
    for (const s of skipped) this.#report(s.peer, s.error);
  }

  /** Logs a problem once while it lasts: passes repeat every few seconds. */
  #report(key: string, error: string): void {
    if (this.#reported.get(key) === error) return;
    this.#reported.set(key, error);
    this.#o.metrics?.errors.inc({ component: 'bgp' });
    if (key === '')
      this.#o.log.error({ error }, 'bgp configuration not applied; the speaker keeps its last one');
    else this.#o.log.error({ peer: key, error }, 'invalid BGP peer skipped');
  }
}
