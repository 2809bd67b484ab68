// What a session hands to its owner (the speaker, which feeds the RIB): the negotiated
// parameters, every UPDATE with its RFC 7606 verdict, route refreshes, and why it went down.
import type {
  Capability,
  CodecOptions,
  DecodedUpdate,
  IpFamily,
  NotificationMessage,
  RouteRefreshMessage,
} from '../codec/index.js';

/** RFC 4271 section 8.2.2 states. */
export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export interface NegotiatedGracefulRestart {
  /** The peer's R bit: it restarted, so it will not wait for our End-of-RIB before sending. */
  readonly peerRestarting: boolean;
  /** Seconds we keep the peer's routes as stale after it goes down. */
  readonly peerRestartTime: number;
  /** The peer's N bit (RFC 8538). */
  readonly peerNotification: boolean;
  /** Families both sides carry that the peer listed, with its F bit. */
  readonly families: readonly { readonly family: IpFamily; readonly forwardingPreserved: boolean }[];
}

export interface Negotiated {
  readonly peerAs: number;
  /** The peer's BGP identifier. */
  readonly peerRouterId: string;
  /** min(ours, peer's) in seconds; 0 means no keepalives and no hold timer. */
  readonly holdTime: number;
  /** Seconds between our KEEPALIVEs; 0 when holdTime is 0. */
  readonly keepaliveTime: number;
  /** Pass to the codec for every UPDATE of this session (packUpdates, encodeMessage). */
  readonly codec: CodecOptions;
  /** Families both sides advertised (IPv4 implied when the peer sent no multiprotocol capability). */
  readonly families: readonly IpFamily[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** Present when both sides advertised graceful restart. */
  readonly gracefulRestart?: NegotiatedGracefulRestart;
  /** Everything the peer's OPEN offered, unknown ones included. */
  readonly peerCapabilities: readonly Capability[];
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** Why a session left OpenSent/OpenConfirm/Established or failed to get there. */
export type SessionDownReason =
  /** We sent this NOTIFICATION (an error we found, hold timer expiry, admin shutdown...). */
  | {
      readonly kind: 'notification-sent';
      readonly notification: NotificationMessage;
      readonly detail: string;
    }
  /** The peer sent this NOTIFICATION. */
  | {
      readonly kind: 'notification-received';
      readonly notification: NotificationMessage;
      readonly detail: string;
    }
  /** TCP closed or failed without a NOTIFICATION. */
  | { readonly kind: 'connection-lost'; readonly detail: string };

export interface SessionConsumer {
  onEstablished(negotiated: Negotiated): void;
  /**
   * Every UPDATE, in order. `update.handling` is the RFC 7606 verdict: under treat-as-withdraw
   * the announced prefixes must be withdrawn (codec `routeChanges` applies this); the session
   * stays up. End-of-RIB markers arrive here too (codec `endOfRibFamily`).
   */
  onUpdate(update: DecodedUpdate): void;
  /** A ROUTE-REFRESH request, or an enhanced route refresh BoRR/EoRR marker (RFC 7313). */
  onRouteRefresh(message: RouteRefreshMessage): void;
  /**
   * The session went down (or a connection attempt that reached OpenSent failed).
   * `grNegotiated`: graceful restart was in effect, so the peer's routes may be kept as stale
   * unless the reason is a NOTIFICATION without the N bit (RFC 4724 / 8538: the consumer decides).
   */
  onDown(reason: SessionDownReason, wasEstablished: boolean, grNegotiated: boolean): void;
  /** Optional: every state change, for status and metrics. */
  onStateChange?(state: SessionState): void;
}
