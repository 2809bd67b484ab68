// One path attribute from wire bytes, classified per RFC 7606 when malformed. Session-reset
// cases throw BgpError; the others come back as an AttributeProblem for the UPDATE decoder.

import { formatAddressBytes } from '../../../src/net/index.js';
import { AttributeFlag, UpdateSubcode as S, AttributeType as T } from '../constants.js';
import { updateError } from '../errors.js';
import type { CodecOptions } from '../options.js';
import { decodePrefixes, type IpFamily } from '../prefix.js';
import { decodeAsPathValue } from './as-path.js';
import {
  type ErrorAction,
  EXPECTED_FLAGS,
  flagsConflict,
  flagsConflictAction,
  ipv6NextHopProblem,
  isHostAddress,
  malformedAction,
} from './rules.js';
import type { AsPathSegment, ExtendedCommunity, LargeCommunity, Origin, PathAttribute } from './types.js';

export interface AttributeProblem {
  readonly typeCode: number;
  readonly action: ErrorAction;
  /** The UPDATE Message Error subcode a session reset would have used. */
  readonly subcode: number;
  /** The NOTIFICATION data a session reset would have carried (usually the whole attribute). */
  readonly data: Buffer;
  readonly reason: string;
}

export type AttributeOutcome =
  | { readonly kind: 'attribute'; readonly attribute: PathAttribute }
  | { readonly kind: 'as4-path'; readonly segments: AsPathSegment[] }
  | { readonly kind: 'as4-aggregator'; readonly asn: number; readonly address: string }
  | { readonly kind: 'problem'; readonly problem: AttributeProblem }
  /** Kept only so treat-as-withdraw knows the routes it carries (an MP_REACH_NLRI's NLRI). */
  | { readonly kind: 'withdrawing'; readonly attribute: PathAttribute; readonly problem: AttributeProblem };

const ORIGINS: readonly Origin[] = ['igp', 'egp', 'incomplete'];
const FLAG_BITS = AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE | AttributeFlag.PARTIAL;

/** Where one attribute sits in the message: [start, valueStart) is its header. */
export interface AttributeSpan {
  readonly flags: number;
  readonly code: number;
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
}

