// Path attributes to wire bytes. The caller's order does not matter: attributes go out MP first,
// then by type code, so equal attribute sets always encode to equal bytes.

import { parseIPv4Number, writeAddressBytes } from '../../../src/net/index.js';
import type { ByteWriter } from '../bytes.js';
import { Afi, AS_TRANS, AttributeFlag, Safi, AttributeType as T } from '../constants.js';
import { BgpEncodeError } from '../errors.js';
import type { CodecOptions } from '../options.js';
import { writePrefix } from '../prefix.js';
import { as4PathSegments, needsAs4Path, writeAsPathValue } from './as-path.js';
import { EXPECTED_FLAGS, isHostAddress, wireRank } from './rules.js';
import type { ExtendedCommunity, LargeCommunity, Origin, PathAttribute } from './types.js';

const ORIGIN_CODE: Record<Origin, number> = { igp: 0, egp: 1, incomplete: 2 };

export const TYPE_CODE: Readonly<Record<Exclude<PathAttribute['type'], 'unknown'>, number>> = {
  origin: T.ORIGIN,
  'as-path': T.AS_PATH,
  'next-hop': T.NEXT_HOP,
  med: T.MULTI_EXIT_DISC,
  'local-pref': T.LOCAL_PREF,
  'atomic-aggregate': T.ATOMIC_AGGREGATE,
  aggregator: T.AGGREGATOR,
  communities: T.COMMUNITIES,
  'originator-id': T.ORIGINATOR_ID,
  'cluster-list': T.CLUSTER_LIST,
  'mp-reach-nlri': T.MP_REACH_NLRI,
  'mp-unreach-nlri': T.MP_UNREACH_NLRI,
  'extended-communities': T.EXTENDED_COMMUNITIES,
  'large-communities': T.LARGE_COMMUNITY,
};

export function typeCodeOf(attr: PathAttribute): number {
  return attr.type === 'unknown' ? attr.typeCode : TYPE_CODE[attr.type];
}

/**
 * One attribute as it goes on the wire. On two-octet sessions an as-path or aggregator may also
 * yield an AS4_PATH or AS4_AGGREGATOR item with the same attr.
 */
interface WireItem {
  readonly code: number;
  readonly attr: PathAttribute;
  readonly index: number;
}

function wireItems(attrs: readonly PathAttribute[], opts: CodecOptions): WireItem[] {
  const items: WireItem[] = [];
  const seen = new Map<number, number>();
  attrs.forEach((attr, index) => {
    const code = typeCodeOf(attr);
    const earlier = seen.get(code);
    if (earlier !== undefined) {
      throw new BgpEncodeError(
        `attributes[${index}]`,
        `type ${code} already given at attributes[${earlier}]`,
      );
    }
    seen.set(code, index);
    if (!Number.isInteger(code) || code < 0 || code > 255) {
      throw new BgpEncodeError(`attributes[${index}].typeCode`, `${code} is not in 0..255`);
    }
    if (attr.type === 'unknown' && (code === T.AS4_PATH || code === T.AS4_AGGREGATOR)) {
      throw new BgpEncodeError(
        `attributes[${index}]`,
        `type ${code} is generated from as-path/aggregator (RFC 6793)`,
      );
    }
    items.push({ code, attr, index });
    if (opts.fourOctetAs) return;
    if (attr.type === 'as-path' && needsAs4Path(attr.segments)) items.push({ code: T.AS4_PATH, attr, index });
    if (attr.type === 'aggregator' && attr.asn > 0xffff) items.push({ code: T.AS4_AGGREGATOR, attr, index });
  });
  return items.sort((a, b) => wireRank(a.code) - wireRank(b.code));
}

/** Writes all attributes (without the Total Path Attribute Length field). */
export function writeAttributes(w: ByteWriter, attrs: readonly PathAttribute[], opts: CodecOptions): void {
  for (const item of wireItems(attrs, opts)) writeAttribute(w, item, opts);
}

