// BgpSpeaker: assembles the RIB, one session per peer, kernel sync, our announcements and the
// control API, and reconfigures them at runtime without restarting untouched sessions.
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import type { PeerConfig, SpeakerConfig } from '../config/index.js';
import {
  KernelSync,
  type KernelSyncStats,
  type LinkChanges,
  type NextHopTable,
  type RouteTable,
} from '../kernel/index.js';
import { fromConfigPolicies } from '../policy/index.js';
import { diffPeers, localRoutesOf } from './announcements.js';
import { ControlServer } from './control.js';
import { kernelRouteOf } from './forwarding.js';
import type { LocRibChange, SessionFactory, SpeakerRib, SpeakerSession } from './ports.js';
import { ConvergenceTracker } from './restart.js';
import type { KernelStatus, PeerStatus, RouteStatus } from './status.js';

export interface BgpSpeakerOptions {
  readonly config: SpeakerConfig;
  readonly rib: SpeakerRib;
  readonly createSession: SessionFactory;
  /** Where kernel sync installs routes (a RouteNetlink); required when config.kernel.enabled. */
  readonly routes?: RouteTable;
  /** Nexthop objects for kernel sync (the same RouteNetlink); absent: routes name their gateways. */
  readonly nextHops?: NextHopTable;
  /** Link notifications (a LinkMonitor): kernel sync resyncs when an interface comes back up. */
  readonly links?: LinkChanges;
  readonly logger?: Logger;
}

/** A configuration change that needs a speaker restart (identity or listener). */
export class SpeakerReconfigureError extends Error {
  override readonly name = 'SpeakerReconfigureError';
}

const SHUTDOWN_TEXT = 'Trellis BGP speaker shutting down';

export class BgpSpeaker {
  #config: SpeakerConfig;
  readonly #rib: SpeakerRib;
  readonly #createSession: SessionFactory;
  readonly #kernel: KernelSync | undefined;
  readonly #log: Logger;
  readonly #sessions = new Map<string, SpeakerSession>();
  readonly #restarting: boolean;
  readonly #convergence: ConvergenceTracker;
  #control: ControlServer | undefined;
  /** Set by stop(): peers leaving the RIB then must not pull our routes out of the kernel. */
  #stopping = false;

