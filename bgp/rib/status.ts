// Loc-RIB entries in the control API's JSON-friendly shape (bgp/speaker/status.ts).
import { formatCommunity, formatLargeCommunity, formatPrefix, type Prefix } from '../codec/index.js';
import type { PathStatus, RouteStatus } from '../speaker/status.js';
import { compareTieBreaks } from './decision.js';
import type { Path } from './path.js';

function pathStatus(p: Path, best: boolean, multipath: boolean): PathStatus {
  const a = p.attrs;
  return {
    best,
    multipath,
    from: p.source.id,
    nextHop: p.nextHop ?? '',
    asPath: a.asPath.flatMap((s) => s.asns),
    origin: a.origin,
    ...(a.localPref === undefined ? {} : { localPref: a.localPref }),
    ...(a.med === undefined ? {} : { med: a.med }),
    communities: a.communities.map(formatCommunity),
    largeCommunities: a.largeCommunities.map(formatLargeCommunity),
    stale: p.stale,
  };
}

/** Best path first, then the rest of the ECMP set, then the others in tie-break order. */
export function routeStatus(
  prefix: Prefix,
  paths: readonly Path[],
  best: Path | undefined,
  multipath: readonly Path[],
): RouteStatus {
  const rank = (p: Path): number => (p === best ? 0 : multipath.includes(p) ? 1 : 2);
  const ordered = [...paths].sort((a, b) => rank(a) - rank(b) || compareTieBreaks(a, b));
  return {
    prefix: formatPrefix(prefix),
    paths: ordered.map((p) => pathStatus(p, p === best, multipath.includes(p))),
  };
}