function writeAttribute(w: ByteWriter, item: WireItem, opts: CodecOptions): void {
  const { attr, code } = item;
  const field = `attributes[${item.index}]`;
  const flags = attr.type === 'unknown' ? checkUnknownFlags(attr.flags, field) : EXPECTED_FLAGS.get(code)!;
  const start = w.pos;
  w.u8(flags);
  w.u8(code);
  w.skip(2);
  const valueStart = w.pos;
  writeValue(w, item, opts, field);
  const len = w.pos - valueStart;
  if (len > 0xffff) throw new BgpEncodeError(field, `value of ${len} octets exceeds 65535`);
  if (len > 255) {
    w.setU8(start, flags | AttributeFlag.EXTENDED_LENGTH);
    w.setU16(start + 2, len);
  } else {
    w.remove(start + 3, 1);
    w.setU8(start + 2, len);
  }
}

function checkUnknownFlags(flags: number, field: string): number {
  if (!Number.isInteger(flags) || flags < 0 || flags > 255 || (flags & AttributeFlag.OPTIONAL) === 0) {
    throw new BgpEncodeError(`${field}.flags`, 'an uninterpreted attribute must be optional');
  }
  return flags & (AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE | AttributeFlag.PARTIAL);
}

function writeValue(w: ByteWriter, item: WireItem, opts: CodecOptions, field: string): void {
  const { attr } = item;
  if (item.code === T.AS4_PATH && attr.type === 'as-path') {
    writeAsPathValue(w, as4PathSegments(attr.segments), 4, `${field}.segments`);
    return;
  }
  if (item.code === T.AS4_AGGREGATOR && attr.type === 'aggregator') {
    w.u32(attr.asn);
    writeIPv4(w, attr.address, `${field}.address`);
    return;
  }
  switch (attr.type) {
    case 'origin': {
      const v = ORIGIN_CODE[attr.origin];
      if (v === undefined) throw new BgpEncodeError(`${field}.origin`, `unknown origin "${attr.origin}"`);
      w.u8(v);
      return;
    }
    case 'as-path':
      writeAsPathValue(w, attr.segments, opts.fourOctetAs ? 4 : 2, `${field}.segments`);
      return;
    case 'next-hop':
      writeIPv4NextHop(w, attr.nextHop, `${field}.nextHop`);
      return;
    case 'med':
      w.u32(checkU32(attr.med, `${field}.med`));
      return;
    case 'local-pref':
      w.u32(checkU32(attr.localPref, `${field}.localPref`));
      return;
    case 'atomic-aggregate':
      return;
    case 'aggregator':
      checkU32(attr.asn, `${field}.asn`);
      if (attr.asn === 0) throw new BgpEncodeError(`${field}.asn`, 'AS 0 (RFC 7607)');
      if (opts.fourOctetAs) w.u32(attr.asn);
      else w.u16(attr.asn > 0xffff ? AS_TRANS : attr.asn);
      writeIPv4(w, attr.address, `${field}.address`);
      return;
    case 'communities':
      nonEmpty(attr.communities, `${field}.communities`);
      for (const c of attr.communities) w.u32(checkU32(c, `${field}.communities`));
      return;
    case 'originator-id':
      writeIPv4(w, attr.originatorId, `${field}.originatorId`);
      return;
    case 'cluster-list':
      nonEmpty(attr.clusterIds, `${field}.clusterIds`);
      for (const id of attr.clusterIds) writeIPv4(w, id, `${field}.clusterIds`);
      return;
    case 'mp-reach-nlri':
      writeFamily(w, attr.family, `${field}.family`);
      writeMpNextHop(w, attr.family, attr.nextHop, attr.linkLocalNextHop, field);
      w.u8(0); // Reserved (formerly the SNPA count)
      for (const [i, p] of attr.nlri.entries()) writePrefix(w, p, attr.family, `${field}.nlri[${i}]`);
      return;
    case 'mp-unreach-nlri':
      writeFamily(w, attr.family, `${field}.family`);
      for (const [i, p] of attr.withdrawn.entries())
        writePrefix(w, p, attr.family, `${field}.withdrawn[${i}]`);
      return;
    case 'extended-communities':
      nonEmpty(attr.communities, `${field}.communities`);
      for (const [i, c] of attr.communities.entries())
        writeExtendedCommunity(w, c, `${field}.communities[${i}]`);
      return;
    case 'large-communities':
      nonEmpty(attr.communities, `${field}.communities`);
      for (const [i, c] of attr.communities.entries())
        writeLargeCommunity(w, c, `${field}.communities[${i}]`);
      return;
    case 'unknown':
      w.bytesFrom(attr.value);
      return;
  }
}