export function decodeAttribute(buf: Buffer, span: AttributeSpan, opts: CodecOptions): AttributeOutcome {
  const { flags, code, valueStart: v, end } = span;
  const raw = (): Buffer => Buffer.from(buf.subarray(span.start, end));
  const expected = EXPECTED_FLAGS.get(code);
  if (expected === undefined) {
    if ((flags & AttributeFlag.OPTIONAL) === 0) {
      throw updateError(
        S.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        `unrecognised well-known attribute ${code}`,
        raw(),
      );
    }
    return unknown(buf, span);
  }
  const problem = (
    subcode: number,
    reason: string,
    action = malformedAction(code, opts),
  ): AttributeOutcome => {
    const text = `attribute ${code}: ${reason}`;
    if (action === 'session-reset') throw updateError(subcode, text, raw());
    return { kind: 'problem', problem: { typeCode: code, action, subcode, data: raw(), reason: text } };
  };
  if (flagsConflict(flags, expected)) {
    return problem(
      S.ATTRIBUTE_FLAGS_ERROR,
      `flags 0x${flags.toString(16)} conflict with the type`,
      flagsConflictAction(code, opts),
    );
  }
  const len = end - v;
  const badLength = (wanted: string): AttributeOutcome =>
    problem(S.ATTRIBUTE_LENGTH_ERROR, `length ${len}, expected ${wanted}`);
  const attribute = (a: PathAttribute): AttributeOutcome => ({ kind: 'attribute', attribute: a });
  switch (code) {
    case T.ORIGIN: {
      if (len !== 1) return badLength('1');
      const origin = ORIGINS[buf[v]!];
      if (origin === undefined) return problem(S.INVALID_ORIGIN_ATTRIBUTE, `undefined origin ${buf[v]}`);
      return attribute({ type: 'origin', origin });
    }
    case T.AS_PATH: {
      const segments = decodeAsPathValue(buf, v, end, opts.fourOctetAs ? 4 : 2);
      if (typeof segments === 'string') return problem(S.MALFORMED_AS_PATH, segments);
      return attribute({ type: 'as-path', segments });
    }
    case T.NEXT_HOP:
      if (len !== 4) return badLength('4');
      if (!isHostAddress(buf[v]!)) {
        return problem(
          S.INVALID_NEXT_HOP_ATTRIBUTE,
          `${formatAddressBytes(buf, v, 4)} is not a host address`,
        );
      }
      return attribute({ type: 'next-hop', nextHop: formatAddressBytes(buf, v, 4) });
    case T.MULTI_EXIT_DISC:
      if (len !== 4) return badLength('4');
      return attribute({ type: 'med', med: buf.readUInt32BE(v) });
    case T.LOCAL_PREF:
      if (len !== 4) return badLength('4');
      return attribute({ type: 'local-pref', localPref: buf.readUInt32BE(v) });
    case T.ATOMIC_AGGREGATE:
      if (len !== 0) return badLength('0');
      return attribute({ type: 'atomic-aggregate' });
    case T.AGGREGATOR: {
      const width = opts.fourOctetAs ? 4 : 2;
      if (len !== width + 4) return badLength(String(width + 4));
      const asn = width === 4 ? buf.readUInt32BE(v) : buf.readUInt16BE(v);
      if (asn === 0) return problem(S.OPTIONAL_ATTRIBUTE_ERROR, 'AS 0 (RFC 7607)');
      return attribute({ type: 'aggregator', asn, address: formatAddressBytes(buf, v + width, 4) });
    }
    case T.COMMUNITIES: {
      if (len === 0 || len % 4 !== 0) return badLength('a non-zero multiple of 4');
      const communities = new Array<number>(len / 4);
      for (let i = 0; i < communities.length; i++) communities[i] = buf.readUInt32BE(v + 4 * i);
      return attribute({ type: 'communities', communities });
    }
    case T.ORIGINATOR_ID:
      if (len !== 4) return badLength('4');
      return attribute({ type: 'originator-id', originatorId: formatAddressBytes(buf, v, 4) });
    case T.CLUSTER_LIST: {
      if (len === 0 || len % 4 !== 0) return badLength('a non-zero multiple of 4');
      const clusterIds: string[] = [];
      for (let i = v; i < end; i += 4) clusterIds.push(formatAddressBytes(buf, i, 4));
      return attribute({ type: 'cluster-list', clusterIds });
    }
    case T.MP_REACH_NLRI:
      return decodeMpReach(buf, span, raw);
    case T.MP_UNREACH_NLRI:
      return decodeMpUnreach(buf, span, raw);
    case T.EXTENDED_COMMUNITIES: {
      if (len === 0 || len % 8 !== 0) return badLength('a non-zero multiple of 8');
      const communities: ExtendedCommunity[] = [];
      for (let i = v; i < end; i += 8) {
        communities.push({
          typeHigh: buf[i]!,
          typeLow: buf[i + 1]!,
          value: Buffer.from(buf.subarray(i + 2, i + 8)),
        });
      }
      return attribute({ type: 'extended-communities', communities });
    }
    case T.LARGE_COMMUNITY:
      if (len === 0 || len % 12 !== 0) return badLength('a non-zero multiple of 12');
      return attribute({ type: 'large-communities', communities: decodeLargeCommunities(buf, v, end) });
    case T.AS4_PATH: {
      if (opts.fourOctetAs)
        return problem(S.OPTIONAL_ATTRIBUTE_ERROR, 'AS4_PATH between four-octet speakers');
      if (len < 6) return badLength('at least 6');
      const segments = decodeAsPathValue(buf, v, end, 4);
      if (typeof segments === 'string') return problem(S.OPTIONAL_ATTRIBUTE_ERROR, segments);
      return { kind: 'as4-path', segments };
    }
    default: {
      // T.AS4_AGGREGATOR: the only interpreted code left.
      if (opts.fourOctetAs)
        return problem(S.OPTIONAL_ATTRIBUTE_ERROR, 'AS4_AGGREGATOR between four-octet speakers');
      if (len !== 8) return badLength('8');
      const asn = buf.readUInt32BE(v);
      if (asn === 0) return problem(S.OPTIONAL_ATTRIBUTE_ERROR, 'AS 0 (RFC 7607)');
      return { kind: 'as4-aggregator', asn, address: formatAddressBytes(buf, v + 4, 4) };
    }
  }
}

function unknown(buf: Buffer, span: AttributeSpan): AttributeOutcome {
  return {
    kind: 'attribute',
    attribute: {
      type: 'unknown',
      typeCode: span.code,
      flags: span.flags & FLAG_BITS,
      value: Buffer.from(buf.subarray(span.valueStart, span.end)),
    },
  };
}

