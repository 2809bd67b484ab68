// A CIDR prefix (network address + length) for either family, with the arithmetic IPAM needs:
// ordinals inside the prefix, subnet carving, containment and overlap.
import { type IPAddress as Address, type AddressValue, IPAddress, type V4MappedPolicy } from './address.js';
import { parsePrefixLength } from './bytes.js';
import { InvalidAddressError, InvalidPrefixError } from './errors.js';
import { familyBits, type IPFamily } from './family.js';

export interface ParsePrefixOptions {
  /** Default 'reject': `10.0.0.1/24` names a host, not a network, and is probably a typo. */
  hostBits?: 'reject' | 'mask';
  v4Mapped?: V4MappedPolicy;
  family?: IPFamily;
}

const hostMask = (bits: number, length: number): bigint => (1n << BigInt(bits - length)) - 1n;

export function hasHostBits(addr: Address, length: number): boolean {
  return (addr.value & hostMask(addr.bits, length)) !== 0n;
}

export class Prefix {
  private constructor(
    /** The network address: host bits are always zero. */
    readonly network: Address,
    readonly length: number,
  ) {}

  static parse(text: string, opts: ParsePrefixOptions = {}): Prefix {
    const { address, length } = splitCidr(text, opts);
    if (hasHostBits(address, length)) {
      if (opts.hostBits !== 'mask') {
        const canonical = Prefix.containing(address, length).toString();
        throw new InvalidPrefixError(text, 'host-bits', `host bits are set; the network is ${canonical}`);
      }
    }
    return Prefix.containing(address, length);
  }

  /** The prefix of the given length that contains addr (host bits cleared). */
  static containing(addr: Address, length: number): Prefix {
    checkLength(addr.family, length);
    const network = IPAddress.fromBigInt(addr.family, addr.value & ~hostMask(addr.bits, length));
    return new Prefix(network, length);
  }

  /** RangeError if network has host bits for this length. */
  static of(network: Address, length: number): Prefix {
    checkLength(network.family, length);
    if (hasHostBits(network, length)) throw new RangeError(`${network}/${length} has host bits set`);
    return new Prefix(network, length);
  }

  get family(): IPFamily {
    return this.network.family;
  }

  get bits(): 32 | 128 {
    return this.network.bits;
  }

  /** Number of addresses in the prefix. */
  get size(): bigint {
    return 1n << BigInt(this.bits - this.length);
  }

  get first(): Address {
    return this.network;
  }

  get last(): Address {
    return IPAddress.fromBigInt(this.family, this.network.value + this.size - 1n);
  }

  contains(other: AddressValue | Prefix): boolean {
    if (other instanceof Prefix) {
      return other.length >= this.length && this.containsAddress(other.network);
    }
    return this.containsAddress(other);
  }

  overlaps(other: Prefix): boolean {
    return this.contains(other) || other.contains(this);
  }

  /** The address `ordinal` places after the network address; RangeError outside the prefix. */
  addressAt(ordinal: bigint | number): Address {
    const n = BigInt(ordinal);
    if (n < 0n || n >= this.size) throw new RangeError(`ordinal ${n} is outside ${this} (size ${this.size})`);
    return IPAddress.fromBigInt(this.family, this.network.value + n);
  }

  /** Inverse of addressAt; RangeError when addr is not inside the prefix. */
  ordinalOf(addr: Address): bigint {
    if (!this.containsAddress(addr)) throw new RangeError(`${addr} is not inside ${this}`);
    return addr.value - this.network.value;
  }

  *addresses(): Generator<Address> {
    for (let n = 0n; n < this.size; n++) yield IPAddress.fromBigInt(this.family, this.network.value + n);
  }

  /** Number of subnets of length newLength. */
  subnetCount(newLength: number): bigint {
    this.checkSubnetLength(newLength);
    return 1n << BigInt(newLength - this.length);
  }

  /** The index-th subnet of length newLength, in address order. */
  subnetAt(newLength: number, index: bigint | number): Prefix {
    const count = this.subnetCount(newLength);
    const i = BigInt(index);
    if (i < 0n || i >= count) throw new RangeError(`subnet index ${i} is outside 0..${count - 1n}`);
    const step = 1n << BigInt(this.bits - newLength);
    return new Prefix(IPAddress.fromBigInt(this.family, this.network.value + i * step), newLength);
  }

  /** All subnets of length newLength in address order; lazy, because a /64 holds 2^58 /122s. */
  *subnets(newLength: number): Generator<Prefix> {
    const count = this.subnetCount(newLength);
    for (let i = 0n; i < count; i++) yield this.subnetAt(newLength, i);
  }

  equals(other: Prefix): boolean {
    return this.length === other.length && this.network.equals(other.network);
  }

  /** Orders by family, network address, then shorter prefix first. */
  compare(other: Prefix): number {
    return this.network.compare(other.network) || this.length - other.length;
  }

  toString(): string {
    return `${this.network.toString()}/${this.length}`;
  }

  private containsAddress(addr: AddressValue): boolean {
    return (
      addr.family === this.family &&
      addr.value >> BigInt(this.bits - this.length) === this.network.value >> BigInt(this.bits - this.length)
    );
  }

  private checkSubnetLength(newLength: number): void {
    if (!Number.isInteger(newLength) || newLength < this.length || newLength > this.bits) {
      throw new RangeError(
        `subnet length ${newLength} must be between ${this.length} and ${this.bits} for ${this}`,
      );
    }
  }
}

function checkLength(family: IPFamily, length: number): void {
  const bits = familyBits(family);
  if (!Number.isInteger(length) || length < 0 || length > bits) {
    throw new RangeError(`prefix length ${length} is outside 0..${bits} for IPv${family}`);
  }
}

/** Splits "addr/len" and parses both halves, reporting errors against the whole text. */
function splitCidr(text: string, opts: ParsePrefixOptions): { address: Address; length: number } {
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) {
    throw new InvalidPrefixError(text, 'syntax', 'expected ADDRESS/LENGTH');
  }
  let address: Address;
  try {
    address = IPAddress.parse(text.slice(0, slash), {
      v4Mapped: opts.v4Mapped ?? 'reject',
      ...(opts.family !== undefined ? { family: opts.family } : {}),
    });
  } catch (e) {
    if (e instanceof InvalidAddressError) throw new InvalidPrefixError(text, e.code, e.reason);
    throw e;
  }
  const bits = address.bits;
  const length = parsePrefixLength(text, slash + 1);
  if (length === undefined || length > bits) {
    throw new InvalidPrefixError(
      text,
      'length',
      `prefix length must be a decimal 0..${bits} for IPv${address.family}`,
    );
  }
  return { address, length };
}

export const parsePrefix = (text: string, opts?: ParsePrefixOptions): Prefix => Prefix.parse(text, opts);

export function isPrefix(text: string, opts?: ParsePrefixOptions): boolean {
  try {
    Prefix.parse(text, opts);
    return true;
  } catch (e) {
    if (e instanceof InvalidPrefixError) return false;
    throw e;
  }
}

/** An interface address such as `10.0.0.1/24`: the host address plus its on-link prefix. */
export interface InterfaceAddress {
  address: Address;
  prefix: Prefix;
}

export function parseInterfaceAddress(
  text: string,
  opts: Omit<ParsePrefixOptions, 'hostBits'> = {},
): InterfaceAddress {
  const { address, length } = splitCidr(text, opts);
  return { address, prefix: Prefix.containing(address, length) };
}