function checkU32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new BgpEncodeError(field, `${v} is not in 0..4294967295`);
  return v;
}

/** RFC 7606 makes a zero-length list malformed, so never send one. */
function nonEmpty(list: readonly unknown[], field: string): void {
  if (list.length === 0) throw new BgpEncodeError(field, 'empty: omit the attribute instead');
}

function writeIPv4(w: ByteWriter, text: string, field: string): void {
  const v = parseIPv4Number(text);
  if (v === undefined) throw new BgpEncodeError(field, `"${text}" is not an IPv4 address`);
  w.u32(v);
}

/** The decoder withdraws routes whose IPv4 next hop is no host address (RFC 4271 6.3). */
function writeIPv4NextHop(w: ByteWriter, text: string, field: string): void {
  writeIPv4(w, text, field);
  if (!isHostAddress(w.bytes[w.pos - 4]!)) throw new BgpEncodeError(field, `${text} is not a host address`);
}

function writeIPv6Address(w: ByteWriter, text: string, field: string): void {
  const at = w.skip(16);
  if (!writeAddressBytes(text, 6, w.bytes, at))
    throw new BgpEncodeError(field, `"${text}" is not an IPv6 address`);
}

function writeFamily(w: ByteWriter, family: string, field: string): void {
  if (family !== 'ipv4' && family !== 'ipv6') throw new BgpEncodeError(field, `unknown family "${family}"`);
  w.u16(family === 'ipv4' ? Afi.IPV4 : Afi.IPV6);
  w.u8(Safi.UNICAST);
}

function writeMpNextHop(
  w: ByteWriter,
  family: string,
  nextHop: string,
  linkLocal: string | undefined,
  field: string,
): void {
  if (family === 'ipv4') {
    if (linkLocal !== undefined)
      throw new BgpEncodeError(`${field}.linkLocalNextHop`, 'only IPv6 next hops have one');
    w.u8(4);
    writeIPv4NextHop(w, nextHop, `${field}.nextHop`);
    return;
  }
  w.u8(linkLocal === undefined ? 16 : 32);
  writeIPv6Address(w, nextHop, `${field}.nextHop`);
  if (linkLocal !== undefined) writeIPv6Address(w, linkLocal, `${field}.linkLocalNextHop`);
}

function writeExtendedCommunity(w: ByteWriter, c: ExtendedCommunity, field: string): void {
  if (!Number.isInteger(c.typeHigh) || c.typeHigh < 0 || c.typeHigh > 255) {
    throw new BgpEncodeError(`${field}.typeHigh`, `${c.typeHigh} is not in 0..255`);
  }
  if (!Number.isInteger(c.typeLow) || c.typeLow < 0 || c.typeLow > 255) {
    throw new BgpEncodeError(`${field}.typeLow`, `${c.typeLow} is not in 0..255`);
  }
  if (c.value.length !== 6)
    throw new BgpEncodeError(`${field}.value`, `${c.value.length} octets, expected 6`);
  w.u8(c.typeHigh);
  w.u8(c.typeLow);
  w.bytesFrom(c.value);
}

function writeLargeCommunity(w: ByteWriter, c: LargeCommunity, field: string): void {
  w.u32(checkU32(c.globalAdmin, `${field}.globalAdmin`));
  w.u32(checkU32(c.localData1, `${field}.localData1`));
  w.u32(checkU32(c.localData2, `${field}.localData2`));
}
