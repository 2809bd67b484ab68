// Many prefixes into as few UPDATEs as the session's message limit allows. The attributes are
// the same in every message; only the NLRI (or withdrawals) differ. Following RFC 7606 5.1 each
// UPDATE carries one kind of NLRI field.
import type { MpReachNlriAttribute, PathAttribute } from './attributes/types.js';
import { MessageType } from './constants.js';
import { BgpEncodeError } from './errors.js';
import { encodeMessage } from './message.js';
import { type CodecOptions, maxMessageLength } from './options.js';
import { type IpFamily, type Prefix, prefixWireLength } from './prefix.js';
import type { UpdateMessage } from './update.js';

/** An MP attribute's length octet becomes two once its value passes 255 octets. */
const EXTENDED_LENGTH_GROWTH = 1;
const LARGEST_PREFIX = { ipv4: 5, ipv6: 17 } as const;

/**
 * UPDATEs announcing `prefixes` (one family) with `attributes`. IPv4 prefixes go in the classic
 * NLRI field unless the attributes hold an IPv4 mp-reach-nlri; IPv6 prefixes need an IPv6
 * mp-reach-nlri (with empty nlri) supplying the next hop.
 */
export function packUpdates(
  attributes: readonly PathAttribute[],
  prefixes: readonly Prefix[],
  opts: CodecOptions,
): Buffer[] {
  const family = singleFamily(prefixes);
  if (family === undefined) return [];
  const mpIndex = attributes.findIndex((a) => a.type === 'mp-reach-nlri' && a.family === family);
  if (mpIndex < 0) {
    if (family === 'ipv6')
      throw new BgpEncodeError('attributes', 'IPv6 routes need an mp-reach-nlri attribute');
    return pack(prefixes, family, opts, 0, (chunk) => ({
      type: 'update',
      withdrawn: [],
      attributes,
      nlri: chunk,
    }));
  }
  const template = attributes[mpIndex] as MpReachNlriAttribute;
  if (template.nlri.length > 0)
    throw new BgpEncodeError(`attributes[${mpIndex}].nlri`, 'the template must be empty');
  const withNlri = (chunk: readonly Prefix[]): UpdateMessage => ({
    type: 'update',
    withdrawn: [],
    attributes: attributes.map((a, i) => (i === mpIndex ? { ...template, nlri: chunk } : a)),
    nlri: [],
  });
  return pack(prefixes, family, opts, EXTENDED_LENGTH_GROWTH, withNlri);
}

/** UPDATEs withdrawing `prefixes` (one family): the classic field for IPv4, MP_UNREACH_NLRI for IPv6. */
export function packWithdrawals(prefixes: readonly Prefix[], opts: CodecOptions): Buffer[] {
  const family = singleFamily(prefixes);
  if (family === undefined) return [];
  if (family === 'ipv4') {
    return pack(prefixes, family, opts, 0, (chunk) => ({
      type: 'update',
      withdrawn: chunk,
      attributes: [],
      nlri: [],
    }));
  }
  return pack(prefixes, family, opts, EXTENDED_LENGTH_GROWTH, (chunk) => ({
    type: 'update',
    withdrawn: [],
    attributes: [{ type: 'mp-unreach-nlri', family, withdrawn: chunk }],
    nlri: [],
  }));
}

function singleFamily(prefixes: readonly Prefix[]): IpFamily | undefined {
  const family = prefixes[0]?.family;
  prefixes.forEach((p, i) => {
    if (p.family !== family)
      throw new BgpEncodeError(`prefixes[${i}]`, `${p.family} among ${family} prefixes`);
  });
  return family;
}

/**
 * Greedy fill: the message with no prefixes gives the fixed overhead, each prefix adds
 * 1 + ceil(len/8) octets, so sizes are known without encoding twice.
 */
function pack(
  prefixes: readonly Prefix[],
  family: IpFamily,
  opts: CodecOptions,
  slack: number,
  build: (chunk: readonly Prefix[]) => UpdateMessage,
): Buffer[] {
  const overhead = encodeMessage(build([]), opts).length + slack;
  const room = maxMessageLength(opts, MessageType.UPDATE) - overhead;
  if (room < LARGEST_PREFIX[family]) {
    throw new BgpEncodeError('attributes', `${overhead} octets of attributes leave no room for NLRI`);
  }
  const out: Buffer[] = [];
  let first = 0;
  let used = 0;
  for (let i = 0; i < prefixes.length; i++) {
    const size = prefixWireLength(prefixes[i]!);
    if (used + size > room) {
      out.push(encodeMessage(build(prefixes.slice(first, i)), opts));
      first = i;
      used = 0;
    }
    used += size;
  }
  out.push(encodeMessage(build(prefixes.slice(first)), opts));
  return out;
}
