// An IP address as (family, unsigned integer). Text goes through the byte-level parser and
// formatter in bytes.ts; the integer form makes ordinal arithmetic and ordering trivial for both
// families.
import { formatAddressBytes, parseAddressBytes } from './bytes.js';
import { InvalidAddressError } from './errors.js';
import { familyBits, type IPFamily } from './family.js';

/** What to do with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`). */
export type V4MappedPolicy = 'reject' | 'unmap' | 'keep';

export interface ParseAddressOptions {
  /**
   * Default 'reject': a mapped address in configuration is almost always a mistake for the
   * IPv4 address, and silently treating it as IPv6 would put it in the wrong family's tables.
   */
  v4Mapped?: V4MappedPolicy;
  /** Require this family. */
  family?: IPFamily;
}

/** An address as plain data: all that ordering and containment read, so records may carry it. */
export interface AddressValue {
  readonly family: IPFamily;
  readonly value: bigint;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;
const V4_MAPPED_MASK = ~((1n << 32n) - 1n) & ((1n << 128n) - 1n);

export class IPAddress {
  private constructor(
    readonly family: IPFamily,
    readonly value: bigint,
  ) {}

  static parse(text: string, opts: ParseAddressOptions = {}): IPAddress {
    const addr = parseRaw(text);
    const policy = opts.v4Mapped ?? 'reject';
    let result = addr;
    if (addr.isIPv4Mapped()) {
      if (policy === 'reject') {
        throw new InvalidAddressError(
          text,
          'v4-mapped',
          `IPv4-mapped IPv6 address; write the IPv4 address ${addr.unmap().toString()} instead`,
        );
      }
      if (policy === 'unmap') result = addr.unmap();
    }
    if (opts.family !== undefined && result.family !== opts.family) {
      throw new InvalidAddressError(text, 'family', `not an IPv${opts.family} address`);
    }
    return result;
  }

  /** Builds an address from its integer value; RangeError when it does not fit the family. */
  static fromBigInt(family: IPFamily, value: bigint): IPAddress {
    if (value < 0n || value >= 1n << BigInt(familyBits(family))) {
      throw new RangeError(`${value} is not an IPv${family} address value`);
    }
    return new IPAddress(family, value);
  }

  static fromBytes(bytes: Uint8Array | readonly number[]): IPAddress {
    if (bytes.length !== 4 && bytes.length !== 16) {
      throw new RangeError(`an IP address has 4 or 16 bytes, got ${bytes.length}`);
    }
    let value = 0n;
    for (const b of bytes) {
      if (!Number.isInteger(b) || b < 0 || b > 255) throw new RangeError(`not a byte: ${b}`);
      value = (value << 8n) | BigInt(b);
    }
    return new IPAddress(bytes.length === 4 ? 4 : 6, value);
  }

  get bits(): 32 | 128 {
    return familyBits(this.family);
  }

  isIPv4Mapped(): boolean {
    return this.family === 6 && (this.value & V4_MAPPED_MASK) === V4_MAPPED_PREFIX;
  }

  /** The IPv4 address inside a mapped IPv6 address; other addresses are returned unchanged. */
  unmap(): IPAddress {
    return this.isIPv4Mapped() ? new IPAddress(4, this.value & 0xffffffffn) : this;
  }

  toBytes(): Uint8Array {
    const n = this.bits / 8;
    const out = new Uint8Array(n);
    let v = this.value;
    for (let i = n - 1; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  }

  /**
   * Canonical text: dotted quad, or RFC 5952. A mapped address keeps its dotted tail (RFC 5952
   * section 5) because it only survives parsing by request and is then shown to a human.
   */
  toString(): string {
    const bytes = this.toBytes();
    if (this.isIPv4Mapped()) return `::ffff:${formatAddressBytes(bytes, 12, 4)}`;
    return formatAddressBytes(bytes, 0, this.family);
  }

  equals(other: AddressValue): boolean {
    return this.family === other.family && this.value === other.value;
  }

  /** Orders IPv4 before IPv6, then numerically. */
  compare(other: AddressValue): number {
    return compareAddresses(this, other);
  }
}

/** Orders IPv4 before IPv6, then numerically; for records that carry an address's value. */
export function compareAddresses(a: AddressValue, b: AddressValue): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

function parseRaw(text: string): IPAddress {
  if (text.includes('%')) {
    throw new InvalidAddressError(text, 'zone', 'zone identifiers (%...) are not allowed here');
  }
  const isV6 = text.includes(':');
  const parsed = parseAddressBytes(text, isV6 ? 6 : 4);
  if (parsed === undefined) {
    throw new InvalidAddressError(
      text,
      'syntax',
      isV6 ? 'not a valid IPv6 address' : 'not a dotted-quad IPv4 address (a.b.c.d, no leading zeros)',
    );
  }
  return IPAddress.fromBytes(parsed.bytes);
}

export const parseAddress = (text: string, opts?: ParseAddressOptions): IPAddress =>
  IPAddress.parse(text, opts);

/** Canonical text of an address; IPv4-mapped IPv6 becomes the IPv4 address. */
export const normalizeAddress = (text: string): string =>
  IPAddress.parse(text, { v4Mapped: 'unmap' }).toString();

export function isAddress(text: string, opts?: ParseAddressOptions): boolean {
  try {
    IPAddress.parse(text, opts);
    return true;
  } catch (e) {
    if (e instanceof InvalidAddressError) return false;
    throw e;
  }
}
