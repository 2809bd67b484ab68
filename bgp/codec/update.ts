// UPDATE (RFC 4271 section 4.3) with RFC 7606 revised error handling and the RFC 6793 AS4
// translation on two-octet sessions.
import { mergeAs4Path } from './attributes/as-path.js';
import { type AttributeProblem, decodeAttribute } from './attributes/decode.js';
import { writeAttributes } from './attributes/encode.js';
import type { AsPathSegment, PathAttribute } from './attributes/types.js';
import type { ByteWriter } from './bytes.js';
import {
  AS_TRANS,
  AttributeFlag,
  HEADER_LENGTH,
  UpdateSubcode as S,
  AttributeType as T,
} from './constants.js';
import {
  BgpEncodeError,
  headerError,
  invalidNetworkField,
  malformedAttributeList,
  updateError,
} from './errors.js';
import type { CodecOptions } from './options.js';
import { decodePrefixes, type Prefix, writePrefix } from './prefix.js';

export interface UpdateMessage {
  readonly type: 'update';
  /** IPv4 unicast withdrawals in the classic field; other families use an mp-unreach-nlri attribute. */
  readonly withdrawn: readonly Prefix[];
  readonly attributes: readonly PathAttribute[];
  /** IPv4 unicast announcements in the classic field (needs a next-hop attribute). */
  readonly nlri: readonly Prefix[];
}

/**
 * What the receiver must do with a decoded UPDATE (RFC 7606 section 2). The strongest action
 * wins (3.h). Malformed attributes are not in `attributes`; `problems` lists each with the
 * NOTIFICATION it would have caused, for the log RFC 7606 section 6 asks for.
 */
export type UpdateHandling =
  | { readonly kind: 'ok' }
  | { readonly kind: 'attribute-discard'; readonly problems: readonly AttributeProblem[] }
  | {
      readonly kind: 'treat-as-withdraw';
      readonly reason: string;
      readonly problems: readonly AttributeProblem[];
    };

export interface DecodedUpdate extends UpdateMessage {
  readonly handling: UpdateHandling;
}

export function writeUpdateBody(w: ByteWriter, msg: UpdateMessage, opts: CodecOptions): void {
  checkMandatory(msg);
  /** Fills in the two-octet length of the field that started at `at`. */
  const closeField = (at: number, field: string): void => {
    const length = w.pos - at - 2;
    if (length > 0xffff) throw new BgpEncodeError(field, `${length} octets exceed 65535`);
    w.setU16(at, length);
  };
  const withdrawnAt = w.skip(2);
  for (const [i, p] of msg.withdrawn.entries()) writePrefix(w, p, 'ipv4', `withdrawn[${i}]`);
  closeField(withdrawnAt, 'withdrawn');
  const attributesAt = w.skip(2);
  writeAttributes(w, msg.attributes, opts);
  closeField(attributesAt, 'attributes');
  for (const [i, p] of msg.nlri.entries()) writePrefix(w, p, 'ipv4', `nlri[${i}]`);
}

/** Routes without ORIGIN, AS_PATH (and NEXT_HOP for the classic field) would be withdrawn by the peer. */
function checkMandatory(msg: UpdateMessage): void {
  const has = (type: PathAttribute['type']): boolean => msg.attributes.some((a) => a.type === type);
  const mpAnnounces = msg.attributes.some((a) => a.type === 'mp-reach-nlri' && a.nlri.length > 0);
  if (msg.nlri.length === 0 && !mpAnnounces) return;
  const required: PathAttribute['type'][] = ['origin', 'as-path'];
  if (msg.nlri.length > 0) required.push('next-hop');
  for (const type of required) {
    if (!has(type)) throw new BgpEncodeError('attributes', `routes need a ${type} attribute`);
  }
}

export function decodeUpdateBody(buf: Buffer, start: number, end: number, opts: CodecOptions): DecodedUpdate {
  if (end - start < 4)
    throw headerError.badLength(end - start + HEADER_LENGTH, 'UPDATE shorter than 23 octets');
  const withdrawnLength = buf.readUInt16BE(start);
  const withdrawnEnd = start + 2 + withdrawnLength;
  if (withdrawnEnd + 2 > end) {
    throw malformedAttributeList(`withdrawn routes length ${withdrawnLength} exceeds the message`);
  }
  const attributesLength = buf.readUInt16BE(withdrawnEnd);
  const attributesStart = withdrawnEnd + 2;
  const attributesEnd = attributesStart + attributesLength;
  if (attributesEnd > end) {
    throw malformedAttributeList(`total path attribute length ${attributesLength} exceeds the message`);
  }
  const withdrawn = decodePrefixes(buf, start + 2, withdrawnEnd, 'ipv4', (r) =>
    invalidNetworkField(`withdrawn routes: ${r}`),
  );
  const nlri = decodePrefixes(buf, attributesEnd, end, 'ipv4', (r) => invalidNetworkField(`NLRI: ${r}`));
  const parsed = decodeAttributes(buf, attributesStart, attributesEnd, opts);
  const attributes = opts.fourOctetAs ? parsed.attributes : applyAs4(parsed);
  const { problems } = parsed;

  const mpReach = attributes.find((a) => a.type === 'mp-reach-nlri');
  const announces = nlri.length > 0 || (mpReach !== undefined && mpReach.nlri.length > 0);
  if (announces) {
    const required = nlri.length > 0 ? [T.ORIGIN, T.AS_PATH, T.NEXT_HOP] : [T.ORIGIN, T.AS_PATH];
    for (const code of required) {
      if (parsed.seen.has(code)) continue;
      problems.push({
        typeCode: code,
        action: 'treat-as-withdraw',
        subcode: S.MISSING_WELL_KNOWN_ATTRIBUTE,
        data: Buffer.from([code]),
        reason: `missing well-known attribute ${code}`,
      });
    }
  }
  return { type: 'update', withdrawn, attributes, nlri, handling: handlingFor(problems, announces) };
}

