// What Trellis owns in the kernel, as one comparable value: our filter-table chains and hook
// rules per family, and our ipsets, each list sorted by name. Taken either from a RenderedPolicy
// as is (what we want; no copy, so chains and sets the incremental renderer reused stay the
// same objects) or parsed from `iptables-save -t filter` / `ip6tables-save -t filter` /
// `ipset save` output (what is there), so the planner can diff any two of them. Pure.
import ipaddr from 'ipaddr.js';
import type { Family } from '../cidr.js';
import { compareText } from '../ir.js';
import type { RenderedPolicy } from '../render.js';

/** A rule of ours in a built-in chain (the renderer only uses FORWARD). */
export interface BuiltinRule {
  chain: string;
  rule: string;
}

export interface ChainState {
  name: string;
  /** The rules as `iptables-save` prints them (without `-A <chain>`). */
  rules: readonly string[];
}

export interface FamilyState {
  /** Our chains, sorted by name (`compareText`). */
  chains: readonly ChainState[];
  /** Our rules in built-in chains, in kernel order; duplicates are kept so they can be removed. */
  hooks: readonly BuiltinRule[];
}

export interface SetState {
  name: string;
  family: Family;
  type: string;
  /** Entries in `ipset add` syntax: as rendered, or as `ipset save` printed them. */
  entries: readonly string[];
}

export interface OwnedState {
  /**
   * Our sets sorted by name (`compareText`), scratch sets included (a kernel can hold leftovers
   * of a crashed apply).
   */
  sets: readonly SetState[];
  v4: FamilyState;
  v6: FamilyState;
}

/** The texts a kernel read returns; `planRepair` takes exactly this. */
export interface KernelSave {
  /** `iptables-save -t filter` */
  filter4: string;
  /** `ip6tables-save -t filter` */
  filter6: string;
  /** `ipset save` */
  ipset: string;
}

// Names the renderer produces; anything else is someone else's and never touched.
const OWNED_CHAIN = /^trl-(FORWARD|from-wl|to-wl|fw-.+|tw-.+|pi-[0-9a-f]{16}|po-[0-9a-f]{16})$/;
const OWNED_SET = /^trl[46][pnet]-[0-9a-f]{20}$/;
const SCRATCH_SET = /^trl[46]t-[0-9a-f]{20}$/;
const BUILTIN_CHAINS = new Set(['INPUT', 'FORWARD', 'OUTPUT']);
/** A rule is ours if it carries our comment tag or jumps/goes to one of our chains. */
const OWNED_RULE = /(^| )-m comment --comment "trl:[0-9a-f]+"| -[jg] trl-/;

export const isOwnedChain = (name: string): boolean => OWNED_CHAIN.test(name);
export const isOwnedSet = (name: string): boolean => OWNED_SET.test(name) || SCRATCH_SET.test(name);
export const isScratchSet = (name: string): boolean => SCRATCH_SET.test(name);

export const EMPTY_FAMILY: FamilyState = { chains: [], hooks: [] };
export const EMPTY_STATE: OwnedState = { sets: [], v4: EMPTY_FAMILY, v6: EMPTY_FAMILY };

/** The rendered lists themselves (already sorted by name): O(1), and identity is kept. */
export function stateOfRendered(rendered: RenderedPolicy): OwnedState {
  return { sets: rendered.sets, v4: rendered.v4, v6: rendered.v6 };
}

export const byName = (a: { name: string }, b: { name: string }): number => compareText(a.name, b.name);

export function stateOfKernel(save: KernelSave): OwnedState {
  return {
    sets: parseIpsetSave(save.ipset),
    v4: parseFilterSave(save.filter4),
    v6: parseFilterSave(save.filter6),
  };
}

/** Our chains and built-in-chain rules from `iptables-save -t filter` output. */
export function parseFilterSave(text: string): FamilyState {
  const chains = new Map<string, string[]>();
  const hooks: BuiltinRule[] = [];
  let inFilter = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      inFilter = line === '*filter';
    } else if (!inFilter) {
    } else if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0]!;
      if (isOwnedChain(name)) chains.set(name, []);
    } else if (line.startsWith('-A ')) {
      const space = line.indexOf(' ', 3);
      const chain = line.slice(3, space);
      const rule = line.slice(space + 1);
      const ours = chains.get(chain);
      if (ours !== undefined) ours.push(rule);
      else if (BUILTIN_CHAINS.has(chain) && OWNED_RULE.test(` ${rule}`)) hooks.push({ chain, rule });
    }
  }
  return { chains: [...chains].map(([name, rules]) => ({ name, rules })).sort(byName), hooks };
}

/** Our sets (scratch sets included) from `ipset save` output; other sets are skipped. */
export function parseIpsetSave(text: string): SetState[] {
  const found = new Map<string, { family: Family; type: string; entries: string[] }>();
  for (const line of text.split('\n')) {
    const words = line.split(' ');
    const name = words[1];
    if (name === undefined || !isOwnedSet(name)) continue;
    if (words[0] === 'create') {
      const familyAt = words.indexOf('family');
      const family: Family = words[familyAt + 1] === 'inet6' ? 6 : 4;
      found.set(name, { family, type: words[2]!, entries: [] });
    } else if (words[0] === 'add') {
      found.get(name)?.entries.push(words.slice(2).join(' '));
    }
  }
  return [...found].map(([name, s]) => ({ name, ...s })).sort(byName);
}

const normalizedCache = new WeakMap<SetState, readonly string[]>();

/**
 * Whether two sets hold the same members. Equal entry lists (two renders) are the fast path;
 * otherwise (a render against `ipset save`, which orders and spells entries its own way) the
 * normalized lists are compared, each computed once per set.
 */
export function sameMembers(a: SetState, b: SetState): boolean {
  if (sameList(a.entries, b.entries)) return true;
  const normalized = (s: SetState): readonly string[] => {
    let n = normalizedCache.get(s);
    if (n === undefined) {
      n = normalizeEntries(s.entries, s.type, s.family);
      normalizedCache.set(s, n);
    }
    return n;
  };
  return sameList(normalized(a), normalized(b));
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  // The incremental renderer hands back the very same arrays for what did not change.
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

/**
 * `ipset save` prints host prefixes of hash:net without their length and IPv6 in RFC 5952
 * form; rendered entries may spell the same member differently.
 */
export function normalizeEntries(entries: readonly string[], type: string, family: Family): string[] {
  const hostBits = family === 4 ? 32 : 128;
  const normalizeAddress = (text: string): string => {
    if (!ipaddr.isValid(text)) return text;
    const a = ipaddr.parse(text);
    return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
  };
  return entries
    .map((entry) => {
      const [member = '', ...flags] = entry.split(' ');
      const [address = '', rest] = splitOnce(member, type === 'hash:ip,port' ? ',' : '/');
      let out = normalizeAddress(address);
      if (rest !== undefined) {
        if (type === 'hash:ip,port') out += `,${rest.toLowerCase()}`;
        else if (rest !== String(hostBits)) out += `/${rest}`;
      }
      return [out, ...flags].join(' ');
    })
    .sort();
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
