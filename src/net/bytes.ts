// Address text <-> network-byte-order bytes: the hot-path API for wire codecs (netlink route
// batches, BGP UPDATEs at 100k prefixes/s). Hand-written, once, because ipaddr.js allocates an
// object and arrays per address and runs several regular expressions (about 10x slower here); everything else in
// src/net builds on these functions, and the tests hold them to ipaddr.js as the oracle.
//
// Text accepted: IPv4 as a strict dotted quad (four decimal parts 0..255, no leading zeros: '010'
// is octal to inet_aton and decimal to humans), IPv6 as RFC 4291 section 2.2 text (1..4 hex digits
// per group, at most one '::', an optional dotted-quad tail), no zone id. Text produced: dotted
// quad, and RFC 5952 section 4 for IPv6 (lower case, no leading zeros, the first longest run of
// two or more zero groups as '::'; mapped addresses in hex, as ipaddr.js and WHATWG URL write them).
import { familyBytes, type IPFamily } from './family.js';

export interface AddressBytes {
  readonly family: IPFamily;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

export interface CidrBytes extends AddressBytes {
  /** Prefix length, 0..32 or 0..128. Host bits may be set: see hasHostBitsAt. */
  readonly length: number;
}

const DOT = 46;
const COLON = 58;
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/**
 * text[start, end) as an unsigned 32-bit number, or undefined if it is not a strict dotted quad.
 * For codecs that write an IPv4 address as one u32.
 */
export function parseIPv4Number(text: string, start = 0, end = text.length): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (digits === 1 && part === 0) return undefined;
      part = part * 10 + (c - DIGIT_0);
      digits++;
      if (part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || dots !== 3) return undefined;
  return value * 256 + part;
}

function hexDigit(c: number): number {
  if (c >= DIGIT_0 && c <= DIGIT_9) return c - DIGIT_0;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** Parser scratch: one address's eight 16-bit groups, so a failed parse writes nothing out. */
const groups = new Uint16Array(8);

/** Fills `groups` from IPv6 text in a single pass; false on any syntax error. */
function parseIPv6Groups(text: string): boolean {
  const end = text.length;
  if (end < 2) return false;
  let i = 0;
  let n = 0;
  let gap = -1;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    if (n === 8) return false;
    const groupStart = i;
    let value = 0;
    while (i < end) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      i++;
    }
    if (i < end && text.charCodeAt(i) === DOT) {
      // An embedded IPv4 address is the last two groups (RFC 4291 section 2.2, form 3).
      const v4 = n <= 6 ? parseIPv4Number(text, groupStart, end) : undefined;
      if (v4 === undefined) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    if (i === groupStart || i - groupStart > 4) return false;
    groups[n++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== COLON) return false;
    i++;
    if (i < end && text.charCodeAt(i) === COLON) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) return n === 8;
  if (n === 8) return false;
  const tail = n - gap;
  for (let k = tail - 1; k >= 0; k--) groups[8 - tail + k] = groups[gap + k]!;
  groups.fill(0, gap, 8 - tail);
  return true;
}

/**
 * Writes the address (4 or 16 bytes) at buf[offset]. false, and nothing written, if text is not
 * an address of that family. The caller makes sure the bytes fit.
 */
export function writeAddressBytes(text: string, family: IPFamily, buf: Uint8Array, offset: number): boolean {
  if (family === 4) {
    const v = parseIPv4Number(text);
    if (v === undefined) return false;
    buf[offset] = v >>> 24;
    buf[offset + 1] = (v >>> 16) & 0xff;
    buf[offset + 2] = (v >>> 8) & 0xff;
    buf[offset + 3] = v & 0xff;
    return true;
  }
  if (!parseIPv6Groups(text)) return false;
  for (let k = 0; k < 8; k++) {
    buf[offset + 2 * k] = groups[k]! >>> 8;
    buf[offset + 2 * k + 1] = groups[k]! & 0xff;
  }
  return true;
}

/** The address as fresh bytes, of the given family or either; undefined if it is not one. */
export function parseAddressBytes(text: string, family?: IPFamily): AddressBytes | undefined {
  // Text with a colon can only be IPv6; trying IPv4 first would just fail at that colon.
  const guess: IPFamily = family ?? (text.includes(':') ? 6 : 4);
  const bytes = new Uint8Array(familyBytes(guess));
  return writeAddressBytes(text, guess, bytes, 0) ? { family: guess, bytes } : undefined;
}

/** A prefix length: decimal without sign or leading zeros, at most three digits; not range-checked. */
export function parsePrefixLength(text: string, start = 0, end = text.length): number | undefined {
  const digits = end - start;
  if (digits < 1 || digits > 3 || (digits > 1 && text.charCodeAt(start) === DIGIT_0)) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return undefined;
    value = value * 10 + (c - DIGIT_0);
  }
  return value;
}

/** `ADDRESS/LENGTH` with the length in range for the family; undefined otherwise. */
export function parseCidrBytes(text: string, family?: IPFamily): CidrBytes | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const length = parsePrefixLength(text, slash + 1);
  if (length === undefined) return undefined;
  const address = parseAddressBytes(text.slice(0, slash), family);
  if (address === undefined || length > familyBytes(address.family) * 8) return undefined;
  return { family: address.family, bytes: address.bytes, length };
}

/** Whether any bit after the first `length` of the address at buf[offset] is set. */
export function hasHostBitsAt(buf: Uint8Array, offset: number, family: IPFamily, length: number): boolean {
  const width = familyBytes(family);
  let i = length >>> 3;
  if (length & 7 && buf[offset + i++]! & (0xff >>> (length & 7))) return true;
  for (; i < width; i++) if (buf[offset + i] !== 0) return true;
  return false;
}

/** Byte -> hex without leading zeros, and zero-padded to two digits, for RFC 5952 groups. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16));
const HEX2 = HEX.map((h) => h.padStart(2, '0'));

function formatGroup(buf: Uint8Array, at: number): string {
  const hi = buf[at]!;
  return hi === 0 ? HEX[buf[at + 1]!]! : HEX[hi]! + HEX2[buf[at + 1]!]!;
}

function formatIPv6(buf: Uint8Array, offset: number): string {
  // The first longest run of two or more zero groups becomes '::' (RFC 5952 section 4.2).
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let k = 0; k < 8; k++) {
    if (buf[offset + 2 * k] === 0 && buf[offset + 2 * k + 1] === 0) {
      if (runStart < 0) runStart = k;
      if (k - runStart + 1 > bestLength) {
        bestStart = runStart;
        bestLength = k - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  const bestEnd = bestStart + bestLength;
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      out += '::';
      k = bestEnd - 1;
      continue;
    }
    if (k > 0 && k !== bestEnd) out += ':';
    out += formatGroup(buf, offset + 2 * k);
  }
  return out;
}

/** Canonical text of the address at buf[offset]: dotted quad, or RFC 5952 IPv6. */
export function formatAddressBytes(buf: Uint8Array, offset: number, family: IPFamily): string {
  if (family === 4) return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
  return formatIPv6(buf, offset);
}
