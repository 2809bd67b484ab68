// IPAM blocks: fixed-size subnets carved from a pool, and the object names derived from them.
import type { IPAddress } from './address.js';
import { InvalidPrefixError } from './errors.js';
import { Prefix } from './prefix.js';

/** The blocks of a pool in address order; RangeError if blockSize is shorter than the pool. */
export function carveBlocks(pool: Prefix, blockSize: number): Generator<Prefix> {
  return pool.subnets(blockSize);
}

/** The block of the given size that holds addr. */
export function blockOf(addr: IPAddress, blockSize: number): Prefix {
  return Prefix.containing(addr, blockSize);
}

/**
 * IPAMBlock object name: the canonical block CIDR with '.', ':' and '/' replaced by '-'
 * (`10.244.0.64/26` → `10-244-0-64-26`, `fd00::40/122` → `fd00--40-122`). Dots are replaced
 * too so that `<node>.<blockName>` (BlockAffinity) splits unambiguously at its last dot.
 */
export function blockName(cidr: string | Prefix): string {
  const prefix = typeof cidr === 'string' ? Prefix.parse(cidr) : cidr;
  return prefix.toString().replace(/[.:/]/g, '-');
}

/**
 * Inverse of blockName. Unambiguous: an IPv4 name has exactly five non-empty fields, while a
 * canonical (RFC 5952) IPv6 name has either nine fields or an empty one where '::' was.
 */
export function parseBlockName(name: string): Prefix {
  const fields = name.split('-');
  const length = fields.pop();
  if (length === undefined || fields.length < 2) {
    throw new InvalidPrefixError(name, 'syntax', 'not a block name (expected e.g. 10-244-0-64-26)');
  }
  const isV4 = fields.length === 4 && fields.every((f) => f !== '');
  const cidr = `${fields.join(isV4 ? '.' : ':')}/${length}`;
  let prefix: Prefix;
  try {
    prefix = Prefix.parse(cidr);
  } catch (e) {
    if (e instanceof InvalidPrefixError)
      throw new InvalidPrefixError(name, e.code, `not a block name: ${e.reason}`);
    throw e;
  }
  if (blockName(prefix) !== name) {
    throw new InvalidPrefixError(
      name,
      'syntax',
      `not a canonical block name (expected ${blockName(prefix)})`,
    );
  }
  return prefix;
}
