// Checks on routes entering the Adj-RIB-In, before import policy: loop detection by AS_PATH
// (RFC 4271 9.1.2), ORIGINATOR_ID and CLUSTER_LIST (RFC 4456 8).
import { internAttrs } from './intern.js';
import type { PathAttrs } from './path.js';

export type ImportRefusal =
  | 'as-loop'
  | 'originator-id'
  | 'cluster-loop'
  | 'no-next-hop'
  /** The import policy rejected it. */
  | 'policy'
  /** RFC 8212: eBGP peer without import policy while `ebgpRequiresPolicy` is on. */
  | 'no-policy';

export interface LoopCheck {
  /** Our AS numbers: the RIB's and the per-peer local AS. */
  readonly localAs: readonly number[];
  /** Occurrences of our AS tolerated (allowas-in). */
  readonly allowOwnAs: number;
  readonly routerId: string;
  readonly clusterId?: string;
}

/** Why a path must not enter the Loc-RIB regardless of policy, or undefined. */
export function importRefusal(attrs: PathAttrs, check: LoopCheck): ImportRefusal | undefined {
  let own = 0;
  for (const segment of attrs.asPath) {
    for (const asn of segment.asns) if (check.localAs.includes(asn)) own++;
  }
  if (own > check.allowOwnAs) return 'as-loop';
  if (attrs.originatorId === check.routerId) return 'originator-id';
  if (check.clusterId !== undefined && attrs.clusterList.includes(check.clusterId)) return 'cluster-loop';
  return undefined;
}

/**
 * LOCAL_PREF from an external peer is ignored (RFC 4271 5.1.5); ORIGINATOR_ID and CLUSTER_LIST
 * are meaningful only inside an AS (RFC 4456) and are dropped too.
 */
export function withoutExternalOnlyAttrs(attrs: PathAttrs): PathAttrs {
  if (attrs.localPref === undefined && attrs.originatorId === undefined && attrs.clusterList.length === 0) {
    return attrs;
  }
  const { localPref: _lp, originatorId: _oid, ...rest } = attrs;
  return internAttrs({ ...rest, clusterList: [] });
}