  private constructor(opts: BgpSpeakerOptions) {
    this.#config = opts.config;
    this.#rib = opts.rib;
    this.#createSession = opts.createSession;
    this.#log = opts.logger ?? silentLogger;
    const gr = opts.config.gracefulRestartTime > 0;
    if (opts.config.kernel.enabled) {
      if (opts.routes === undefined)
        throw new TypeError('kernel sync is enabled but no route table was given');
      this.#kernel = new KernelSync({
        routes: opts.routes,
        ...(opts.nextHops !== undefined && { nextHops: opts.nextHops }),
        ...(opts.links !== undefined && { links: opts.links }),
        table: opts.config.kernel.table,
        metric: opts.config.kernel.metric,
        resyncIntervalMs: opts.config.kernel.resyncInterval * 1000,
        logger: this.#log,
      });
      this.#kernel.start({ keepStale: gr });
    }
    // A real restart is one that finds our previous run's routes still forwarding: only then
    // may peers be told (restart bit) to keep ours, and only then do we wait for their EoR.
    this.#restarting = gr && this.#kernel !== undefined && this.#kernel.stats().installed > 0;
    const expected = this.#restarting
      ? opts.config.peers
          .filter((p) => p.gracefulRestart.enabled)
          .flatMap((p) => p.families.map((family) => ({ peer: p.name, family })))
      : [];
    this.#convergence = new ConvergenceTracker(expected, opts.config.gracefulRestartTime * 1000, () =>
      this.#sweep(),
    );
  }

  /** Starts kernel sync, announcements, sessions and (if configured) the control socket. */
  static async start(opts: BgpSpeakerOptions): Promise<BgpSpeaker> {
    const speaker = new BgpSpeaker(opts);
    speaker.#rib.onChange((change) => speaker.#onRibChange(change));
    speaker.#rib.setLocalRoutes(localRoutesOf(opts.config.announcements));
    for (const peer of opts.config.peers) speaker.#startSession(peer);
    if (opts.config.controlSocket !== undefined) {
      speaker.#control = await ControlServer.listen(opts.config.controlSocket, {
        peers: () => speaker.peers(),
        routes: (prefix) => speaker.routes(prefix),
        kernel: () => speaker.kernelStatus(),
      });
    }
    speaker.#log.info(
      {
        peers: opts.config.peers.length,
        announcements: opts.config.announcements.length,
        restarting: speaker.#restarting,
      },
      'bgp speaker started',
    );
    return speaker;
  }

  get restarting(): boolean {
    return this.#restarting;
  }

  get converged(): boolean {
    return this.#convergence.converged;
  }

  peers(): PeerStatus[] {
    return [...this.#sessions.values()].map((s) => s.status());
  }

  routes(prefix?: string): readonly RouteStatus[] {
    return this.#rib.routes(prefix);
  }

  /** Kernel sync's counts; undefined when kernel sync is off. */
  kernelStats(): KernelSyncStats | undefined {
    return this.#kernel?.stats();
  }

  /** Kernel sync's counts and refused prefixes, for the control API. */
  kernelStatus(): KernelStatus {
    if (this.#kernel === undefined) return { enabled: false };
    const { desired, installed, stale, pending, failed, repaired } = this.#kernel.stats();
    const { table, metric } = this.#config.kernel;
    return {
      enabled: true,
      table,
      metric,
      desired,
      installed,
      stale,
      pending,
      failed,
      repaired,
      failures: this.#kernel.failures().map((f) => ({
        prefix: f.dst,
        error:
          f.error.kernelMessage === undefined ? f.error.code : `${f.error.code}: ${f.error.kernelMessage}`,
      })),
    };
  }

  /**
   * Applies a new configuration: removed and changed peers' sessions stop (Cease), added and
   * changed ones start, untouched sessions keep running; changed policies are re-applied to
   * every peer's routes; the announcement set is replaced and the RIB sends only the
   * difference. Router id, AS, listener and kernel settings need a restart.
   */
  async reconfigure(config: SpeakerConfig): Promise<void> {
    const fixed = ['routerId', 'localAs', 'listen', 'kernel', 'clusterId', 'controlSocket'] as const;
    const moved = fixed.filter((k) => JSON.stringify(this.#config[k]) !== JSON.stringify(config[k]));
    if (moved.length > 0) {
      throw new SpeakerReconfigureError(`changing ${moved.join(', ')} needs a speaker restart`);
    }
    // Parsed before anything changes: a policy that does not parse leaves the speaker as it was.
    const policies =
      JSON.stringify(this.#config.policies) === JSON.stringify(config.policies)
        ? undefined
        : fromConfigPolicies(config.policies);
    const changes = diffPeers(this.#config.peers, config.peers);
    this.#config = config;
    await Promise.all(
      [...changes.removed, ...changes.changed].map(async (p) => {
        const session = this.#sessions.get(p.name);
        this.#sessions.delete(p.name);
        this.#convergence.forget(p.name);
        await session?.stop('Trellis peer configuration changed');
      }),
    );
    // A stop() while the old sessions were closing owns the speaker now: start nothing new.
    if (this.#stopping) return;
    // After the old peers left (they may name policies that are gone) and before the new ones
    // join (they may name policies that are new).
    if (policies !== undefined) this.#rib.setPolicies(policies);
    for (const p of [...changes.added, ...changes.changed]) this.#startSession(p);
    this.#rib.setLocalRoutes(localRoutesOf(config.announcements));
    this.#log.info(
      {
        added: changes.added.length,
        removed: changes.removed.length,
        changed: changes.changed.length,
        policiesChanged: policies !== undefined,
      },
      'bgp speaker reconfigured',
    );
  }

  /**
   * Stops every session. Plain: a Cease (admin shutdown) to each peer, which then drops our
   * routes. Graceful (RFC 4724, needs gracefulRestartTime > 0): the connections close with no
   * NOTIFICATION, so helper peers keep our routes as stale until we are back. With graceful
   * restart configured our kernel routes stay either way, so this node keeps forwarding while
   * it restarts; without it they are removed.
   */
  async stop(opts: { readonly graceful?: boolean } = {}): Promise<void> {
    const graceful = opts.graceful === true && this.#config.gracefulRestartTime > 0;
    this.#convergence.cancel();
    this.#kernel?.flush();
    this.#stopping = true;
    await Promise.all([...this.#sessions.values()].map((s) => s.stop(SHUTDOWN_TEXT, { graceful })));
    this.#sessions.clear();
    await this.#control?.close();
    if (this.#kernel !== undefined) {
      if (this.#config.gracefulRestartTime === 0) this.#kernel.removeAll();
      this.#kernel.close();
    }
    this.#log.info({ graceful }, 'bgp speaker stopped');
  }

  #startSession(peer: PeerConfig): void {
    const session = this.#createSession(peer, {
      config: this.#config,
      rib: this.#rib,
      restarting: this.#restarting,
      events: { endOfRib: (name, family) => this.#convergence.endOfRib(name, family) },
    });
    this.#sessions.set(peer.name, session);
  }

  #onRibChange(change: LocRibChange): void {
    if (this.#kernel === undefined || this.#stopping) return;
    const route = kernelRouteOf(change);
    if (route === undefined) this.#kernel.delete(change.key);
    else this.#kernel.set(route);
  }

  #sweep(): void {
    if (this.#kernel === undefined) return;
    const result = this.#kernel.sweepStale();
    this.#log.info(
      { removed: result.deleted, repaired: result.replaced, waitedFor: this.#convergence.waitingFor() },
      'bgp: RIB converged, stale kernel routes swept',
    );
  }
}