function handlingFor(problems: AttributeProblem[], announces: boolean): UpdateHandling {
  const withdraw = problems.find((p) => p.action === 'treat-as-withdraw');
  if (withdraw !== undefined) {
    // RFC 7606 5.2: with no reachable NLRI we cannot be sure the NLRI were parsed correctly.
    if (!announces) {
      throw updateError(
        withdraw.subcode,
        `${withdraw.reason}, in an UPDATE that announces nothing`,
        withdraw.data,
      );
    }
    return { kind: 'treat-as-withdraw', reason: withdraw.reason, problems };
  }
  return problems.length > 0 ? { kind: 'attribute-discard', problems } : { kind: 'ok' };
}

interface ParsedAttributes {
  readonly attributes: PathAttribute[];
  readonly problems: AttributeProblem[];
  /** Every type code met, well-formed or not: a malformed ORIGIN is not also a missing one. */
  readonly seen: Set<number>;
  as4Path?: AsPathSegment[];
  as4Aggregator?: { readonly asn: number; readonly address: string };
}

function decodeAttributes(buf: Buffer, start: number, end: number, opts: CodecOptions): ParsedAttributes {
  const out: ParsedAttributes = { attributes: [], problems: [], seen: new Set() };
  let off = start;
  while (off < end) {
    const flags = buf[off]!;
    const headerLength = flags & AttributeFlag.EXTENDED_LENGTH ? 4 : 3;
    if (off + headerLength > end) {
      // RFC 7606 section 4: rely on Total Path Attribute Length to find the NLRI and withdraw.
      out.problems.push(
        structural(buf, off, end, `${end - off} octets left, too few for an attribute header`),
      );
      break;
    }
    const code = buf[off + 1]!;
    const valueStart = off + headerLength;
    const attributeEnd = valueStart + (headerLength === 4 ? buf.readUInt16BE(off + 2) : buf[off + 2]!);
    if (attributeEnd > end) {
      out.problems.push(
        structural(
          buf,
          off,
          end,
          `attribute ${code} overruns the path attributes by ${attributeEnd - end} octets`,
        ),
      );
      break;
    }
    if (out.seen.has(code)) {
      if (code === T.MP_REACH_NLRI || code === T.MP_UNREACH_NLRI) {
        throw malformedAttributeList(`attribute ${code} appears more than once`);
      }
      out.problems.push({
        typeCode: code,
        action: 'attribute-discard',
        subcode: S.MALFORMED_ATTRIBUTE_LIST,
        data: Buffer.from(buf.subarray(off, attributeEnd)),
        reason: `attribute ${code} repeated; the first is kept (RFC 7606 3.g)`,
      });
      off = attributeEnd;
      continue;
    }
    out.seen.add(code);
    const outcome = decodeAttribute(buf, { flags, code, start: off, valueStart, end: attributeEnd }, opts);
    switch (outcome.kind) {
      case 'attribute':
        out.attributes.push(outcome.attribute);
        break;
      case 'problem':
        out.problems.push(outcome.problem);
        break;
      case 'withdrawing':
        out.attributes.push(outcome.attribute);
        out.problems.push(outcome.problem);
        break;
      case 'as4-path':
        out.as4Path = outcome.segments;
        break;
      case 'as4-aggregator':
        out.as4Aggregator = { asn: outcome.asn, address: outcome.address };
        break;
    }
    off = attributeEnd;
  }
  return out;
}

function structural(buf: Buffer, off: number, end: number, reason: string): AttributeProblem {
  return {
    typeCode: buf[off + 1] ?? 0,
    action: 'treat-as-withdraw',
    subcode: S.ATTRIBUTE_LENGTH_ERROR,
    data: Buffer.from(buf.subarray(off, end)),
    reason,
  };
}

/**
 * RFC 6793 4.2.3: fold AS4_AGGREGATOR into AGGREGATOR and AS4_PATH into AS_PATH, unless an
 * AGGREGATOR other than AS_TRANS says both AS4 attributes are stale.
 */
function applyAs4(parsed: ParsedAttributes): PathAttribute[] {
  const aggregator = parsed.attributes.find((a) => a.type === 'aggregator');
  const stale = parsed.as4Aggregator !== undefined && aggregator !== undefined && aggregator.asn !== AS_TRANS;
  const as4Path = stale ? undefined : parsed.as4Path;
  const as4Aggregator = stale ? undefined : parsed.as4Aggregator;
  return parsed.attributes.map((a): PathAttribute => {
    if (a.type === 'aggregator' && as4Aggregator !== undefined) {
      return { type: 'aggregator', asn: as4Aggregator.asn, address: as4Aggregator.address };
    }
    if (a.type === 'as-path' && as4Path !== undefined) {
      return { type: 'as-path', segments: mergeAs4Path(a.segments, as4Path) };
    }
    return a;
  });
}
