// One configured peer wired between a real BgpSession and the Rib: Established -> peerUp,
// UPDATE -> receive, the peer's Adj-RIB-Out drained into packed UPDATEs whenever the RIB queues
// changes for it, session down -> peerDown (stale paths kept under graceful restart).
import type { Logger } from '../../src/log.js';
import {
  CeaseSubcode,
  type DecodedUpdate,
  encodeMessage,
  endOfRib,
  type IpFamily,
  packUpdates,
  packWithdrawals,
  type RouteRefreshMessage,
  RouteRefreshSubtype,
} from '../codec/index.js';
import type { PeerConfig, SpeakerConfig } from '../config/index.js';
import { findSessionInterface } from '../kernel/index.js';
import type { OutboundBatch, ReceiveResult, SessionInfo } from '../rib/index.js';
import {
  BgpSession,
  type Negotiated,
  resolveSessionConfig,
  type SessionConfig,
  type SessionConsumer,
  type SessionDownReason,
  transportDialer,
} from '../session/index.js';
import type { BgpListener } from '../transport/index.js';
import type { SessionEvents, SpeakerSession } from './ports.js';
import type { PeerStatus } from './status.js';

/** The part of bgp/rib's Rib a peer link drives. */
export interface PeerRib {
  addPeer(settings: {
    readonly id: string;
    readonly address: string;
    readonly asn: number;
    readonly rrClient?: boolean;
    readonly nextHopMode?: PeerConfig['nextHop'];
    readonly importPolicy?: string;
    readonly exportPolicy?: string;
  }): void;
  removePeer(id: string): void;
  peerUp(id: string, session: SessionInfo, notify: () => void): void;
  peerDown(id: string, staleFamilies?: readonly IpFamily[]): void;
  sweepStale(id: string, family?: IpFamily): number;
  receive(id: string, update: DecodedUpdate): ReceiveResult;
  takeOutbound(id: string): OutboundBatch[];
  refresh(id: string): void;
  counts(id: string): { readonly received: number; readonly accepted: number; readonly advertised: number };
}

/** The part of the BGP listener a peer link uses: registering the peer's incoming connections. */
export type PeerListener = Pick<BgpListener, 'addPeer' | 'removePeer'>;

export interface PeerLinkOptions {
  readonly peer: PeerConfig;
  readonly config: SpeakerConfig;
  readonly rib: PeerRib;
  readonly restarting: boolean;
  readonly events: SessionEvents;
  /** Accepts the peer's incoming connections; absent: we only dial. */
  readonly listener?: PeerListener;
  /** Network namespace file our sockets are made in (tests, labs). */
  readonly netns?: string;
  readonly logger: Logger;
}

/** The session settings of a configured peer: our identity, its timers, GR and families. */
export function sessionConfigOf(peer: PeerConfig, config: SpeakerConfig, restarting: boolean): SessionConfig {
  const gr = config.gracefulRestartTime > 0 && peer.gracefulRestart.enabled;
  return resolveSessionConfig({
    name: peer.name,
    peerAddress: peer.address,
    peerPort: peer.port,
    peerAs: peer.as,
    localAs: config.localAs,
    routerId: config.routerId,
    passive: peer.passive,
    holdTime: peer.holdTime,
    ...(peer.holdTime > 0 && { keepaliveTime: peer.keepaliveTime }),
    ...(peer.sourceAddress !== undefined && { localAddress: peer.sourceAddress }),
    ...(peer.password !== undefined && { password: peer.password }),
    capabilities: {
      families: peer.families,
      ...(gr && {
        gracefulRestart: {
          restartTime: config.gracefulRestartTime,
          restarting,
          // Only a speaker that programs the kernel keeps forwarding while it restarts.
          forwardingPreserved: config.kernel.enabled,
        },
      }),
    },
  });
}

/**
 * Families whose paths outlive the session (RFC 4724 4.2, RFC 8538): GR negotiated, and the
 * session died without a NOTIFICATION, or with one while the N bit was agreed (not Hard Reset).
 */
export function staleFamiliesOf(reason: SessionDownReason, negotiated: Negotiated | undefined): IpFamily[] {
  const gr = negotiated?.gracefulRestart;
  if (gr === undefined) return [];
  if (reason.kind !== 'connection-lost') {
    const hardReset =
      reason.notification.code === 6 && reason.notification.subcode === CeaseSubcode.HARD_RESET;
    if (!gr.peerNotification || hardReset) return [];
  }
  return gr.families.map((f) => f.family);
}

