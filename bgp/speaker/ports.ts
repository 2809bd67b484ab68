// What BgpSpeaker needs from the RIB and from sessions (bgp/rib, bgp/session). The speaker
// assembles them; these narrow interfaces are the seams its tests drive directly.
import type { PathAttribute, Prefix } from '../codec/index.js';
import type { PeerConfig, SpeakerConfig } from '../config/index.js';
import type { RoutePolicy } from '../policy/index.js';
import type { PeerStatus, RouteStatus } from './status.js';

/** A route we originate: the attributes every peer's Adj-RIB-Out starts from (no next hop). */
export interface LocalRoute {
  readonly prefix: Prefix;
  readonly attributes: readonly PathAttribute[];
}

/** One path of a Loc-RIB entry as far as forwarding is concerned. */
export interface ForwardingPath {
  /** Undefined for our own (local) routes: nothing to install. */
  readonly nextHop?: string;
  /** IPv6 link-local next hop of the path, when the peer sent one. */
  readonly linkLocalNextHop?: string;
  /** Interface the path's session runs over (for link-local next hops). */
  readonly ifindex?: number;
}

/** A Loc-RIB change: the new best path plus its ECMP set, or none (withdrawn). */
export interface LocRibChange {
  readonly prefix: Prefix;
  /** The prefix as canonical text (`formatPrefix`), shared with the RIB: the kernel route's dst. */
  readonly key: string;
  /** Best path first; empty when the prefix has no path left. */
  readonly paths: readonly ForwardingPath[];
}

export interface SpeakerRib {
  /** Called for every best-path / multipath change, in order. */
  onChange(listener: (change: LocRibChange) => void): void;
  /** The full set of routes we originate; the RIB announces and withdraws the difference. */
  setLocalRoutes(routes: readonly LocalRoute[]): void;
  /** New policy definitions: every peer's routes are re-imported and re-exported under them. */
  setPolicies(policies: ReadonlyMap<string, RoutePolicy>): void;
  routes(prefix?: string): readonly RouteStatus[];
}

export interface SpeakerSession {
  status(): PeerStatus;
  /**
   * Sends the Cease NOTIFICATION (admin shutdown, RFC 8203 text) and closes. With `graceful`
   * the TCP connection is closed with no NOTIFICATION, so a peer that helps with graceful
   * restart (RFC 4724) keeps our routes while we restart.
   */
  stop(reason: string, opts?: { readonly graceful?: boolean }): Promise<void>;
}

export interface SessionEvents {
  /** The peer sent End-of-RIB for a family (RFC 4724): it has sent its whole table. */
  endOfRib(peer: string, family: Prefix['family']): void;
}

/** Creates and starts the session for one peer, attached to the RIB. */
export type SessionFactory = (
  peer: PeerConfig,
  context: {
    readonly config: SpeakerConfig;
    readonly rib: SpeakerRib;
    /** Set the restart bit in our GR capability: we restarted with forwarding state kept. */
    readonly restarting: boolean;
    readonly events: SessionEvents;
  },
) => SpeakerSession;
