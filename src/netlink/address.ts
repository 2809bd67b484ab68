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

/** Bytes from the kernel -> canonical text (RFC 5952 for IPv6). */
export function formatIp(bytes: Uint8Array): string {
  return formatAddressBytes(bytes, 0, familyOfBytes(bytes));
}

export function familyOfBytes(bytes: Uint8Array): IpFamily {
  if (bytes.length === 4) return 4;
  if (bytes.length === 16) return 6;
  throw new NetlinkDecodeError(`address of ${bytes.length} bytes`, 0);
}
