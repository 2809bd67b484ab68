// Address text <-> the raw bytes netlink carries (network byte order, 4 or 16 bytes), with
// netlink's error types. The parsing and formatting themselves are src/net's byte-level fast path.
import {
  familyBits,
  formatAddressBytes,
  type IPFamily,
  parseAddressBytes,
  parsePrefixLength,
} from '../net/index.js';
import { NetlinkDecodeError, NetlinkInputError } from './errors.js';

/** The family names netlink callers already use; the same type as src/net's IPFamily. */
export type IpFamily = IPFamily;

export interface ParsedCidr {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
  readonly prefixLen: number;
}

/** Parses an address of the given family (or either, when `family` is undefined). */
export function parseIp(text: string, family?: IpFamily): { family: IpFamily; bytes: Uint8Array } {
  const parsed = parseAddressBytes(text, family);
  if (parsed !== undefined) return parsed;
  const want = family === undefined ? 'IP' : `IPv${family}`;
  throw new NetlinkInputError(`invalid ${want} address "${text}"`);
}

/** Parses "addr/len"; a bare address means a host prefix (/32 or /128), as for `ip route`. */
export function parseCidr(text: string, family?: IpFamily): ParsedCidr {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash), family);
  const max = familyBits(ip.family);
  const prefixLen = slash === -1 ? max : parsePrefixLength(text, slash + 1);
  if (prefixLen === undefined || prefixLen > max) {
    throw new NetlinkInputError(`invalid prefix length in "${text}" (0..${max})`);
  }
  return { family: ip.family, bytes: ip.bytes, prefixLen };
}

const CHAR_0 = 48;
const CHAR_DOT = 46;
const CHAR_SLASH = 47;

/**
 * An IPv4 prefix exactly as the kernel prints it (`10.1.2.0/24`: decimal octets and length
 * without leading zeros, host bits clear) as `address * 64 + length`; -1 for any other text,
 * which says nothing about why (the general parser finds the precise error). A scan without
 * allocation: a full table passes 100k of these through the route check and the encoder.
 */
export function scanCanonicalIPv4Cidr(text: string): number {
  let at = 0;
  let address = 0;
  for (let part = 0; part < 5; part++) {
    const start = at;
    let value = 0;
    while (at < text.length) {
      const digit = text.charCodeAt(at) - CHAR_0;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
      at++;
    }
    const digits = at - start;
    if (digits === 0 || digits > 3 || (digits > 1 && text.charCodeAt(start) === CHAR_0)) return -1;
    if (part < 4) {
      if (value > 255 || text.charCodeAt(at) !== (part < 3 ? CHAR_DOT : CHAR_SLASH)) return -1;
      address = address * 256 + value;
      at++;
    } else {
      if (value > 32 || at !== text.length) return -1;
      // 2 ** (32 - len) as a float: the host part's size, exact for every length 0..32.
      return address % 2 ** (32 - value) === 0 ? address * 64 + value : -1;
    }
  }
  return -1;
}

/** Bytes from the kernel -> canonical text (RFC 5952 for IPv6). */
export function formatIp(bytes: Uint8Array): string {
  return formatAddressBytes(bytes, 0, familyOfBytes(bytes));
}

export function familyOfBytes(bytes: Uint8Array): IpFamily {
  if (bytes.length === 4) return 4;
  if (bytes.length === 16) return 6;
  throw new NetlinkDecodeError(`address of ${bytes.length} bytes`, 0);
}
