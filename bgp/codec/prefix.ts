// NLRI prefixes: <length octet, minimum octets of address> (RFC 4271 section 4.3, RFC 4760 section 5).
import {
  familyBits,
  familyBytes,
  formatAddressBytes,
  hasHostBitsAt,
  type IPFamily as NetFamily,
  parsePrefixLength,
  writeAddressBytes,
} from '../../src/net/index.js';
import type { ByteWriter } from './bytes.js';
import type { BgpError } from './errors.js';
import { BgpEncodeError } from './errors.js';

export type IpFamily = 'ipv4' | 'ipv6';

/** A route's destination. `addr` is canonical text with host bits clear: `{ 'ipv4', '10.0.0.0', 24 }`. */
export interface Prefix {
  readonly family: IpFamily;
  readonly addr: string;
  readonly len: number;
}

const netFamily = (family: IpFamily): NetFamily => (family === 'ipv4' ? 4 : 6);

export function formatPrefix(p: Prefix): string {
  return `${p.addr}/${p.len}`;
}

/** Bytes this prefix takes in an NLRI field. */
export function prefixWireLength(p: Prefix): number {
  return 1 + ((p.len + 7) >>> 3);
}

const addrScratch = Buffer.alloc(16);

/**
 * Parses `10.0.0.0/24` or `2001:db8::/32`. Host bits must be clear: `10.0.0.1/24` is a typo for
 * a host or a network and guessing which is worse than refusing.
 */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const len = slash < 0 ? undefined : parsePrefixLength(text, slash + 1);
  if (len === undefined) throw new BgpEncodeError('prefix', `"${text}" is not address/length`);
  const addr = text.slice(0, slash);
  const family: IpFamily = addr.includes(':') ? 'ipv6' : 'ipv4';
  writeAddress({ family, addr, len }, addrScratch, 0, 'prefix');
  // A dotted quad that parses is canonical already; IPv6 text has many spellings.
  return { family, addr: family === 'ipv4' ? addr : formatAddressBytes(addrScratch, 0, 6), len };
}

/** Writes the address bytes (4 or 16) at out[off]; BgpEncodeError unless p is well formed with host bits clear. */
function writeAddress(p: Prefix, out: Uint8Array, off: number, field: string): void {
  if (p.family !== 'ipv4' && p.family !== 'ipv6') {
    throw new BgpEncodeError(field, `unknown family "${String(p.family)}"`);
  }
  const family = netFamily(p.family);
  const bits = familyBits(family);
  if (!Number.isInteger(p.len) || p.len < 0 || p.len > bits) {
    throw new BgpEncodeError(field, `prefix length ${p.len} is outside 0..${bits}`);
  }
  if (!writeAddressBytes(p.addr, family, out, off)) {
    throw new BgpEncodeError(field, `"${p.addr}" is not an ${p.family} address`);
  }
  if (hasHostBitsAt(out, off, family, p.len)) {
    throw new BgpEncodeError(field, `${formatPrefix(p)} has host bits set`);
  }
}

/** Appends one NLRI entry. Throws BgpEncodeError if p is malformed or of the wrong family. */
export function writePrefix(w: ByteWriter, p: Prefix, family: IpFamily, field: string): void {
  if (p.family !== family) throw new BgpEncodeError(field, `expected an ${family} prefix, got ${p.family}`);
  writeAddress(p, addrScratch, 0, field);
  const n = (p.len + 7) >>> 3;
  w.ensure(1 + n);
  w.u8(p.len);
  w.bytesFrom(addrScratch.subarray(0, n));
}

/**
 * Decodes the NLRI entries in buf[start, end). Trailing bits past the length are irrelevant
 * (RFC 4271 section 4.3) and are cleared. A length beyond the family's width or an entry that
 * overruns the field is a syntax error (RFC 7606 section 5.3): `fail` builds the BgpError.
 */
export function decodePrefixes(
  buf: Buffer,
  start: number,
  end: number,
  family: IpFamily,
  fail: (reason: string) => BgpError,
): Prefix[] {
  const out: Prefix[] = [];
  const bits = familyBits(netFamily(family));
  let off = start;
  while (off < end) {
    const len = buf[off]!;
    if (len > bits) throw fail(`${family} prefix length ${len} exceeds ${bits}`);
    const n = (len + 7) >>> 3;
    if (off + 1 + n > end)
      throw fail(`prefix of length ${len} overruns the field by ${off + 1 + n - end} octets`);
    out.push(readPrefix(buf, off + 1, n, len, family));
    off += 1 + n;
  }
  return out;
}

/** Octet i of an n-octet NLRI address at buf[from], zero past the end, host bits of a /len cleared. */
function octet(buf: Buffer, from: number, n: number, len: number, i: number): number {
  if (i >= n) return 0;
  const value = buf[from + i]!;
  return i === n - 1 && len & 7 ? value & (0xff << (8 - (len & 7))) : value;
}

function readPrefix(buf: Buffer, from: number, n: number, len: number, family: IpFamily): Prefix {
  // IPv4 straight from the message: no scratch copy per prefix of a full table.
  if (family === 'ipv4') {
    const addr = `${octet(buf, from, n, len, 0)}.${octet(buf, from, n, len, 1)}.${octet(buf, from, n, len, 2)}.${octet(buf, from, n, len, 3)}`;
    return { family, addr, len };
  }
  const width = familyBytes(netFamily(family));
  const a = addrScratch;
  a.fill(0, 0, width);
  buf.copy(a, 0, from, from + n);
  if (len & 7) a[n - 1] = a[n - 1]! & (0xff << (8 - (len & 7)));
  return { family, addr: formatAddressBytes(a, 0, netFamily(family)), len };
}
