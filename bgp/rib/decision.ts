// The RFC 4271 9.1.2.2 decision process for one prefix, as the RFC writes it: a sequence of
// eliminations over the candidate set (not a pairwise comparator: the MED step only compares
// paths from the same neighbouring AS, which is not transitive, so a sort could depend on
// arrival order). The set that survives through the eBGP-over-iBGP step is the ECMP set.

import { parseIPv4Number, writeAddressBytes } from '../../src/net/index.js';
import { asPathLength } from '../codec/index.js';
import type { Path } from './path.js';

export interface DecisionOptions {
  /** Our AS: the "neighbouring AS" of a path with an empty AS_PATH (learned over iBGP from inside). */
  readonly localAs: number;
  /** Largest ECMP set; 1 disables multipath. */
  readonly maxPaths: number;
  /** eBGP multipath across different neighbouring ASes (same AS_PATH length still required). */
  readonly multipathRelax: boolean;
  /** Compare MED between paths from different neighbouring ASes too. */
  readonly alwaysCompareMed: boolean;
}

export interface Selection {
  readonly best?: Path;
  /** The ECMP set, best first; [best] without multipath; empty without a best path. */
  readonly multipath: readonly Path[];
}

const ORIGIN_RANK = { igp: 0, egp: 1, incomplete: 2 } as const;
/** RFC 4271 5.1.5: the default degree of preference when a path has none. */
export const DEFAULT_LOCAL_PREF = 100;

export const effectiveLocalPref = (p: Path): number => p.attrs.localPref ?? DEFAULT_LOCAL_PREF;

/** RFC 4271 9.1.2.2 c: the leftmost AS of the AS_PATH; our own AS for a path from inside it. */
export function neighbourAs(p: Path, localAs: number): number {
  const first = p.attrs.asPath.find((s) => s.type === 'sequence' || s.type === 'set');
  return first?.type === 'sequence' ? first.asns[0]! : localAs;
}

/** Keeps the candidates whose `score` is lowest. */
function keepLowest(paths: readonly Path[], score: (p: Path) => number): Path[] {
  let min = Number.POSITIVE_INFINITY;
  for (const p of paths) min = Math.min(min, score(p));
  return paths.filter((p) => score(p) === min);
}

/** Step c: within each neighbouring-AS group (or globally), only the lowest MED survives; missing MED is 0. */
function keepLowestMed(paths: readonly Path[], opts: DecisionOptions): Path[] {
  const groupOf = (p: Path): number => (opts.alwaysCompareMed ? 0 : neighbourAs(p, opts.localAs));
  const min = new Map<number, number>();
  for (const p of paths) {
    const g = groupOf(p);
    min.set(g, Math.min(min.get(g) ?? Number.POSITIVE_INFINITY, p.attrs.med ?? 0));
  }
  return paths.filter((p) => (p.attrs.med ?? 0) === min.get(groupOf(p)));
}

const a16 = Buffer.alloc(16);
const b16 = Buffer.alloc(16);

/** Numeric order of two addresses; IPv4 sorts before IPv6. */
export function compareAddresses(a: string, b: string): number {
  const a4 = parseIPv4Number(a);
  const b4 = parseIPv4Number(b);
  if (a4 !== undefined && b4 !== undefined) return a4 - b4;
  if (a4 !== undefined) return -1;
  if (b4 !== undefined) return 1;
  writeAddressBytes(a, 6, a16, 0);
  writeAddressBytes(b, 6, b16, 0);
  return a16.compare(b16);
}

/** RFC 4456 9: ORIGINATOR_ID stands in for the router id of a reflected path. */
const routerIdOf = (p: Path): string => p.attrs.originatorId ?? p.source.routerId;

/** Steps f-g (IGP cost is equal for all: no recursive resolution): router id, CLUSTER_LIST length, peer address. */
export function compareTieBreaks(a: Path, b: Path): number {
  return (
    compareAddresses(routerIdOf(a), routerIdOf(b)) ||
    a.attrs.clusterList.length - b.attrs.clusterList.length ||
    compareAddresses(a.source.address, b.source.address)
  );
}

/** Candidates left after steps a-e (and our own routes first): equally good for forwarding. */
export function equallyPreferred(candidates: readonly Path[], opts: DecisionOptions): Path[] {
  // Our own routes beat learned ones outright, like a weight (they have no next hop to compare).
  const local = candidates.filter((p) => p.source.type === 'local');
  let set = local.length > 0 ? local : [...candidates];
  set = keepLowest(set, (p) => -effectiveLocalPref(p));
  set = keepLowest(set, (p) => asPathLength(p.attrs.asPath));
  set = keepLowest(set, (p) => ORIGIN_RANK[p.attrs.origin]);
  set = keepLowestMed(set, opts);
  if (set.some((p) => p.source.type === 'ebgp')) set = set.filter((p) => p.source.type === 'ebgp');
  return set;
}

/**
 * Best path and ECMP set for one prefix's candidates (at most one path per peer). The set may be
 * `candidates` itself, so the caller must not change that array afterwards.
 */
export function selectPaths(candidates: readonly Path[], opts: DecisionOptions): Selection {
  if (candidates.length === 0) return { multipath: candidates };
  // The list itself: the caller never changes a candidate list in place (the RIB copies on write).
  if (candidates.length === 1) return { best: candidates[0]!, multipath: candidates };
  const ordered = equallyPreferred(candidates, opts).sort(compareTieBreaks);
  const best = ordered[0]!;
  if (opts.maxPaths <= 1 || best.nextHop === undefined) return { best, multipath: [best] };
  const bestAs = neighbourAs(best, opts.localAs);
  const seen = new Set<string>();
  const multipath: Path[] = [];
  for (const p of ordered) {
    if (multipath.length === opts.maxPaths) break;
    if (p.nextHop === undefined) continue;
    if (p.source.type === 'ebgp' && !opts.multipathRelax && neighbourAs(p, opts.localAs) !== bestAs) continue;
    // Two peers naming the same next hop are one kernel next hop.
    const hop = `${p.nextHop}%${p.linkLocalNextHop ?? ''}`;
    if (seen.has(hop)) continue;
    seen.add(hop);
    multipath.push(p);
  }
  return { best, multipath };
}
