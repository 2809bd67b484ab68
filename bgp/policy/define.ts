// Validation of RoutePolicy objects, so evaluation never meets a nonsensical value.
import type { LargeCommunity } from '../codec/index.js';
import { PolicyError } from './errors.js';
import type { PrefixListEntry, RouteAction, RoutePolicy } from './model.js';

const U32 = 0xffffffff;
const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= U32;

function checkEntry(e: PrefixListEntry, field: string): void {
  const bits = e.prefix.family === 'ipv4' ? 32 : 128;
  for (const key of ['ge', 'le'] as const) {
    const v = e[key];
    if (v !== undefined && (!Number.isInteger(v) || v < e.prefix.len || v > bits)) {
      throw new PolicyError(`${field}.${key}`, `must be between ${e.prefix.len} and ${bits} (got ${v})`);
    }
  }
  if (e.ge !== undefined && e.le !== undefined && e.ge > e.le) {
    throw new PolicyError(field, `ge ${e.ge} is greater than le ${e.le}`);
  }
}

function checkCommunities(list: readonly number[], field: string): void {
  list.forEach((c, i) => {
    if (!isU32(c)) throw new PolicyError(`${field}[${i}]`, `${c} is not a 32-bit community`);
  });
}

function checkLarge(list: readonly LargeCommunity[], field: string): void {
  list.forEach((c, i) => {
    if (![c.globalAdmin, c.localData1, c.localData2].every(isU32)) {
      throw new PolicyError(`${field}[${i}]`, 'each part of a large community is 0..4294967295');
    }
  });
}

function checkAction(a: RouteAction, field: string): void {
  switch (a.type) {
    case 'set-communities':
    case 'add-communities':
    case 'remove-communities':
      checkCommunities(a.communities, `${field}.communities`);
      return;
    case 'add-large-communities':
    case 'remove-large-communities':
      checkLarge(a.communities, `${field}.communities`);
      return;
    case 'set-local-pref':
      if (!isU32(a.localPref)) throw new PolicyError(`${field}.localPref`, `${a.localPref} is not 0..${U32}`);
      return;
    case 'set-med':
      if (!isU32(a.med)) throw new PolicyError(`${field}.med`, `${a.med} is not 0..${U32}`);
      return;
    case 'prepend':
      // More than a few prepends is a typo; 255 is what one AS_SEQUENCE segment holds.
      if (!Number.isInteger(a.count) || a.count < 1 || a.count > 255) {
        throw new PolicyError(`${field}.count`, `must be 1..255 (got ${a.count})`);
      }
      if (a.asn !== undefined && (!isU32(a.asn) || a.asn === 0)) {
        throw new PolicyError(`${field}.asn`, `${a.asn} is not an AS number 1..${U32}`);
      }
      return;
    case 'next-hop-self':
      return;
    default:
      throw new PolicyError(`${field}.type`, `unknown action "${(a as { type: string }).type}"`);
  }
}

/** Returns the policy (frozen) or throws PolicyError naming the first bad field. */
export function definePolicy(policy: RoutePolicy): RoutePolicy {
  policy.statements.forEach((s, i) => {
    const field = `${policy.name}.statements[${i}]`;
    s.match.prefixes?.forEach((e, j) => {
      checkEntry(e, `${field}.match.prefixes[${j}]`);
    });
    if (s.match.communities !== undefined)
      checkCommunities(s.match.communities, `${field}.match.communities`);
    if (s.match.largeCommunities !== undefined) {
      checkLarge(s.match.largeCommunities, `${field}.match.largeCommunities`);
    }
    s.actions.forEach((a, j) => {
      checkAction(a, `${field}.actions[${j}]`);
    });
  });
  return Object.freeze(policy);
}
