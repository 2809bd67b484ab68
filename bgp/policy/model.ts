// Route policy: an ordered list of statements, first match wins, evaluated on import (Adj-RIB-In
// -> Loc-RIB) and export (Loc-RIB -> Adj-RIB-Out) per peer. Plain data; `definePolicy`
// validates it and `fromConfigPolicy` builds it from the speaker configuration.
import type { LargeCommunity, Prefix } from '../codec/index.js';

export interface PrefixListEntry {
  readonly prefix: Prefix;
  /**
   * Route lengths accepted, like FRR/Cisco prefix lists: neither given, exactly the entry's
   * length; `ge` alone, ge..max; `le` alone, length..le.
   */
  readonly ge?: number;
  readonly le?: number;
}

/** Every condition given must hold; none given matches every route. */
export interface RouteMatch {
  /** The route is covered by any entry. */
  readonly prefixes?: readonly PrefixListEntry[];
  /** The route carries any of these standard communities. */
  readonly communities?: readonly number[];
  /** The route carries any of these large communities. */
  readonly largeCommunities?: readonly LargeCommunity[];
}

export type RouteAction =
  | { readonly type: 'set-communities'; readonly communities: readonly number[] }
  | { readonly type: 'add-communities'; readonly communities: readonly number[] }
  | { readonly type: 'remove-communities'; readonly communities: readonly number[] }
  | { readonly type: 'add-large-communities'; readonly communities: readonly LargeCommunity[] }
  | { readonly type: 'remove-large-communities'; readonly communities: readonly LargeCommunity[] }
  | { readonly type: 'set-local-pref'; readonly localPref: number }
  | { readonly type: 'set-med'; readonly med: number }
  /** Prepend `asn` (default: our AS on export, the peer's AS on import) `count` times. */
  | { readonly type: 'prepend'; readonly count: number; readonly asn?: number }
  /** Export: our session address as next hop. Import: the peer's session address. */
  | { readonly type: 'next-hop-self' };

export interface PolicyStatement {
  readonly match: RouteMatch;
  readonly result: 'accept' | 'reject';
  /** Applied, in order, to routes this statement accepts. */
  readonly actions: readonly RouteAction[];
}

export interface RoutePolicy {
  readonly name: string;
  readonly statements: readonly PolicyStatement[];
  /** When no statement matches. */
  readonly defaultResult: 'accept' | 'reject';
}
