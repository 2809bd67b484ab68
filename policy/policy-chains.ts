// One policy's allow rules for one address family and direction, and the definitions of the
// ipsets they reference. Depends on the policy alone, never on pods: pods only change set
// members (see `setMembers`), so a label change or a new pod changes no rule.
import {
  type Cidr,
  cidrContainsAddress,
  compareCidrs,
  type Family,
  formatCidr,
  type IpAddress,
  parseCidr,
  storableCidrs,
} from './cidr.js';
import { addressesOf, type ClusterIndex, type PodInfo, type PodScope, scopeKey } from './cluster-index.js';
import { shortHash } from './hash.js';
import type { Direction, IpSetType, RuleIR, SetMember } from './ir.js';
import type {
  IPBlock,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Protocol,
} from './model.js';
import type { PodAddress } from './pod-address.js';

type NetDef = { kind: 'net'; cidr: Cidr; except: Cidr[] };
type PeerDef = { kind: 'pods'; scope: PodScope } | NetDef;

/** What an ipset holds; `key` is its canonical text, e.g. `4|pods|ns:prod|app=web`. */
export type SetDef = { key: string; family: Family; type: IpSetType } & (
  | { kind: 'pods'; scope: PodScope }
  | { kind: 'net'; net: NetDef }
  /** (address, port) of the pods of `source` whose container port `name` uses `protocol`. */
  | { kind: 'namedPort'; source: PeerDef | 'all'; protocol: Protocol; name: string }
);

export interface PolicyChainDef {
  /** Hash of family, direction and rules: equal content, one chain. */
  id: string;
  rules: RuleIR[];
  /** The sets the rules reference, by key. */
  sets: Map<string, SetDef>;
}

