// The RIB's route model, independent of the wire encoding: what a path says (attributes, shared
// by every prefix of one UPDATE), where it goes (next hops) and who told us (the peer).
import type {
  AsPathSegment,
  ExtendedCommunity,
  LargeCommunity,
  Origin,
  Prefix,
  UnknownAttribute,
} from '../codec/index.js';

/** 'local': our own announcements (static routes, node blocks); they win the decision first. */
export type PeerType = 'ibgp' | 'ebgp' | 'local';

/** The peer a path came from, as far as route selection and export rules care. */
export interface PeerRef {
  /** Unique peer name; 'local' for our own routes. */
  readonly id: string;
  /** Session address of the peer (decision tie-break, split horizon). */
  readonly address: string;
  /** The peer's BGP identifier (from its OPEN). */
  readonly routerId: string;
  readonly asn: number;
  readonly type: PeerType;
  /** Route-reflector client (RFC 4456); only meaningful on iBGP peers. */
  readonly rrClient: boolean;
  /** Interface the session runs over: needed to install IPv6 link-local next hops. */
  readonly ifindex?: number;
}

/**
 * Everything a path says except where it goes. Immutable and interned (see intern.ts): all
 * prefixes of one UPDATE share one object, so identity is a cheap "same attributes" test.
 */
export interface PathAttrs {
  readonly origin: Origin;
  /** Four-octet AS numbers; the codec already merged AS4_PATH (RFC 6793). */
  readonly asPath: readonly AsPathSegment[];
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate: boolean;
  readonly aggregator?: { readonly asn: number; readonly address: string };
  /** RFC 1997 values, (AS << 16) | value. */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
  readonly extCommunities: readonly ExtendedCommunity[];
  readonly originatorId?: string;
  readonly clusterList: readonly string[];
  /** Optional attributes we do not interpret, passed on per RFC 4271 (Partial bit) on export. */
  readonly unknown: readonly UnknownAttribute[];
}

/** One path to one prefix. Structurally a speaker `ForwardingPath` (nextHop, linkLocalNextHop, ifindex). */
export interface Path {
  readonly prefix: Prefix;
  /** Undefined for local routes: nothing to forward to. */
  readonly nextHop?: string;
  /** IPv6 only: link-local half of a 32-octet next hop (RFC 2545). */
  readonly linkLocalNextHop?: string;
  /** The source session's interface, set when a link-local next hop needs it. */
  readonly ifindex?: number;
  readonly attrs: PathAttrs;
  readonly source: PeerRef;
  /** Kept from a peer that went down with graceful restart negotiated, until re-learned or swept. */
  readonly stale: boolean;
  /** Arrival order (a RIB-wide counter), for status and debugging; never a tie-break. */
  readonly receivedAt: number;
}

/** Same route for forwarding and export: same source, attributes and next hops (the stale flag aside). */
export function samePath(a: Path | undefined, b: Path | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return (
    a.source.id === b.source.id &&
    a.attrs === b.attrs &&
    a.nextHop === b.nextHop &&
    a.linkLocalNextHop === b.linkLocalNextHop &&
    a.ifindex === b.ifindex
  );
}
