// Strict IP address and CIDR parsing for policy input, as integers so containment is exact.
// Host bits in a CIDR are accepted and cleared, as the API server's CIDR parser does.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface IpAddress {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** Network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

const WIDTH: Record<Family, number> = { 4: 32, 6: 128 };

/** Returns undefined for anything but a plain dotted-quad IPv4 or an IPv6 address without zone. */
export function parseIp(text: string): IpAddress | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 4, value: bytesToBigint(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text)) {
    return { family: 6, value: bytesToBigint(ipaddr.IPv6.parse(text).toByteArray()) };
  }
  return undefined;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (addr === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > WIDTH[addr.family]) return undefined;
  return { family: addr.family, base: addr.value & prefixMask(addr.family, prefix), prefix };
}

export function cidrContainsAddress(cidr: Cidr, addr: IpAddress): boolean {
  return cidr.family === addr.family && (addr.value & prefixMask(cidr.family, cidr.prefix)) === cidr.base;
}

/** True when `inner` lies inside `outer` (equal counts as inside). */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    (inner.base & prefixMask(outer.family, outer.prefix)) === outer.base
  );
}

export function formatIp(addr: IpAddress): string {
  const bytes = bigintToBytes(addr.value, WIDTH[addr.family] / 8);
  const ip = ipaddr.fromByteArray(bytes);
  return ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toRFC5952String() : ip.toString();
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.base })}/${cidr.prefix}`;
}

/** Total order: family, then address, then prefix; for deterministic output. */
export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.base !== b.base) return a.base < b.base ? -1 : 1;
  return a.prefix - b.prefix;
}

export function compareIps(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
}

/**
 * ipset's hash:net cannot store a /0, so a whole address space becomes its two /1 halves;
 * any other CIDR is returned as is.
 */
export function storableCidrs(cidr: Cidr): Cidr[] {
  if (cidr.prefix > 0) return [cidr];
  const top = 1n << BigInt(WIDTH[cidr.family] - 1);
  return [
    { family: cidr.family, base: 0n, prefix: 1 },
    { family: cidr.family, base: top, prefix: 1 },
  ];
}

function prefixMask(family: Family, prefix: number): bigint {
  const width = BigInt(WIDTH[family]);
  const all = (1n << width) - 1n;
  return all ^ ((1n << (width - BigInt(prefix))) - 1n);
}

function bytesToBigint(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bigintToBytes(value: bigint, length: number): number[] {
  const out = new Array<number>(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
