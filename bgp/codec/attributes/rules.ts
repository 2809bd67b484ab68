// Per-attribute facts the encoder and decoder share: the Optional/Transitive bits each type must
// carry, and how RFC 7606 (and RFC 6793 for the AS4 attributes) says to handle a malformed one.
import { AttributeFlag as F, AttributeType as T } from '../constants.js';
import type { CodecOptions } from '../options.js';

const WELL_KNOWN = F.TRANSITIVE;
const OPTIONAL_TRANSITIVE = F.OPTIONAL | F.TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE = F.OPTIONAL;

/** Optional and Transitive bits for every attribute type this codec interprets. */
export const EXPECTED_FLAGS: ReadonlyMap<number, number> = new Map([
  [T.ORIGIN, WELL_KNOWN],
  [T.AS_PATH, WELL_KNOWN],
  [T.NEXT_HOP, WELL_KNOWN],
  [T.MULTI_EXIT_DISC, OPTIONAL_NON_TRANSITIVE],
  [T.LOCAL_PREF, WELL_KNOWN],
  [T.ATOMIC_AGGREGATE, WELL_KNOWN],
  [T.AGGREGATOR, OPTIONAL_TRANSITIVE],
  [T.COMMUNITIES, OPTIONAL_TRANSITIVE],
  [T.ORIGINATOR_ID, OPTIONAL_NON_TRANSITIVE],
  [T.CLUSTER_LIST, OPTIONAL_NON_TRANSITIVE],
  [T.MP_REACH_NLRI, OPTIONAL_NON_TRANSITIVE],
  [T.MP_UNREACH_NLRI, OPTIONAL_NON_TRANSITIVE],
  [T.EXTENDED_COMMUNITIES, OPTIONAL_TRANSITIVE],
  [T.AS4_PATH, OPTIONAL_TRANSITIVE],
  [T.AS4_AGGREGATOR, OPTIONAL_TRANSITIVE],
  [T.LARGE_COMMUNITY, OPTIONAL_TRANSITIVE],
]);

/** The O/T bits are wrong, or Partial is set on an attribute that is not optional transitive. */
export function flagsConflict(flags: number, expected: number): boolean {
  if ((flags & OPTIONAL_TRANSITIVE) !== expected) return true;
  return (flags & F.PARTIAL) !== 0 && expected !== OPTIONAL_TRANSITIVE;
}

/**
 * RFC 4271 6.3: a syntactically correct NEXT_HOP is a valid IP host address. Judged by the first
 * octet: not 0/8 ("this network"), 127/8 (loopback) or 224/3 (multicast, reserved, broadcast).
 */
export function isHostAddress(firstOctet: number): boolean {
  return firstOctet !== 0 && firstOctet !== 127 && firstOctet < 224;
}

/**
 * The same rule for an MP_REACH_NLRI IPv6 next hop (RFC 2545: a global address, optionally
 * followed by a link-local one), judged on the raw octets: the reason it is unusable, or
 * undefined. Refused: a multicast global or link-local (ff00::/8), and an unspecified global
 * (::) with no link-local beside it, which leaves nothing to forward to. `::` followed by a
 * link-local is accepted: the link-local alone is the next hop on the session's link.
 */
export function ipv6NextHopProblem(buf: Uint8Array, start: number, length: 16 | 32): string | undefined {
  if (buf[start] === 0xff) return 'global next hop is multicast';
  if (length === 32 && buf[start + 16] === 0xff) return 'link-local next hop is multicast';
  if (length === 16 && buf.subarray(start, start + 16).every((b) => b === 0)) {
    return 'global next hop is the unspecified address';
  }
  return undefined;
}

/**
 * The RFC 7606 approaches short of a session reset, weakest first. Treat-as-withdraw: the
 * UPDATE's routes are withdrawn. Attribute-discard: the attribute is dropped, the routes kept.
 */
export type ErrorAction = 'attribute-discard' | 'treat-as-withdraw';

/**
 * How a malformed attribute of this type is handled; 'session-reset' for MP_REACH/MP_UNREACH,
 * whose NLRI cannot be trusted once the attribute is malformed (RFC 7606 3.j, 5.3, 7.11).
 */
export function malformedAction(typeCode: number, opts: CodecOptions): ErrorAction | 'session-reset' {
  switch (typeCode) {
    case T.MP_REACH_NLRI:
    case T.MP_UNREACH_NLRI:
      return 'session-reset';
    case T.ATOMIC_AGGREGATE: // 7.6
    case T.AGGREGATOR: // 7.7
    case T.AS4_PATH: // RFC 6793 section 6
    case T.AS4_AGGREGATOR:
      return 'attribute-discard';
    case T.LOCAL_PREF: // 7.5, 7.9, 7.10: only an internal peer's copy can matter
    case T.ORIGINATOR_ID:
    case T.CLUSTER_LIST:
      return opts.internalPeer === true ? 'treat-as-withdraw' : 'attribute-discard';
    default:
      // ORIGIN, AS_PATH, NEXT_HOP, MED (3.e), communities (7.8), extended (7.14), large (RFC 8092 6)
      return 'treat-as-withdraw';
  }
}

/**
 * How an attribute whose Optional/Transitive bits conflict with its type is handled. RFC 7606 3.c:
 * treat-as-withdraw unless the attribute's own specification says otherwise. ATOMIC_AGGREGATE and
 * AGGREGATOR (7.6, 7.7) only make a wrong *length* a discard, so their flags follow 3.c. The rest
 * keep their malformed action: MP_REACH/MP_UNREACH reset (3.j), AS4_PATH/AS4_AGGREGATOR are
 * discarded whatever their error (RFC 6793 6), and LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST
 * from an external peer are discarded in any form (7.5, 7.9, 7.10).
 */
export function flagsConflictAction(typeCode: number, opts: CodecOptions): ErrorAction | 'session-reset' {
  if (typeCode === T.ATOMIC_AGGREGATE || typeCode === T.AGGREGATOR) return 'treat-as-withdraw';
  return malformedAction(typeCode, opts);
}

/** RFC 4271 5: ascending type code; RFC 7606 5.1: MP_REACH_NLRI / MP_UNREACH_NLRI first. */
export function wireRank(typeCode: number): number {
  if (typeCode === T.MP_REACH_NLRI) return -2;
  if (typeCode === T.MP_UNREACH_NLRI) return -1;
  return typeCode;
}
