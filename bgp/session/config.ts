// Per-peer session settings: everything the FSM, the OPEN we send and the transport need.
// Plain data; `resolveSessionConfig` fills in defaults and rejects nonsense before any socket exists.
import type { IpFamily } from '../codec/index.js';

/** A capability the session can require from the peer (NOTIFICATION 2/7 when missing and strict). */
export type CapabilityName =
  | 'multiprotocol-ipv4'
  | 'multiprotocol-ipv6'
  | 'route-refresh'
  | 'enhanced-route-refresh'
  | 'four-octet-as'
  | 'extended-message'
  | 'graceful-restart';

export interface GracefulRestartSettings {
  /** Seconds the peer should keep our routes while we restart (0..4095). */
  readonly restartTime: number;
  /** R bit: set only after a real restart with forwarding state kept (RFC 4724 section 3). */
  readonly restarting: boolean;
  /** Families we keep forwarding for across a restart (F bit); others are advertised without it. */
  readonly forwardingPreserved: boolean;
}

/** Which capabilities our OPEN carries. Each is configurable because some peers choke on some. */
export interface CapabilitySettings {
  /** Multiprotocol capability per family (RFC 4760); also the families the session carries. */
  readonly families: readonly IpFamily[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  readonly fourOctetAs: boolean;
  readonly extendedMessage: boolean;
  /** Absent: no graceful-restart capability. */
  readonly gracefulRestart?: GracefulRestartSettings;
  /** Capabilities the peer must offer; missing ones end the session with NOTIFICATION 2/7. */
  readonly required: readonly CapabilityName[];
}

export interface ConnectRetrySettings {
  /** First wait after a failed attempt, in ms. */
  readonly baseMs: number;
  /** The backoff doubles up to this, in ms. */
  readonly maxMs: number;
  /** Fraction of the wait randomised away (0..1): peers restarted together do not dial in lockstep. */
  readonly jitter: number;
}

export interface SessionConfig {
  /** Names the peer in logs and status; defaults to the address. */
  readonly name: string;
  readonly peerAddress: string;
  /** TCP port we dial (default 179). */
  readonly peerPort: number;
  readonly peerAs: number;
  readonly localAs: number;
  /** Our BGP identifier, dotted quad. */
  readonly routerId: string;
  /** Source address for outgoing connections; absent: the kernel chooses. */
  readonly localAddress?: string;
  /** Source port for outgoing connections; absent: ephemeral. */
  readonly localPort?: number;
  /** Only accept connections; never dial. */
  readonly passive: boolean;
  /** Seconds we offer: 0 (no keepalives, no hold timer) or 3..65535. */
  readonly holdTime: number;
  /** Seconds between KEEPALIVEs; absent: a third of the negotiated hold time. */
  readonly keepaliveTime?: number;
  /** TCP-MD5 (RFC 2385) key, at most 80 octets. */
  readonly password?: string;
  /** GTSM (RFC 5082): send with TTL 255 and accept only TTL >= 256 - hops. Absent: off. */
  readonly ttlSecurityHops?: number;
  readonly capabilities: CapabilitySettings;
  readonly connectRetry: ConnectRetrySettings;
  /** Hold time while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes), in seconds. */
  readonly openHoldTime: number;
}

/** What a caller must give; everything else has a default. */
export type SessionConfigInput = Pick<SessionConfig, 'peerAddress' | 'peerAs' | 'localAs' | 'routerId'> &
  Partial<Omit<SessionConfig, 'capabilities' | 'connectRetry'>> & {
    readonly capabilities?: Partial<CapabilitySettings>;
    readonly connectRetry?: Partial<ConnectRetrySettings>;
  };
