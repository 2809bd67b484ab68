// AS_PATH / AS4_PATH segment encoding and the RFC 6793 translation between a four-octet path and
// the (AS_PATH with AS_TRANS, AS4_PATH) pair a two-octet session carries.
import type { ByteWriter } from '../bytes.js';
import { AS_TRANS, AsPathSegmentType as SegmentCode } from '../constants.js';
import { BgpEncodeError } from '../errors.js';
import type { AsPathSegment, AsPathSegmentType } from './types.js';

const CODE_OF: Record<AsPathSegmentType, number> = {
  set: SegmentCode.AS_SET,
  sequence: SegmentCode.AS_SEQUENCE,
  'confed-sequence': SegmentCode.AS_CONFED_SEQUENCE,
  'confed-set': SegmentCode.AS_CONFED_SET,
};

const TYPE_OF: readonly (AsPathSegmentType | undefined)[] = [
  undefined,
  'set',
  'sequence',
  'confed-sequence',
  'confed-set',
];

export const isConfedSegment = (s: AsPathSegment): boolean =>
  s.type === 'confed-sequence' || s.type === 'confed-set';

/** Path length for route selection: a sequence counts each AS, a set counts 1, confederation segments 0 (RFC 4271 9.1.2.2, RFC 5065). */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === 'sequence') n += s.asns.length;
    else if (s.type === 'set') n += 1;
  }
  return n;
}

/**
 * Writes segments with AS numbers of `width` octets. At width 2, AS numbers above 65535 become
 * AS_TRANS. Throws BgpEncodeError for empty or over-long segments and AS 0 (RFC 7607).
 */
export function writeAsPathValue(
  w: ByteWriter,
  segments: readonly AsPathSegment[],
  width: 2 | 4,
  field: string,
): void {
  segments.forEach((seg, i) => {
    const code = CODE_OF[seg.type];
    if (code === undefined)
      throw new BgpEncodeError(`${field}[${i}].type`, `unknown segment type "${seg.type}"`);
    if (seg.asns.length < 1 || seg.asns.length > 255) {
      throw new BgpEncodeError(`${field}[${i}]`, `${seg.asns.length} AS numbers; a segment holds 1..255`);
    }
    w.ensure(2 + seg.asns.length * width);
    w.u8(code);
    w.u8(seg.asns.length);
    for (const asn of seg.asns) {
      if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff) {
        throw new BgpEncodeError(`${field}[${i}]`, `AS ${asn} is not in 1..4294967295`);
      }
      if (width === 4) w.u32(asn);
      else w.u16(asn > 0xffff ? AS_TRANS : asn);
    }
  });
}

/**
 * Decodes segments of `width`-octet AS numbers from buf[start, end). Returns the reason text if
 * the path is malformed in any of the ways RFC 7606 section 7.2 and RFC 7607 list.
 */
export function decodeAsPathValue(
  buf: Buffer,
  start: number,
  end: number,
  width: 2 | 4,
): AsPathSegment[] | string {
  const segments: AsPathSegment[] = [];
  let off = start;
  while (off < end) {
    if (off + 2 > end) return 'one octet left where a segment header was expected';
    const type = TYPE_OF[buf[off]!];
    const count = buf[off + 1]!;
    if (type === undefined) return `unknown segment type ${buf[off]}`;
    if (count === 0) return 'segment of length zero';
    const segEnd = off + 2 + count * width;
    if (segEnd > end) return `segment of ${count} AS numbers overruns the attribute`;
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const at = off + 2 + i * width;
      const asn = width === 4 ? buf.readUInt32BE(at) : buf.readUInt16BE(at);
      if (asn === 0) return 'AS 0 in the path (RFC 7607)';
      asns[i] = asn;
    }
    segments.push({ type, asns });
    off = segEnd;
  }
  return segments;
}

/** RFC 6793 4.2.2: AS4_PATH is sent only if some AS outside confederation segments does not fit two octets. */
export function needsAs4Path(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => !isConfedSegment(s) && s.asns.some((asn) => asn > 0xffff));
}

/** The AS4_PATH content for a path: confederation segments excluded (RFC 6793 4.2.2). */
export function as4PathSegments(segments: readonly AsPathSegment[]): AsPathSegment[] {
  return segments.filter((s) => !isConfedSegment(s));
}

/**
 * Rebuilds the four-octet path from a two-octet AS_PATH and an AS4_PATH (RFC 6793 4.2.3). If
 * AS_PATH is shorter, AS4_PATH is ignored. Otherwise the leading AS numbers AS_PATH has beyond
 * AS4_PATH's count (old speakers that prepended after the last new one) are prepended to
 * AS4_PATH, together with leading confederation segments.
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): AsPathSegment[] {
  const as4 = as4PathSegments(as4Path);
  const oldCount = asPathLength(asPath);
  const newCount = asPathLength(as4);
  if (oldCount < newCount) return [...asPath];
  let need = oldCount - newCount;
  const head: AsPathSegment[] = [];
  let cutSequence = false;
  for (let i = 0; i < asPath.length; i++) {
    const seg = asPath[i]!;
    const confed = isConfedSegment(seg);
    if (confed && (i === 0 || head.length === i)) {
      head.push(seg);
      continue;
    }
    if (need === 0 || confed) break;
    if (seg.type === 'set') {
      head.push(seg);
      need -= 1;
    } else {
      const take = Math.min(need, seg.asns.length);
      need -= take;
      if (take < seg.asns.length) {
        head.push({ type: seg.type, asns: seg.asns.slice(0, take) });
        cutSequence = true;
        break;
      }
      head.push(seg);
    }
  }
  return cutSequence ? joinCutSequence(head, as4) : [...head, ...as4];
}

/** head ++ tail where head ends in a sequence cut short: it continues in tail's first sequence. */
function joinCutSequence(head: AsPathSegment[], tail: readonly AsPathSegment[]): AsPathSegment[] {
  const last = head[head.length - 1]!;
  const first = tail[0];
  if (first?.type === 'sequence' && last.asns.length + first.asns.length <= 255) {
    return [
      ...head.slice(0, -1),
      { type: 'sequence', asns: [...last.asns, ...first.asns] },
      ...tail.slice(1),
    ];
  }
  return [...head, ...tail];
}
