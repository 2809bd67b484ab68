// The speaker's configuration: what `trellis bgp run -c FILE` reads and what the agent
// translates the datastore's BGP resources into. Fully defaulted; the speaker never guesses.

export type AddressFamily = 'ipv4' | 'ipv6';

/** Auto: next-hop-self toward eBGP peers, keep toward iBGP peers; Self/Keep force it. */
export type NextHopMode = 'auto' | 'self' | 'keep';

export interface PeerGracefulRestart {
  readonly enabled: boolean;
  /** Seconds we keep the peer's routes when it restarts (used when it advertises none). */
  readonly restartTime: number;
}

export interface PeerConfig {
  /** Unique among peers; defaults to the address. Names the peer in the CLI and logs. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly as: number;
  /** Wait for the peer to connect; never dial out. */
  readonly passive: boolean;
  /** TCP-MD5 (RFC 2385) key. */
  readonly password?: string;
  readonly sourceAddress?: string;
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly gracefulRestart: PeerGracefulRestart;
  readonly nextHop: NextHopMode;
  readonly routeReflectorClient: boolean;
  readonly families: readonly AddressFamily[];
  /** Policy names from `policies`; absent: accept everything. */
  readonly importPolicy?: string;
  readonly exportPolicy?: string;
}

export interface Announcement {
  /** Canonical prefix text. */
  readonly prefix: string;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly med?: number;
}

export interface PrefixMatch {
  readonly prefix: string;
  /** Match more specifics of `prefix` with a length in ge..le (default: exactly its length). */
  readonly ge?: number;
  readonly le?: number;
}

export interface PolicyStatement {
  /** Every given condition must hold; none given: matches every route. */
  readonly match: {
    readonly prefixes?: readonly PrefixMatch[];
    /** Any of these standard communities on the route. */
    readonly communities?: readonly string[];
  };
  readonly action: 'accept' | 'reject';
  /** Applied to accepted routes. */
  readonly set?: {
    readonly addCommunities?: readonly string[];
    readonly addLargeCommunities?: readonly string[];
    readonly localPref?: number;
    readonly med?: number;
  };
}

/** Statements in order, first match wins; no match: `defaultAction`. */
export interface Policy {
  readonly statements: readonly PolicyStatement[];
  readonly defaultAction: 'accept' | 'reject';
}

export interface SpeakerConfig {
  readonly routerId: string;
  readonly localAs: number;
  /** Where we accept sessions; port 0 means no listener (active-only). */
  readonly listen: { readonly address: string; readonly port: number };
  /** Route reflector cluster id (RFC 4456); absent: not a reflector. */
  readonly clusterId?: string;
  /** Seconds peers should keep our routes while we restart (RFC 4724); 0 disables GR. */
  readonly gracefulRestartTime: number;
  readonly peers: readonly PeerConfig[];
  readonly announcements: readonly Announcement[];
  readonly policies: Readonly<Record<string, Policy>>;
  readonly kernel: {
    readonly enabled: boolean;
    readonly table: number;
    readonly metric: number;
    /** Seconds between full re-reads of our kernel routes, repairing what changed; 0: never. */
    readonly resyncInterval: number;
  };
  /** Unix socket of the control API; absent: none. */
  readonly controlSocket?: string;
}
