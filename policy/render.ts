// IR -> kernel configuration text: `ipset restore` input and `iptables-restore --noflush` input
// for the filter table (ip6tables-restore for IPv6). Pure and deterministic: the same IR gives
// the same bytes. Chain layout (see docs/policy.md):
//
//   FORWARD -> trl-FORWARD -> trl-from-wl (-i <if> -g trl-fw-<if>; unknown workload if: DROP)
//                          -> trl-to-wl   (-o <if> -g trl-tw-<if>; unknown workload if: DROP)
//                          -> ACCEPT if the accept mark is set
//   trl-fw/tw-<if> -> shared trl-po/pi-<hash> policy chains, which set the accept mark.

import { shortHash } from './hash.js';
import {
  compareText,
  type Direction,
  type EndpointDirectionIR,
  type EndpointIR,
  type Family,
  type FamilyIR,
  type IpSetIR,
  type PolicyChainIR,
  type PolicyIR,
  type RuleIR,
  type SetMember,
} from './ir.js';
import { IssueList } from './issues.js';

export interface RenderOptions {
  /** Host-side veths of workloads start with this; traffic on an unprogrammed one is dropped. */
  workloadIfacePrefix?: string;
  /** Single bit for "allowed"; must be clear of kube-proxy's 0x4000 (masquerade) and 0x8000 (drop). */
  acceptMark?: number;
}

export const DEFAULT_WORKLOAD_IFACE_PREFIX = 'trl';
export const DEFAULT_ACCEPT_MARK = 0x10000;
/** iptables' chain name limit (XT_EXTENSION_MAXNAMELEN - 1). */
export const MAX_CHAIN_NAME = 28;
/** ipset's set name limit (IPSET_MAXNAMELEN - 1). */
export const MAX_SET_NAME = 31;

export const CHAIN_FORWARD = 'trl-FORWARD';
export const CHAIN_FROM_WORKLOAD = 'trl-from-wl';
export const CHAIN_TO_WORKLOAD = 'trl-to-wl';

export interface RenderedSet {
  name: string;
  /** Scratch set filled and then swapped in, so members change atomically. */
  tempName: string;
  family: Family;
  type: IpSetIR['type'];
  /** Entries in `ipset add` syntax, e.g. `10.0.0.0/8`, `10.1.0.0/16 nomatch`, `10.0.0.5,tcp:8080`. */
  entries: string[];
  /** The IR definition the name was derived from. */
  key: string;
}

export interface RenderedChain {
  name: string;
  /** Rule specs without `-A <chain>`, each ending in its `trl:<hash>` comment and target. */
  rules: string[];
}

/** A rule in a built-in chain; the applier inserts it at the top if it is absent. */
export interface HookRule {
  chain: 'FORWARD';
  rule: string;
}

export interface RenderedFamily {
  family: Family;
  /** Every chain this family owns, sorted by name; declaring a chain flushes it. */
  chains: RenderedChain[];
  hooks: HookRule[];
  /** `iptables-restore --noflush` (v4) / `ip6tables-restore --noflush` (v6) input for all chains. */
  filterRestore: string;
}

export interface RenderedPolicy {
  /** All sets of both families, sorted by name. */
  sets: RenderedSet[];
  /** `ipset restore` input creating (if absent) and atomically refilling every set. */
  ipsetRestore: string;
  v4: RenderedFamily;
  v6: RenderedFamily;
}

export function renderPolicy(ir: PolicyIR, options: RenderOptions = {}): RenderedPolicy {
  return new PolicyRenderer(options).render(ir);
}

/**
 * Renders IR after IR, reusing what an unchanged IR object rendered to last time: endpoint,
 * policy chain and set objects the incremental compiler kept cost nothing; the workload dispatch
 * chains are re-hashed only when the list of endpoints changes. Output is always what
 * `renderPolicy` gives for the same IR (IR objects are immutable).
 */
export class PolicyRenderer {
  readonly #prefix: string;
  readonly #mark: number;
  readonly #sets = new WeakMap<IpSetIR, RenderedSet>();
  readonly #families: Record<Family, FamilyRenderCache> = { 4: newFamilyCache(), 6: newFamilyCache() };

  constructor(options: RenderOptions = {}) {
    this.#prefix = options.workloadIfacePrefix ?? DEFAULT_WORKLOAD_IFACE_PREFIX;
    this.#mark = options.acceptMark ?? DEFAULT_ACCEPT_MARK;
  }