/** The chain of `policy` (validated) for one family and direction, or undefined without rules. */
export function compilePolicyChain(
  policy: NetworkPolicy,
  family: Family,
  direction: Direction,
): PolicyChainDef | undefined {
  const sets = new Map<string, SetDef>();
  const use = (def: SetDef): string => {
    if (!sets.has(def.key)) sets.set(def.key, def);
    return def.key;
  };
  const selection: PeerDef = {
    kind: 'pods',
    scope: { namespaces: { name: policy.metadata.namespace }, pods: policy.spec.podSelector },
  };
  const specRules =
    direction === 'ingress'
      ? (policy.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
      : (policy.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
  const rules: RuleIR[] = [];
  for (const rule of specRules) {
    // Missing or empty peers/ports lists match everything (API doc of the rule types).
    const peers: (PeerDef | undefined)[] =
      rule.peers === undefined || rule.peers.length === 0
        ? [undefined]
        : rule.peers.flatMap((p) => peerDefOf(p, policy.metadata.namespace, family));
    const ports: (NetworkPolicyPort | undefined)[] =
      rule.ports === undefined || rule.ports.length === 0 ? [undefined] : rule.ports;
    for (const peer of peers) {
      for (const port of ports) {
        const ir: RuleIR = {};
        const protocol = port === undefined ? undefined : (port.protocol ?? 'TCP');
        if (typeof port?.port === 'string') {
          if (direction === 'ingress') {
            if (peer !== undefined) ir.peerSet = use(peerSetDef(peer, family));
            ir.namedPortSet = use(namedPortSetDef(selection, protocol!, port.port, family));
          } else {
            // Egress: the port name resolves per destination pod, so the peer is folded into
            // the (address, port) set instead of being matched separately.
            ir.namedPortSet = use(namedPortSetDef(peer ?? 'all', protocol!, port.port, family));
          }
        } else {
          if (peer !== undefined) ir.peerSet = use(peerSetDef(peer, family));
          if (protocol !== undefined) ir.protocol = protocol;
          if (typeof port?.port === 'number')
            ir.ports = { first: port.port, last: port.endPort ?? port.port };
        }
        rules.push(ir);
      }
    }
  }
  const unique = dedupeRules(rules);
  if (unique.length === 0) return undefined;
  // Every set in `sets` is referenced: deduplication keeps one of equal rules.
  return { id: shortHash(JSON.stringify([family, direction, unique])), rules: unique, sets };
}

function peerSetDef(peer: PeerDef, family: Family): SetDef {
  return peer.kind === 'pods'
    ? {
        key: `${family}|pods|${scopeKey(peer.scope)}`,
        family,
        type: 'hash:ip',
        kind: 'pods',
        scope: peer.scope,
      }
    : { key: `${family}|net|${netKey(peer)}`, family, type: 'hash:net', kind: 'net', net: peer };
}

function namedPortSetDef(source: PeerDef | 'all', protocol: Protocol, name: string, family: Family): SetDef {
  const sourceKey =
    source === 'all'
      ? 'all'
      : source.kind === 'pods'
        ? `pods|${scopeKey(source.scope)}`
        : `net|${netKey(source)}`;
  return {
    key: `${family}|namedport|${sourceKey}|${protocol}/${name}`,
    family,
    type: 'hash:ip,port',
    kind: 'namedPort',
    source,
    protocol,
    name,
  };
}

/** A peer in this family; an ipBlock of the other family cannot match and yields nothing. */
function peerDefOf(peer: NetworkPolicyPeer, policyNamespace: string, family: Family): PeerDef[] {
  if (peer.ipBlock !== undefined) {
    const net = netDefOf(peer.ipBlock);
    return net.cidr.family === family ? [net] : [];
  }
  const namespaces =
    peer.namespaceSelector === undefined ? { name: policyNamespace } : { selector: peer.namespaceSelector };
  return [{ kind: 'pods', scope: { namespaces, pods: peer.podSelector ?? {} } }];
}

// Each ipBlock is read once per family and direction; blocks are not mutated.
const netDefs = new WeakMap<IPBlock, NetDef>();

function netDefOf(block: IPBlock): NetDef {
  let def = netDefs.get(block);
  if (def === undefined) {
    def = parseNetDef(block);
    netDefs.set(block, def);
  }
  return def;
}

function parseNetDef(block: IPBlock): NetDef {
  // Validated input: every CIDR parses.
  const cidr = parseCidr(block.cidr)!;
  const except = (block.except ?? []).map((e) => parseCidr(e)!).sort(compareCidrs);
  return {
    kind: 'net',
    cidr,
    except: except.filter((e, i) => i === 0 || compareCidrs(e, except[i - 1]!) !== 0),
  };
}

function netKey(net: NetDef): string {
  return `${formatCidr(net.cidr)}|except:${net.except.map(formatCidr).join(',')}`;
}

function dedupeRules(rules: RuleIR[]): RuleIR[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    // Newline separates unambiguously: set keys hold label text, which cannot contain one.
    const key = `${r.peerSet}\n${r.protocol}\n${r.ports?.first}\n${r.ports?.last}\n${r.namedPortSet}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Sorted, unique members of the set `def` over the pods in `index`. */
export function setMembers(def: SetDef, index: ClusterIndex): SetMember[] {
  switch (def.kind) {
    case 'net':
      return netMembers(def.net);
    case 'pods':
      return ipMembers(index.podsInScope(def.scope), def.family);
    case 'namedPort': {
      const pods =
        def.source !== 'all' && def.source.kind === 'pods'
          ? index.podsInScope(def.source.scope)
          : index.allPods();
      const within = def.source !== 'all' && def.source.kind === 'net' ? def.source : undefined;
      return namedPortMembers(pods, def, within);
    }
  }
}

/** Whether `pod` puts at least one member into the set `def` (with the index's namespaces). */
export function podContributes(def: SetDef, pod: PodInfo, index: ClusterIndex): boolean {
  const addresses = addressesOf(pod, def.family);
  if (addresses.length === 0) return false;
  switch (def.kind) {
    case 'net':
      return false;
    case 'pods':
      return index.inScope(def.scope, pod);
    case 'namedPort': {
      if (!pod.ports.some((p) => p.name === def.name && p.protocol === def.protocol)) return false;
      if (def.source === 'all') return true;
      if (def.source.kind === 'pods') return index.inScope(def.source.scope, pod);
      const net = def.source;
      return addresses.some((a) => inNet(net, a));
    }
  }
}

/** The namespace selector the set's members depend on, if any: namespace relabels change them. */
export function namespaceSelectorOf(def: SetDef): LabelSelector | undefined {
  const scope =
    def.kind === 'pods'
      ? def.scope
      : def.kind === 'namedPort' && def.source !== 'all' && def.source.kind === 'pods'
        ? def.source.scope
        : undefined;
  return scope !== undefined && 'selector' in scope.namespaces ? scope.namespaces.selector : undefined;
}

function inNet(net: NetDef, addr: IpAddress): boolean {
  return cidrContainsAddress(net.cidr, addr) && !net.except.some((e) => cidrContainsAddress(e, addr));
}

const byValue = (a: IpAddress, b: IpAddress): number =>
  a.value === b.value ? 0 : a.value < b.value ? -1 : 1;

function ipMembers(pods: Iterable<PodInfo>, family: Family): SetMember[] {
  const addrs: PodAddress[] = [];
  for (const pod of pods) for (const a of pod.addresses) if (a.family === family) addrs.push(a);
  addrs.sort(byValue);
  const members: SetMember[] = [];
  addrs.forEach((a, i) => {
    if (i === 0 || a.value !== addrs[i - 1]!.value) members.push({ kind: 'ip', ip: a.text });
  });
  return members;
}

function netMembers(net: NetDef): SetMember[] {
  // An except equal to a stored /1 half (of a /0) removes that half instead of shadowing it.
  const excepted = new Set(net.except.map(formatCidr));
  const nets = storableCidrs(net.cidr).filter((c) => !excepted.has(formatCidr(c)));
  const stored = new Set(nets.map(formatCidr));
  const entries = [
    ...nets.map((c) => ({ c, nomatch: false })),
    ...net.except
      .filter((e) => !stored.has(formatCidr(e)) && nets.length > 0)
      .map((c) => ({ c, nomatch: true })),
  ];
  return entries
    .sort((a, b) => compareCidrs(a.c, b.c))
    .map((e) => ({ kind: 'net', cidr: formatCidr(e.c), nomatch: e.nomatch }));
}

function namedPortMembers(
  pods: Iterable<PodInfo>,
  def: SetDef & { kind: 'namedPort' },
  within: NetDef | undefined,
): SetMember[] {
  const entries: { addr: PodAddress; port: number }[] = [];
  for (const pod of pods) {
    const ports = pod.ports.filter((p) => p.name === def.name && p.protocol === def.protocol);
    if (ports.length === 0) continue;
    for (const addr of pod.addresses) {
      if (addr.family !== def.family || (within !== undefined && !inNet(within, addr))) continue;
      for (const p of ports) entries.push({ addr, port: p.containerPort });
    }
  }
  entries.sort((a, b) => byValue(a.addr, b.addr) || a.port - b.port);
  return entries
    .filter(
      (e, i) => i === 0 || e.addr.value !== entries[i - 1]!.addr.value || e.port !== entries[i - 1]!.port,
    )
    .map((e) => ({ kind: 'ipPort', ip: e.addr.text, protocol: def.protocol, port: e.port }));
}