/** UPDATE messages for one Adj-RIB-Out batch, encoded with the session's negotiated options. */
export function encodeBatch(batch: OutboundBatch, negotiated: Negotiated): Buffer[] {
  switch (batch.kind) {
    case 'announce':
      return packUpdates(batch.attributes, batch.prefixes, negotiated.codec);
    case 'withdraw':
      return packWithdrawals(batch.prefixes, negotiated.codec);
    case 'end-of-rib':
      return [encodeMessage(endOfRib(batch.family), negotiated.codec)];
  }
}

export class PeerLink implements SpeakerSession, SessionConsumer {
  readonly #peer: PeerConfig;
  readonly #rib: PeerRib;
  readonly #events: SessionEvents;
  readonly #listener: PeerListener | undefined;
  readonly #log: Logger;
  readonly #session: BgpSession;
  readonly #netns: string | undefined;
  #negotiated: Negotiated | undefined;
  /** The RIB has queued changes for this peer since the last drain began. */
  #dirty = false;
  #draining = false;
  #staleTimer: NodeJS.Timeout | undefined;
  /** Families whose paths from the last session are kept stale, until End-of-RIB or the timer. */
  #staleFamilies: IpFamily[] = [];
  #stopped = false;

  constructor(opts: PeerLinkOptions) {
    this.#peer = opts.peer;
    this.#rib = opts.rib;
    this.#events = opts.events;
    this.#listener = opts.listener;
    this.#log = opts.logger.child({ peer: opts.peer.name });
    this.#netns = opts.netns;
    const config = sessionConfigOf(opts.peer, opts.config, opts.restarting);
    opts.rib.addPeer({
      id: opts.peer.name,
      address: opts.peer.address,
      asn: opts.peer.as,
      rrClient: opts.peer.routeReflectorClient,
      nextHopMode: opts.peer.nextHop,
      ...(opts.peer.importPolicy !== undefined && { importPolicy: opts.peer.importPolicy }),
      ...(opts.peer.exportPolicy !== undefined && { exportPolicy: opts.peer.exportPolicy }),
    });
    this.#session = new BgpSession(config, this, {
      ...(!config.passive && { dial: transportDialer(config, { netns: opts.netns }) }),
      logger: opts.logger,
    });
    // Every peer is registered, not only passive ones: an active peer may still dial us, and
    // collision detection needs to see that connection.
    opts.listener?.addPeer(opts.peer.address, {
      ...(opts.peer.password !== undefined && { password: opts.peer.password }),
      accept: (socket) => this.#session.accept(socket),
    });
    this.#session.start();
  }

  status(): PeerStatus {
    const s = this.#session.status();
    const counts = this.#rib.counts(this.#peer.name);
    return {
      name: this.#peer.name,
      address: this.#peer.address,
      as: this.#peer.as,
      state: s.state,
      ...(s.uptimeMs !== undefined && { uptimeSeconds: Math.floor(s.uptimeMs / 1000) }),
      prefixesReceived: counts.received,
      prefixesAccepted: counts.accepted,
      prefixesAdvertised: counts.advertised,
      ...(s.lastError !== undefined && { lastError: s.lastError }),
    };
  }

  /**
   * Cease with `reason` (graceful: a bare TCP close, no NOTIFICATION, so the peer keeps our
   * routes as stale), then the peer leaves the RIB (its paths with it).
   */
  async stop(reason: string, opts: { readonly graceful?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clearStaleTimer();
    this.#listener?.removePeer(this.#peer.address);
    if (opts.graceful === true) await this.#session.close();
    else await this.#session.stop(reason);
    this.#rib.removePeer(this.#peer.name);
  }

  // ---- SessionConsumer ---------------------------------------------------------------------

  onEstablished(negotiated: Negotiated): void {
    this.#negotiated = negotiated;
    this.#log.info({ families: negotiated.families, hold: negotiated.holdTime }, 'bgp peer established');
    // IPv6 only: the peer's link-local next hops need the session's interface, and an on-link
    // peer gets our link-local next hop beside the global one (RFC 2545 3).
    const link = negotiated.families.includes('ipv6')
      ? findSessionInterface(negotiated.localAddress, this.#peer.address, this.#netns)
      : undefined;
    this.#rib.peerUp(
      this.#peer.name,
      {
        routerId: negotiated.peerRouterId,
        families: negotiated.families,
        // Our next hop is our address on the session; the config only allows families of its kind.
        addresses: Object.fromEntries(
          negotiated.families.map((f) => [
            f,
            {
              nextHop: negotiated.localAddress,
              ...(f === 'ipv6' && link?.linkLocal !== undefined && { linkLocalNextHop: link.linkLocal }),
            },
          ]),
        ),
        ...(link !== undefined && { ifindex: link.ifindex }),
      },
      () => this.#scheduleDrain(),
    );
    this.#keepPreservedStale(negotiated);
  }

  /**
   * RFC 4724 4.2 on re-establishment: stale paths of a family survive only if the peer again
   * advertises graceful restart for it with the F bit (it kept forwarding); the rest go now. The
   * survivors get one restart time to be re-sent (End-of-RIB sweeps them sooner).
   */
  #keepPreservedStale(negotiated: Negotiated): void {
    if (this.#staleFamilies.length === 0) return;
    const preserved = (negotiated.gracefulRestart?.families ?? []).flatMap((f) =>
      f.forwardingPreserved ? [f.family] : [],
    );
    for (const family of this.#staleFamilies.filter((f) => !preserved.includes(f))) {
      const swept = this.#rib.sweepStale(this.#peer.name, family);
      this.#log.info({ family, swept }, 'bgp peer back without forwarding state: stale paths removed');
    }
    this.#staleFamilies = this.#staleFamilies.filter((f) => preserved.includes(f));
    if (this.#staleFamilies.length === 0) this.#clearStaleTimer();
    else this.#armStaleTimer(negotiated.gracefulRestart?.peerRestartTime ?? 0);
  }

  onUpdate(update: DecodedUpdate): void {
    const result = this.#rib.receive(this.#peer.name, update);
    const eor = result.endOfRib;
    if (eor === undefined) return;
    // The RIB swept the family's stale paths.
    this.#staleFamilies = this.#staleFamilies.filter((f) => f !== eor);
    if (this.#staleFamilies.length === 0) this.#clearStaleTimer();
    this.#events.endOfRib(this.#peer.name, eor);
  }

  onRouteRefresh(message: RouteRefreshMessage): void {
    if (message.subtype === RouteRefreshSubtype.REQUEST) this.#rib.refresh(this.#peer.name);
  }

  onDown(reason: SessionDownReason, wasEstablished: boolean): void {
    if (!wasEstablished) return;
    const stale = this.#stopped ? [] : staleFamiliesOf(reason, this.#negotiated);
    this.#log.info({ reason: reason.detail, staleFamilies: stale }, 'bgp peer down');
    this.#rib.peerDown(this.#peer.name, stale);
    this.#staleFamilies = stale;
    if (stale.length > 0) this.#armStaleTimer(this.#negotiated?.gracefulRestart?.peerRestartTime ?? 0);
    this.#negotiated = undefined;
  }

  // ---- sending -----------------------------------------------------------------------------

  #scheduleDrain(): void {
    this.#dirty = true;
    if (this.#draining) return;
    this.#draining = true;
    // Let the current RIB operation (a whole UPDATE, a whole config change) finish first.
    setImmediate(() => void this.#drain());
  }

  /**
   * Sends what the Adj-RIB-Out holds; while a send waits for the socket to drain, further
   * changes accumulate in the Adj-RIB-Out (a prefix changed twice is sent once).
   */
  async #drain(): Promise<void> {
    try {
      while (this.#dirty && this.#negotiated !== undefined && !this.#stopped) {
        this.#dirty = false;
        const negotiated = this.#negotiated;
        const messages = this.#rib.takeOutbound(this.#peer.name).flatMap((b) => encodeBatch(b, negotiated));
        if (messages.length > 0) await this.#session.sendUpdates(messages);
      }
    } catch (err) {
      // The session went down mid-send: peerDown discards the Adj-RIB-Out, peerUp starts afresh.
      this.#log.debug({ err: String(err) }, 'bgp send interrupted');
    } finally {
      this.#draining = false;
    }
    // A session that came up while a send to the one before was stuck (RFC 4724 4.2 replaces
    // a dead connection at once) has its whole table waiting.
    if (this.#dirty && this.#negotiated !== undefined && !this.#stopped) this.#scheduleDrain();
  }

  #armStaleTimer(seconds: number): void {
    this.#clearStaleTimer();
    this.#staleTimer = setTimeout(() => {
      this.#staleTimer = undefined;
      this.#staleFamilies = [];
      const swept = this.#rib.sweepStale(this.#peer.name);
      this.#log.info({ swept }, 'bgp peer restart time over: stale paths removed');
    }, seconds * 1000);
    this.#staleTimer.unref();
  }

  #clearStaleTimer(): void {
    if (this.#staleTimer !== undefined) clearTimeout(this.#staleTimer);
    this.#staleTimer = undefined;
  }
}
