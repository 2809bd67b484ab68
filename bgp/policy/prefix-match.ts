// Prefix-list matching: is a route's prefix inside an entry's prefix, with an accepted length?

import { parseIPv4Number, writeAddressBytes } from '../../src/net/index.js';
import type { Prefix } from '../codec/index.js';
import type { PrefixListEntry } from './model.js';

const bitsOf = (p: Prefix): 32 | 128 => (p.family === 'ipv4' ? 32 : 128);

/** The accepted route lengths of an entry (see PrefixListEntry). */
export function lengthRange(entry: PrefixListEntry): { readonly min: number; readonly max: number } {
  const { ge, le } = entry;
  if (ge === undefined && le === undefined) return { min: entry.prefix.len, max: entry.prefix.len };
  return { min: ge ?? entry.prefix.len, max: le ?? bitsOf(entry.prefix) };
}

const a6 = Buffer.alloc(16);
const b6 = Buffer.alloc(16);

/** `inner` lies within `outer` (same family, first outer.len bits equal, inner at least as long). */
export function covers(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.len < outer.len) return false;
  if (outer.len === 0) return true;
  if (outer.family === 'ipv4') {
    const shift = 32 - outer.len;
    // Division instead of >>> keeps the values unsigned for /1.
    return (
      Math.floor(parseIPv4Number(outer.addr)! / 2 ** shift) ===
      Math.floor(parseIPv4Number(inner.addr)! / 2 ** shift)
    );
  }
  writeAddressBytes(outer.addr, 6, a6, 0);
  writeAddressBytes(inner.addr, 6, b6, 0);
  const whole = outer.len >>> 3;
  if (a6.compare(b6, 0, whole, 0, whole) !== 0) return false;
  const rest = outer.len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a6[whole]! & mask) === (b6[whole]! & mask);
}

export function entryMatches(entry: PrefixListEntry, route: Prefix): boolean {
  const { min, max } = lengthRange(entry);
  return route.len >= min && route.len <= max && covers(entry.prefix, route);
}
