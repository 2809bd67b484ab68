// IR -> kernel configuration text: `ipset restore` input and `iptables-restore --noflush` input
// for the filter table (ip6tables-restore for IPv6). Pure and deterministic: the same IR gives
// the same bytes. Chain layout (see docs/policy.md):
//
//   FORWARD -> trl-FORWARD -> trl-from-wl (-i <if> -g trl-fw-<if>; unknown workload if: DROP)
//                          -> trl-to-wl   (-o <if> -g trl-tw-<if>; unknown workload if: DROP)
//                          -> ACCEPT if the accept mark is set
//   trl-fw/tw-<if> -> shared trl-po/pi-<hash> policy chains, which set the accept mark.
import {
  compareText,
  type Direction,
  type EndpointDirectionIR,
  type EndpointIR,
  type Family,
  type FamilyIR,
  type IpSetIR,
  type PolicyIR,
  type RuleIR,
  type SetMember,
} from './compile.js';
import { shortHash } from './hash.js';
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
  const prefix = options.workloadIfacePrefix ?? DEFAULT_WORKLOAD_IFACE_PREFIX;
  const mark = options.acceptMark ?? DEFAULT_ACCEPT_MARK;
  checkOptions(ir, prefix, mark);
  const v4 = renderFamily(ir.v4, prefix, mark);
  const v6 = renderFamily(ir.v6, prefix, mark);
  const sets = [...v4.sets, ...v6.sets].sort((a, b) => compareText(a.name, b.name));
  return { sets, ipsetRestore: renderIpsetRestore(sets), v4: v4.family, v6: v6.family };
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

function renderFamily(
  ir: FamilyIR,
  prefix: string,
  mark: number,
): { family: RenderedFamily; sets: RenderedSet[] } {
  const sets = ir.sets.map(
    (s): RenderedSet => ({
      name: setName(s, false),
      tempName: setName(s, true),
      family: s.family,
      type: s.type,
      entries: s.members.map(setEntry),
      key: s.key,
    }),
  );
  const setNames = new Map(sets.map((s) => [s.key, s.name]));
  const hostBits = ir.family === 4 ? 32 : 128;
  const markHex = `0x${mark.toString(16)}`;
  const setMark = `-j MARK --set-xmark ${markHex}/${markHex}`;
  const clearMark = `-j MARK --set-xmark 0x0/${markHex}`;
  const ifMarked = `-m mark --mark ${markHex}/${markHex}`;

  const policyChainName = (direction: Direction, id: string) =>
    `trl-${direction === 'ingress' ? 'pi' : 'po'}-${id}`;
  const chains = new Map<string, string[]>();

  chains.set(CHAIN_FORWARD, [
    clearMark,
    `-i ${prefix}+ -j ${CHAIN_FROM_WORKLOAD}`,
    `-o ${prefix}+ -j ${CHAIN_TO_WORKLOAD}`,
    `${ifMarked} -j ACCEPT`,
  ]);
  // Goto, not jump: an endpoint chain that returns continues in trl-FORWARD, so a pod-to-pod
  // packet passes the sender's egress AND the receiver's ingress policy.
  chains.set(CHAIN_FROM_WORKLOAD, [
    ...ir.endpoints.map((e) => `-i ${e.iface} -g ${endpointChainName('egress', e)}`),
    '-j DROP',
  ]);
  chains.set(CHAIN_TO_WORKLOAD, [
    ...ir.endpoints.map((e) => `-o ${e.iface} -g ${endpointChainName('ingress', e)}`),
    '-j DROP',
  ]);

  for (const e of ir.endpoints) {
    for (const direction of ['ingress', 'egress'] as const) {
      const d: EndpointDirectionIR = e[direction];
      const rules = [
        '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-m conntrack --ctstate INVALID -j DROP',
        clearMark,
      ];
      if (!d.isolated) {
        rules.push(setMark);
      } else {
        // A pod can always reach itself (hairpin through a service), whatever its policies say.
        const ifaceMatch = direction === 'ingress' ? `-i ${e.iface}` : `-o ${e.iface}`;
        for (const a of e.addresses)
          rules.push(`-s ${a}/${hostBits} -d ${a}/${hostBits} ${ifaceMatch} ${setMark}`);
        for (const id of d.policyChains) {
          rules.push(`${ifMarked} -j RETURN`, `-j ${policyChainName(direction, id)}`);
        }
        rules.push(`${ifMarked} -j RETURN`, '-j DROP');
      }
      chains.set(endpointChainName(direction, e), rules);
    }
  }

  for (const c of ir.policyChains) {
    const rules: string[] = [];
    c.rules.forEach((r, i) => {
      if (i > 0) rules.push(`${ifMarked} -j RETURN`);
      rules.push(`${ruleMatch(r, c.direction, setNames)}${setMark}`);
    });
    chains.set(policyChainName(c.direction, c.id), rules);
  }

  const rendered = [...chains.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([name, rules]): RenderedChain => ({ name, rules: withComments(name, rules) }));
  const hooks: HookRule[] = [
    { chain: 'FORWARD', rule: withComments('FORWARD', [`-j ${CHAIN_FORWARD}`])[0]! },
  ];
  return {
    family: { family: ir.family, chains: rendered, hooks, filterRestore: renderFilterRestore(rendered) },
    sets,
  };
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
    const words = rule.split(' ');
    let i = 0;
    while (i < words.length && ['-s', '-d', '-i', '-o', '-p'].includes(words[i]!)) i += 2;
    return [...words.slice(0, i), '-m', 'comment', '--comment', `"trl:${hash}"`, ...words.slice(i)].join(' ');
  });
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
    const header = `${s.type} family ${s.family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem 1048576`;
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