/** RFC 8092 section 5: duplicates are removed silently. */
function decodeLargeCommunities(buf: Buffer, start: number, end: number): LargeCommunity[] {
  const seen = new Set<string>();
  const out: LargeCommunity[] = [];
  for (let i = start; i < end; i += 12) {
    const c = {
      globalAdmin: buf.readUInt32BE(i),
      localData1: buf.readUInt32BE(i + 4),
      localData2: buf.readUInt32BE(i + 8),
    };
    const key = `${c.globalAdmin}:${c.localData1}:${c.localData2}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}

function unicastFamily(buf: Buffer, at: number): IpFamily | undefined {
  if (buf[at + 2] !== 1) return undefined;
  const afi = buf.readUInt16BE(at);
  return afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : undefined;
}

/** MP attributes that cannot be parsed make the NLRI unknowable: session reset (RFC 7606 3.j, 7.11). */
function mpError(reason: string, raw: () => Buffer) {
  return updateError(S.OPTIONAL_ATTRIBUTE_ERROR, reason, raw());
}

function decodeMpReach(buf: Buffer, span: AttributeSpan, raw: () => Buffer): AttributeOutcome {
  const { valueStart: v, end } = span;
  if (end - v < 5) throw mpError(`MP_REACH_NLRI of ${end - v} octets, minimum 5`, raw);
  const family = unicastFamily(buf, v);
  if (family === undefined) return unknown(buf, span);
  const nhLen = buf[v + 3]!;
  const nlriStart = v + 5 + nhLen;
  if (nlriStart > end) throw mpError(`next hop of ${nhLen} octets overruns MP_REACH_NLRI`, raw);
  const nh = v + 4;
  let nextHop: string;
  let linkLocalNextHop: string | undefined;
  if (family === 'ipv4') {
    if (nhLen !== 4) throw mpError(`IPv4 next hop of ${nhLen} octets`, raw);
    nextHop = formatAddressBytes(buf, nh, 4);
  } else {
    if (nhLen !== 16 && nhLen !== 32)
      throw mpError(`IPv6 next hop of ${nhLen} octets, expected 16 or 32`, raw);
    nextHop = formatAddressBytes(buf, nh, 6);
    if (nhLen === 32) linkLocalNextHop = formatAddressBytes(buf, nh + 16, 6);
  }
  const nlri = decodePrefixes(buf, nlriStart, end, family, (r) => mpError(`MP_REACH_NLRI: ${r}`, raw));
  const attribute: PathAttribute =
    linkLocalNextHop === undefined
      ? { type: 'mp-reach-nlri', family, nextHop, nlri }
      : { type: 'mp-reach-nlri', family, nextHop, linkLocalNextHop, nlri };
  // The NEXT_HOP attribute's rule (RFC 4271 6.3, RFC 7606 7.3) for MP_REACH next hops too: an
  // IPv4 one would otherwise be passed on as an unusable classic NEXT_HOP, and neither can be
  // installed.
  const unusable =
    family === 'ipv4'
      ? isHostAddress(buf[nh]!)
        ? undefined
        : `next hop ${nextHop} is not a host address`
      : ipv6NextHopProblem(buf, nh, nhLen === 32 ? 32 : 16);
  if (unusable !== undefined) {
    const hops = linkLocalNextHop === undefined ? nextHop : `${nextHop} ${linkLocalNextHop}`;
    const reason = `attribute 14: ${unusable}${family === 'ipv6' ? ` (${hops})` : ''}`;
    const problem: AttributeProblem = {
      typeCode: T.MP_REACH_NLRI,
      action: 'treat-as-withdraw',
      subcode: S.INVALID_NEXT_HOP_ATTRIBUTE,
      data: raw(),
      reason,
    };
    return { kind: 'withdrawing', attribute, problem };
  }
  return { kind: 'attribute', attribute };
}

function decodeMpUnreach(buf: Buffer, span: AttributeSpan, raw: () => Buffer): AttributeOutcome {
  const { valueStart: v, end } = span;
  if (end - v < 3) throw mpError(`MP_UNREACH_NLRI of ${end - v} octets, minimum 3`, raw);
  const family = unicastFamily(buf, v);
  if (family === undefined) return unknown(buf, span);
  const withdrawn = decodePrefixes(buf, v + 3, end, family, (r) => mpError(`MP_UNREACH_NLRI: ${r}`, raw));
  return { kind: 'attribute', attribute: { type: 'mp-unreach-nlri', family, withdrawn } };
}
