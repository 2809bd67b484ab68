// NLRI prefixes: <length octet, minimum octets of address> (RFC 4271 section 4.3, RFC 4760 section 5).
import type { ByteWriter } from './bytes.js';
import type { BgpError } from './errors.js';
import { BgpEncodeError } from './errors.js';
import { formatIPv4, formatIPv6, parseIPv4, writeIPv6 } from './ip.js';

export type IpFamily = 'ipv4' | 'ipv6';

/** A route's destination. `addr` is canonical text with host bits clear: `{ 'ipv4', '10.0.0.0', 24 }`. */
export interface Prefix {
  readonly family: IpFamily;
  readonly addr: string;
  readonly len: number;
}

const familyBits = (family: IpFamily): 32 | 128 => (family === 'ipv4' ? 32 : 128);

export function formatPrefix(p: Prefix): string {
  return `${p.addr}/${p.len}`;
}

/** Bytes this prefix takes in an NLRI field. */
export function prefixWireLength(p: Prefix): number {
  return 1 + ((p.len + 7) >>> 3);
}

const v6scratch = Buffer.alloc(16);
const addrScratch = Buffer.alloc(16);

/**
 * Parses `10.0.0.0/24` or `2001:db8::/32`. Host bits must be clear: `10.0.0.1/24` is a typo for
 * a host or a network and guessing which is worse than refusing.
 */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const lenText = slash < 0 ? '' : text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) {
    throw new BgpEncodeError('prefix', `"${text}" is not address/length`);
  }
  const addr = text.slice(0, slash);
  const family: IpFamily = addr.includes(':') ? 'ipv6' : 'ipv4';
  const len = Number(lenText);
  const canonical = family === 'ipv4' ? canonicalIPv4(addr) : canonicalIPv6(addr);
  if (canonical === undefined)
    throw new BgpEncodeError('prefix', `"${text}" has an invalid ${family} address`);
  const p: Prefix = { family, addr: canonical, len };
  writeAddress(p, addrScratch, 0, 'prefix');
  return p;
}

function canonicalIPv4(text: string): string | undefined {
  return parseIPv4(text) === undefined ? undefined : text;
}

function canonicalIPv6(text: string): string | undefined {
  return writeIPv6(text, v6scratch, 0) ? formatIPv6(v6scratch, 0) : undefined;
}

/** Writes the address bytes (4 or 16) at out[off]; BgpEncodeError unless p is well formed with host bits clear. */
function writeAddress(p: Prefix, out: Uint8Array, off: number, field: string): void {
  const bits = familyBits(p.family);
  if (!Number.isInteger(p.len) || p.len < 0 || p.len > bits) {
    throw new BgpEncodeError(field, `prefix length ${p.len} is outside 0..${bits}`);
  }
  if (p.family === 'ipv4') {
    const v = parseIPv4(p.addr);
    if (v === undefined) throw new BgpEncodeError(field, `"${p.addr}" is not an IPv4 address`);
    if (p.len < 32 && v % 2 ** (32 - p.len) !== 0) {
      throw new BgpEncodeError(field, `${formatPrefix(p)} has host bits set`);
    }
    out[off] = v >>> 24;
    out[off + 1] = (v >>> 16) & 0xff;
    out[off + 2] = (v >>> 8) & 0xff;
    out[off + 3] = v & 0xff;
    return;
  }
  if (p.family !== 'ipv6') throw new BgpEncodeError(field, `unknown family "${String(p.family)}"`);
  if (!writeIPv6(p.addr, out, off)) throw new BgpEncodeError(field, `"${p.addr}" is not an IPv6 address`);
  const whole = p.len >>> 3;
  const partialBits = p.len & 7;
  for (let i = whole; i < 16; i++) {
    const keep = i === whole && partialBits > 0 ? (0xff << (8 - partialBits)) & 0xff : 0;
    if ((out[off + i]! & ~keep) !== 0)
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
  const bits = familyBits(family);
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

function readPrefix(buf: Buffer, from: number, n: number, len: number, family: IpFamily): Prefix {
  const width = family === 'ipv4' ? 4 : 16;
  const a = addrScratch;
  a.fill(0, 0, width);
  buf.copy(a, 0, from, from + n);
  if (len & 7) a[n - 1] = a[n - 1]! & (0xff << (8 - (len & 7)));
  return { family, addr: family === 'ipv4' ? formatIPv4(a, 0) : formatIPv6(a, 0), len };
}
