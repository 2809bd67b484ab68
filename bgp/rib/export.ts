// Adj-RIB-Out rules for one path toward one peer (RFC 4271 9.1.3 and 5.1, RFC 4456 for route
// reflection, RFC 1997 well-known communities): whether to advertise it and with which
// attributes. Pure; next hops are chosen separately (nextHopsFor) since they are per session.
import { type IpFamily, propagateUnknown, WellKnownCommunity } from '../codec/index.js';
import type { NextHops } from './codec.js';
import { DEFAULT_LOCAL_PREF } from './decision.js';
import type { Path, PathAttrs, PeerRef } from './path.js';

/** Auto: self toward eBGP peers, keep toward iBGP peers; Self/Keep force it. */
export type NextHopMode = 'auto' | 'self' | 'keep';

/** The peer we export to, with the settings the rules depend on. */
export interface ExportTarget {
  readonly peer: PeerRef;
  /** The AS we present to this peer (per-peer local AS, else ours). */
  readonly localAs: number;
  /** Our route reflector cluster id (RFC 4456); absent: we do not reflect. */
  readonly clusterId?: string;
  readonly nextHopMode: NextHopMode;
  /** Pass a MED learned from another AS on to this eBGP peer (RFC 4271 5.1.4 says not to). */
  readonly sendMed: boolean;
  /** Do not send an eBGP peer paths already containing its AS (it would drop them anyway). */
  readonly senderSideLoopCheck: boolean;
}

export type ExportRefusal =
  | 'split-horizon'
  | 'no-advertise'
  | 'no-export'
  | 'ibgp-to-ibgp'
  | 'reflection-non-client'
  | 'as-path-loop';

/** Why a path is not advertised to the target, or undefined when it is. */
export function exportRefusal(path: Path, target: ExportTarget): ExportRefusal | undefined {
  const from = path.source;
  const to = target.peer;
  if (from.id === to.id) return 'split-horizon';
  const communities = path.attrs.communities;
  if (communities.includes(WellKnownCommunity.NO_ADVERTISE)) return 'no-advertise';
  if (to.type === 'ebgp') {
    // Without confederations NO_EXPORT_SUBCONFED means the same as NO_EXPORT (RFC 1997).
    if (
      communities.includes(WellKnownCommunity.NO_EXPORT) ||
      communities.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED)
    ) {
      return 'no-export';
    }
    if (target.senderSideLoopCheck && path.attrs.asPath.some((s) => s.asns.includes(to.asn))) {
      return 'as-path-loop';
    }
    return undefined;
  }
  if (from.type !== 'ibgp') return undefined;
  if (target.clusterId === undefined) return 'ibgp-to-ibgp';
  // RFC 4456 6: from a client to everyone; from a non-client to clients only.
  if (!from.rrClient && !to.rrClient) return 'reflection-non-client';
  return undefined;
}

const originatedInOurAs = (a: PathAttrs): boolean =>
  a.asPath.every((s) => s.type === 'confed-sequence' || s.type === 'confed-set');

/**
 * The attributes to advertise (not interned; the caller interns and memoises): eBGP gets our AS
 * prepended, no LOCAL_PREF, no RR attributes and no foreign MED; iBGP gets a LOCAL_PREF, and
 * reflected paths ORIGINATOR_ID and our cluster id (RFC 4456 8). Unknown attributes are passed
 * on per RFC 4271 5 (non-transitive dropped, Partial set) unless the route is ours.
 */
export function exportAttrs(path: Path, attrs: PathAttrs, target: ExportTarget): PathAttrs {
  const unknown =
    path.source.type === 'local'
      ? attrs.unknown
      : attrs.unknown.map(propagateUnknown).filter((u) => u !== undefined);
  if (target.peer.type === 'ebgp') {
    const [first, ...rest] = attrs.asPath;
    const asPath =
      first?.type === 'sequence' && first.asns.length < 255
        ? [{ type: 'sequence' as const, asns: [target.localAs, ...first.asns] }, ...rest]
        : [{ type: 'sequence' as const, asns: [target.localAs] }, ...attrs.asPath];
    const { localPref: _lp, originatorId: _oid, med, ...kept } = attrs;
    const keepMed = med !== undefined && (target.sendMed || originatedInOurAs(attrs));
    return { ...kept, asPath, clusterList: [], unknown, ...(keepMed ? { med } : {}) };
  }
  const localPref = attrs.localPref ?? DEFAULT_LOCAL_PREF;
  if (path.source.type === 'ibgp' && target.clusterId !== undefined) {
    return {
      ...attrs,
      localPref,
      unknown,
      originatorId: attrs.originatorId ?? path.source.routerId,
      clusterList: [target.clusterId, ...attrs.clusterList],
    };
  }
  return { ...attrs, localPref, unknown };
}

/** Our addresses on one session, per family it carries. */
export type SessionAddresses = Partial<Record<IpFamily, NextHops>>;

/**
 * Next hops to advertise a path with, or undefined when the session cannot carry its family.
 * Keep sends the path's global next hop only: its link-local one belongs to another link.
 */
export function nextHopsFor(
  path: Path,
  target: ExportTarget,
  ours: SessionAddresses,
  forceSelf: boolean,
): NextHops | undefined {
  const self = ours[path.prefix.family];
  if (self === undefined) return undefined;
  const keep =
    !forceSelf &&
    path.nextHop !== undefined &&
    (target.nextHopMode === 'keep' || (target.nextHopMode === 'auto' && target.peer.type === 'ibgp'));
  return keep ? { nextHop: path.nextHop! } : self;
}
