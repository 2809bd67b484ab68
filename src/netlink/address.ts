// IP address text <-> the raw bytes netlink carries (network byte order, 4 or 16 bytes).
// Strict: only dotted-quad IPv4 and plain IPv6 (no zone ids), prefixes 0..32 / 0..128.
import ipaddr from 'ipaddr.js';
import { NetlinkDecodeError, NetlinkInputError } from './errors.js';

export type IpFamily = 4 | 6;

export interface ParsedCidr {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
  readonly prefixLen: number;
}

/** Fast strict dotted-quad parse (route batches parse 100k of these). */
function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // A leading zero would be octal to some parsers; refuse the ambiguity.
      if (digits === 1 && value === 0) return undefined;
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || part !== 3) return undefined;
  out[3] = value;
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  return Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray());
}

/** Parses an address of the given family (or either, when `family` is undefined). */
export function parseIp(text: string, family?: IpFamily): { family: IpFamily; bytes: Uint8Array } {
  if (family !== 6) {
    const v4 = parseIPv4(text);
    if (v4 !== undefined) return { family: 4, bytes: v4 };
  }
  if (family !== 4) {
    const v6 = parseIPv6(text);
    if (v6 !== undefined) return { family: 6, bytes: v6 };
  }
  const want = family === undefined ? 'IP' : `IPv${family}`;
  throw new NetlinkInputError(`invalid ${want} address "${text}"`);
}

/** Parses "addr/len"; a bare address means a host prefix (/32 or /128). */
export function parseCidr(text: string, family?: IpFamily): ParsedCidr {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash), family);
  const max = ip.family === 4 ? 32 : 128;
  const prefixLen = slash === -1 ? max : parsePrefixLength(text.slice(slash + 1));
  if (prefixLen === undefined || prefixLen > max) {
    throw new NetlinkInputError(`invalid prefix length in "${text}" (0..${max})`);
  }
  return { family: ip.family, bytes: ip.bytes, prefixLen };
}

/** Decimal without sign or leading zeros, at most 3 digits. */
function parsePrefixLength(text: string): number | undefined {
  if (text.length === 0 || text.length > 3 || (text.length > 1 && text.charCodeAt(0) === 48))
    return undefined;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    value = value * 10 + (c - 48);
  }
  return value;
}

/** Whether any bit beyond the prefix is set (the kernel rejects such route destinations). */
export function hasHostBits(bytes: Uint8Array, prefixLen: number): boolean {
  for (let bit = prefixLen; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return true;
  }
  return false;
}

/** Bytes from the kernel -> canonical text (RFC 5952 for IPv6). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length === 16) return ipaddr.fromByteArray(Array.from(bytes)).toString();
  throw new NetlinkDecodeError(`address of ${bytes.length} bytes`, 0);
}

export function familyOfBytes(bytes: Uint8Array): IpFamily {
  if (bytes.length === 4) return 4;
  if (bytes.length === 16) return 6;
  throw new NetlinkDecodeError(`address of ${bytes.length} bytes`, 0);
}
