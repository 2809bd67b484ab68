// Policy's use of the address core (src/net): how NetworkPolicy text is read, and the ipset limit
// the compiler works around. An ipBlock CIDR may have host bits set and they are cleared, as the
// API server's CIDR parser does; an IPv4-mapped IPv6 address is kept as the IPv6 address it is,
// because traffic to it is IPv6 traffic.
import {
  type AddressValue,
  compareAddresses,
  InvalidAddressError,
  InvalidPrefixError,
  IPAddress,
  type IPFamily,
  Prefix,
} from '../src/net/index.js';

export type Family = IPFamily;
/** Pod and packet addresses: IPAddress values, or records that carry one's family and value. */
export type IpAddress = AddressValue;
/** A network; host bits are always clear. */
export type Cidr = Prefix;

export function parseIp(text: string): IPAddress | undefined {
  try {
    return IPAddress.parse(text, { v4Mapped: 'keep' });
  } catch (e) {
    if (e instanceof InvalidAddressError) return undefined;
    throw e;
  }
}

export function parseCidr(text: string): Cidr | undefined {
  try {
    return Prefix.parse(text, { hostBits: 'mask', v4Mapped: 'keep' });
  } catch (e) {
    if (e instanceof InvalidPrefixError) return undefined;
    throw e;
  }
}

export const formatIp = (addr: IpAddress): string => IPAddress.fromBigInt(addr.family, addr.value).toString();

// Function forms of src/net methods, for the compiler modules that pass them to sort/map/filter.
export const cidrContainsAddress = (cidr: Cidr, addr: IpAddress): boolean => cidr.contains(addr);
export const compareIps = compareAddresses;
export const compareCidrs = (a: Cidr, b: Cidr): number => a.compare(b);
export const formatCidr = (cidr: Cidr): string => cidr.toString();

/**
 * ipset's hash:net cannot store a /0, so a whole address space becomes its two /1 halves;
 * any other CIDR is returned as is.
 */
export function storableCidrs(cidr: Cidr): Cidr[] {
  return cidr.length > 0 ? [cidr] : [...cidr.subnets(1)];
}