  render(ir: PolicyIR): RenderedPolicy {
    checkOptions(ir, this.#prefix, this.#mark);
    const v4 = this.#renderFamily(ir.v4);
    const v6 = this.#renderFamily(ir.v6);
    const sets = [...v4.sets, ...v6.sets].sort((a, b) => compareText(a.name, b.name));
    let ipsetRestore: string | undefined;
    return {
      sets,
      // Text forms are built on first read: the applier works from `sets` and `chains`.
      get ipsetRestore() {
        ipsetRestore ??= renderIpsetRestore(sets);
        return ipsetRestore;
      },
      v4: v4.family,
      v6: v6.family,
    };
  }

  #renderFamily(ir: FamilyIR): { family: RenderedFamily; sets: RenderedSet[] } {
    const sets = ir.sets.map((s) => {
      let rendered = this.#sets.get(s);
      if (rendered === undefined) {
        rendered = renderSet(s);
        this.#sets.set(s, rendered);
      }
      return rendered;
    });
    const setNames = new Map(sets.map((s) => [s.key, s.name]));
    const cache = this.#families[ir.family];
    const text = new RuleText(ir.family, this.#mark);
    cache.forward ??= {
      name: CHAIN_FORWARD,
      rules: withComments(CHAIN_FORWARD, [
        text.clearMark,
        `-i ${this.#prefix}+ -j ${CHAIN_FROM_WORKLOAD}`,
        `-o ${this.#prefix}+ -j ${CHAIN_TO_WORKLOAD}`,
        `${text.ifMarked} -j ACCEPT`,
      ]),
    };
    if (ir.endpoints !== cache.endpointList) {
      cache.egress = [];
      cache.ingress = [];
      for (const e of ir.endpoints) {
        let pair = cache.endpoints.get(e);
        if (pair === undefined) {
          pair = [renderEndpointChain(e, 'egress', text), renderEndpointChain(e, 'ingress', text)];
          cache.endpoints.set(e, pair);
        }
        cache.egress.push(pair[0]);
        cache.ingress.push(pair[1]);
      }
      // The dispatch chains depend on the interfaces alone; re-hashing them is the costly part.
      const ifaces = ir.endpoints.map((e) => e.iface);
      if (cache.dispatch === undefined || !sameStrings(cache.dispatch.ifaces, ifaces)) {
        cache.dispatch = { ifaces, ...dispatchChains(ir.endpoints) };
      }
      cache.endpointList = ir.endpoints;
    }
    const policyChains = ir.policyChains.map((c) => {
      let chain = cache.policyChains.get(c);
      if (chain === undefined) {
        chain = renderPolicyChain(c, text, setNames);
        cache.policyChains.set(c, chain);
      }
      return chain;
    });
    const { fromWorkload, toWorkload } = cache.dispatch!;
    // Assembled in name order, not sorted (26k names per pass): trl-FORWARD < trl-from-wl <
    // trl-fw-<iface> (endpoints come in interface order) < trl-pi/po-<id> < trl-to-wl < trl-tw-<iface>.
    const chains = [
      cache.forward,
      fromWorkload,
      ...cache.egress,
      ...policyChains.sort(byName),
      toWorkload,
      ...cache.ingress,
    ];
    const hooks: HookRule[] = [
      { chain: 'FORWARD', rule: withComments('FORWARD', [`-j ${CHAIN_FORWARD}`])[0]! },
    ];
    let filterRestore: string | undefined;
    return {
      family: {
        family: ir.family,
        chains,
        hooks,
        get filterRestore() {
          filterRestore ??= renderFilterRestore(chains);
          return filterRestore;
        },
      },
      sets,
    };
  }
}

interface FamilyRenderCache {
  forward?: RenderedChain;
  /** The endpoint list the fields below were rendered from. */
  endpointList?: readonly EndpointIR[];
  egress: RenderedChain[];
  ingress: RenderedChain[];
  dispatch?: { ifaces: string[]; fromWorkload: RenderedChain; toWorkload: RenderedChain };
  endpoints: WeakMap<EndpointIR, [RenderedChain, RenderedChain]>;
  policyChains: WeakMap<PolicyChainIR, RenderedChain>;
}

function newFamilyCache(): FamilyRenderCache {
  return { egress: [], ingress: [], endpoints: new WeakMap(), policyChains: new WeakMap() };
}

const byName = (a: RenderedChain, b: RenderedChain): number => compareText(a.name, b.name);

/** trl-from-wl / trl-to-wl: one goto per workload interface, and DROP for unknown ones. */
function dispatchChains(endpoints: readonly EndpointIR[]): {
  fromWorkload: RenderedChain;
  toWorkload: RenderedChain;
} {
  // Goto, not jump: an endpoint chain that returns continues in trl-FORWARD, so a pod-to-pod
  // packet passes the sender's egress AND the receiver's ingress policy.
  const from = [...endpoints.map((e) => `-i ${e.iface} -g ${endpointChainName('egress', e)}`), '-j DROP'];
  const to = [...endpoints.map((e) => `-o ${e.iface} -g ${endpointChainName('ingress', e)}`), '-j DROP'];
  return {
    fromWorkload: { name: CHAIN_FROM_WORKLOAD, rules: withComments(CHAIN_FROM_WORKLOAD, from) },
    toWorkload: { name: CHAIN_TO_WORKLOAD, rules: withComments(CHAIN_TO_WORKLOAD, to) },
  };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The recurring rule fragments of one family and accept mark. */
class RuleText {
  readonly hostBits: number;
  readonly setMark: string;
  readonly clearMark: string;
  readonly ifMarked: string;
  constructor(family: Family, mark: number) {
    const markHex = `0x${mark.toString(16)}`;
    this.hostBits = family === 4 ? 32 : 128;
    this.setMark = `-j MARK --set-xmark ${markHex}/${markHex}`;
    this.clearMark = `-j MARK --set-xmark 0x0/${markHex}`;
    this.ifMarked = `-m mark --mark ${markHex}/${markHex}`;
  }
}

function checkOptions(ir: PolicyIR, prefix: string, mark: number): void {
  const issues = new IssueList();
  if (!/^[A-Za-z0-9_.-]{1,14}$/.test(prefix)) {
    issues.add('workloadIfacePrefix', 'Invalid', `${prefix}: must be 1-14 interface name characters`);
  }
  const isSingleBit = Number.isInteger(mark) && mark > 0 && mark <= 0xffffffff && (mark & (mark - 1)) === 0;
  if (!isSingleBit || mark === 0x4000 || mark === 0x8000) {
    issues.add(
      'acceptMark',
      'Invalid',
      `0x${mark.toString(16)}: must be one bit, not kube-proxy's 0x4000 or 0x8000`,
    );
  }
  for (const e of [...ir.v4.endpoints, ...ir.v6.endpoints]) {
    // Fail closed relies on every workload interface matching the prefix wildcard.
    if (!e.iface.startsWith(prefix)) {
      issues.add(
        `endpoints(${e.pod}).iface`,
        'Invalid',
        `${e.iface} does not start with workloadIfacePrefix ${prefix}`,
      );
    }
  }
  issues.throwIfAny();
}

function setName(set: IpSetIR, temp: boolean): string {
  const kind = temp ? 't' : set.key.split('|')[1] === 'pods' ? 'p' : set.type === 'hash:net' ? 'n' : 'e';
  return `trl${set.family}${kind}-${shortHash(set.key, 20)}`;
}

function setEntry(m: SetMember): string {
  switch (m.kind) {
    case 'ip':
      return m.ip;
    case 'net':
      return m.nomatch ? `${m.cidr} nomatch` : m.cidr;
    case 'ipPort':
      return `${m.ip},${m.protocol.toLowerCase()}:${m.port}`;
  }
}

function renderSet(s: IpSetIR): RenderedSet {
  return {
    name: setName(s, false),
    tempName: setName(s, true),
    family: s.family,
    type: s.type,
    entries: s.members.map(setEntry),
    key: s.key,
  };
}

function renderEndpointChain(e: EndpointIR, direction: Direction, text: RuleText): RenderedChain {
  const d: EndpointDirectionIR = e[direction];
  const rules = [
    '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-m conntrack --ctstate INVALID -j DROP',
    text.clearMark,
  ];
  if (!d.isolated) {
    rules.push(text.setMark);
  } else {
    // A pod can always reach itself (hairpin through a service), whatever its policies say.
    const ifaceMatch = direction === 'ingress' ? `-i ${e.iface}` : `-o ${e.iface}`;
    const host = text.hostBits;
    for (const a of e.addresses) rules.push(`-s ${a}/${host} -d ${a}/${host} ${ifaceMatch} ${text.setMark}`);
    for (const id of d.policyChains) {
      rules.push(`${text.ifMarked} -j RETURN`, `-j ${policyChainName(direction, id)}`);
    }
    rules.push(`${text.ifMarked} -j RETURN`, '-j DROP');
  }
  const name = endpointChainName(direction, e);
  return { name, rules: withComments(name, rules) };
}

function renderPolicyChain(c: PolicyChainIR, text: RuleText, setNames: Map<string, string>): RenderedChain {
  const rules: string[] = [];
  c.rules.forEach((r, i) => {
    if (i > 0) rules.push(`${text.ifMarked} -j RETURN`);
    rules.push(`${ruleMatch(r, c.direction, setNames)}${text.setMark}`);
  });
  const name = policyChainName(c.direction, c.id);
  return { name, rules: withComments(name, rules) };
}

function policyChainName(direction: Direction, id: string): string {
  return `trl-${direction === 'ingress' ? 'pi' : 'po'}-${id}`;
}

function endpointChainName(direction: Direction, e: EndpointIR): string {
  return `trl-${direction === 'ingress' ? 'tw' : 'fw'}-${e.iface}`;
}

/** Matches of one IR rule, in iptables-save order (protocol first), with a trailing space. */
function ruleMatch(r: RuleIR, direction: Direction, setNames: Map<string, string>): string {
  const parts: string[] = [];
  if (r.protocol !== undefined) {
    const p = r.protocol.toLowerCase();
    parts.push(`-p ${p}`);
    if (r.ports !== undefined) {
      const range = r.ports.first === r.ports.last ? `${r.ports.first}` : `${r.ports.first}:${r.ports.last}`;
      parts.push(`-m ${p} --dport ${range}`);
    }
  }
  if (r.peerSet !== undefined) {
    parts.push(`-m set --match-set ${setNames.get(r.peerSet)!} ${direction === 'ingress' ? 'src' : 'dst'}`);
  }
  if (r.namedPortSet !== undefined) parts.push(`-m set --match-set ${setNames.get(r.namedPortSet)!} dst,dst`);
  return parts.map((p) => `${p} `).join('');
}

/**
 * Puts `-m comment --comment "trl:<hash>"` into each rule, after the basic matches where
 * iptables-save prints it. The hash covers the chain, the rule and the previous rule's hash, so
 * equal rules at different positions stay distinguishable when comparing with the kernel.
 */
function withComments(chain: string, rules: string[]): string[] {
  let previous = '';
  return rules.map((rule) => {
    const hash = shortHash(`${chain}\n${previous}\n${rule}`);
    previous = hash;
    const at = commentPosition(rule);
    const comment = `-m comment --comment "trl:${hash}"`;
    if (at === 0) return `${comment} ${rule}`;
    if (at === rule.length) return `${rule} ${comment}`;
    return `${rule.slice(0, at)} ${comment} ${rule.slice(at + 1)}`;
  });
}

const BASIC_MATCHES = new Set(['-s', '-d', '-i', '-o', '-p']);

/** Index of the space after the leading basic matches (`-s x -d y ...`), or 0 if there are none. */
function commentPosition(rule: string): number {
  let end = 0;
  for (;;) {
    const start = end === 0 ? 0 : end + 1;
    const flagEnd = rule.indexOf(' ', start);
    if (flagEnd < 0) return BASIC_MATCHES.has(rule.slice(start)) ? rule.length : end;
    if (!BASIC_MATCHES.has(rule.slice(start, flagEnd))) return end;
    const valueEnd = rule.indexOf(' ', flagEnd + 1);
    if (valueEnd < 0) return rule.length;
    end = valueEnd;
  }
}

/** `iptables-restore --noflush` input: declares (creating or flushing) and fills the given chains. */
export function renderFilterRestore(chains: readonly RenderedChain[]): string {
  const lines = ['*filter', ...chains.map((c) => `:${c.name} - [0:0]`)];
  for (const c of chains) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/**
 * `ipset restore` input for the given sets: create each if absent, fill a scratch set, swap it
 * in and destroy it, so a set's members are replaced atomically while rules reference it.
 */
export function renderIpsetRestore(sets: readonly RenderedSet[]): string {
  const lines: string[] = [];
  for (const s of sets) {
    const header = ipsetCreateOptions(s.type, s.family);
    lines.push(
      `create ${s.name} ${header} -exist`,
      `create ${s.tempName} ${header} -exist`,
      `flush ${s.tempName}`,
    );
    for (const entry of s.entries) lines.push(`add ${s.tempName} ${entry}`);
    lines.push(`swap ${s.tempName} ${s.name}`, `destroy ${s.tempName}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** The `ipset create` arguments after the name, shared by every set of ours of this type. */
export function ipsetCreateOptions(type: string, family: Family): string {
  return `${type} family ${family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem 1048576`;
}
