// NetworkPolicy -> intermediate representation (IR) for the endpoints of one node.
//
// Per address family, the IR holds: ipsets (defined by WHAT they select, so a relabelled or new
// pod changes members, never names or rules), shared per-policy rule lists ("policy chains",
// identified by a hash of their content) and, per local endpoint and direction, whether it is
// isolated and which policy chains may allow its traffic. Pure: no I/O.
import {
  type Cidr,
  cidrContainsAddress,
  compareCidrs,
  compareIps,
  type Family,
  formatCidr,
  formatIp,
  type IpAddress,
  parseCidr,
  parseIp,
  storableCidrs,
} from './cidr.js';
import { shortHash } from './hash.js';
import { IssueList, PolicyValidationError } from './issues.js';
import {
  type ClusterState,
  type ContainerPort,
  type IPBlock,
  type LabelSelector,
  type Labels,
  NAMESPACE_NAME_LABEL,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type Protocol,
} from './model.js';
import { canonicalSelector, selectorMatches } from './selector.js';
import { defaultPolicyTypes, parseNetworkPolicy } from './validate.js';

export type { Family } from './cidr.js';
export type Direction = 'ingress' | 'egress';
export type IpSetType = 'hash:ip' | 'hash:net' | 'hash:ip,port';

export type SetMember =
  | { kind: 'ip'; ip: string }
  /** `nomatch`: an ipBlock `except`; the longest matching prefix in the set decides. */
  | { kind: 'net'; cidr: string; nomatch: boolean }
  | { kind: 'ipPort'; ip: string; protocol: Protocol; port: number };

export interface IpSetIR {
  /** Canonical definition, e.g. `4|pods|ns:prod|app=web`; the renderer names the set by its hash. */
  key: string;
  family: Family;
  type: IpSetType;
  /** Sorted, unique. */
  members: SetMember[];
}

/** One allow rule; all present fields must match (AND). */
export interface RuleIR {
  /** Peer addresses: matched on the source for ingress, on the destination for egress. Absent: any. */
  peerSet?: string;
  /** Absent: any protocol (and then no ports). */
  protocol?: Protocol;
  /** Destination port range, inclusive; only with `protocol`. Absent: all ports. */
  ports?: { first: number; last: number };
  /** hash:ip,port set matched on the destination address and port: resolved named ports. */
  namedPortSet?: string;
}

/** The allow rules of one policy for one direction; shared by every endpoint the policy selects. */
export interface PolicyChainIR {
  /** Hash of direction and rules: equal content, one chain. */
  id: string;
  direction: Direction;
  rules: RuleIR[];
  /** `namespace/name` of the policies that compile to this chain (informational). */
  policies: string[];
}

export interface EndpointDirectionIR {
  /** Some policy selecting the pod has this policy type: traffic not allowed is dropped. */
  isolated: boolean;
  /** Chain ids in policy order (namespace/name), deduplicated. Empty when not isolated. */
  policyChains: string[];
}

export interface EndpointIR {
  iface: string;
  /** `namespace/name`. */
  pod: string;
  /** The pod's addresses in this family, sorted. */
  addresses: string[];
  ingress: EndpointDirectionIR;
  egress: EndpointDirectionIR;
}

export interface FamilyIR {
  family: Family;
  /** Only sets referenced by `policyChains`, sorted by key. */
  sets: IpSetIR[];
  /** Only chains referenced by `endpoints`, sorted by id. */
  policyChains: PolicyChainIR[];
  /** Local endpoints with an address in this family, sorted by interface. */
  endpoints: EndpointIR[];
}

export interface PolicyIR {
  v4: FamilyIR;
  v6: FamilyIR;
}

interface PodInfo {
  namespace: string;
  name: string;
  labels: Labels;
  addresses: IpAddress[];
  ports: ContainerPort[];
  hostInterface?: string;
}

/** Where pods of a pod-selecting peer (or a policy's own selection) come from. */
interface PodScope {
  /** A namespace name, or a namespace selector. */
  namespaces: { name: string } | { selector: LabelSelector };
  pods: LabelSelector;
}

type PeerDef = { kind: 'pods'; scope: PodScope } | { kind: 'net'; cidr: Cidr; except: Cidr[] };

// Linux interface names: at most 15 bytes; `+` would be an iptables wildcard.
const IFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/**
 * Compiles the cluster state into the IR for the node whose endpoints are the pods with a
 * `hostInterface`. Throws PolicyValidationError (and produces nothing) on invalid input.
 */
export function compilePolicies(state: ClusterState): PolicyIR {
  const issues = new IssueList();
  const policies = state.policies.map((p, i) => {
    try {
      return parseNetworkPolicy(p);
    } catch (err) {
      if (!(err instanceof PolicyValidationError)) throw err;
      const where = `policies[${i}](${p.metadata?.namespace}/${p.metadata?.name})`;
      for (const issue of err.issues) issues.add(`${where}.${issue.path}`, issue.code, issue.detail);
      return undefined;
    }
  });
  const seenPolicies = new Set<string>();
  policies.forEach((p, i) => {
    if (p === undefined) return;
    if (seenPolicies.has(policyName(p))) {
      issues.add(`policies[${i}](${policyName(p)})`, 'Duplicate', `policy ${policyName(p)} is listed twice`);
    }
    seenPolicies.add(policyName(p));
  });
  const pods = checkPods(state, issues);
  issues.throwIfAny();

  const namespaceLabels = new Map<string, Labels>();
  for (const ns of state.namespaces) {
    namespaceLabels.set(ns.name, { ...ns.labels, [NAMESPACE_NAME_LABEL]: ns.name });
  }
  for (const pod of pods) {
    if (!namespaceLabels.has(pod.namespace))
      namespaceLabels.set(pod.namespace, { [NAMESPACE_NAME_LABEL]: pod.namespace });
  }
  const cluster = { pods, namespaceLabels };
  const valid = (policies as NetworkPolicy[])
    .slice()
    .sort((a, b) => compareText(policyName(a), policyName(b)));
  return {
    v4: compileFamily(4, cluster, valid),
    v6: compileFamily(6, cluster, valid),
  };
}

function checkPods(state: ClusterState, issues: IssueList): PodInfo[] {
  const seenPods = new Set<string>();
  const seenIfaces = new Map<string, string>();
  return state.pods.map((pod, i) => {
    const id = `${pod.namespace}/${pod.name}`;
    const where = `pods[${i}](${id})`;
    if (seenPods.has(id)) issues.add(where, 'Duplicate', `pod ${id} is listed twice`);
    seenPods.add(id);
    const addresses = pod.podIPs.flatMap((text, j) => {
      const addr = parseIp(text);
      if (addr === undefined) issues.add(`${where}.podIPs[${j}]`, 'Invalid', `${text} is not an IP address`);
      return addr === undefined ? [] : [addr];
    });
    pod.ports.forEach((p, j) => {
      if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
        issues.add(
          `${where}.ports[${j}].containerPort`,
          'Invalid',
          `${p.containerPort}: must be between 1 and 65535`,
        );
      }
    });
    if (pod.hostInterface !== undefined) {
      if (!IFACE_NAME.test(pod.hostInterface)) {
        issues.add(`${where}.hostInterface`, 'Invalid', `${pod.hostInterface}: not a valid interface name`);
      }
      const other = seenIfaces.get(pod.hostInterface);
      if (other !== undefined) {
        issues.add(
          `${where}.hostInterface`,
          'Duplicate',
          `${pod.hostInterface} is also the interface of ${other}`,
        );
      }
      seenIfaces.set(pod.hostInterface, id);
    }
    const info: PodInfo = {
      namespace: pod.namespace,
      name: pod.name,
      labels: pod.labels,
      addresses,
      ports: pod.ports,
    };
    if (pod.hostInterface !== undefined) info.hostInterface = pod.hostInterface;
    return info;
  });
}

interface Cluster {
  pods: PodInfo[];
  namespaceLabels: Map<string, Labels>;
}

function compileFamily(family: Family, cluster: Cluster, policies: NetworkPolicy[]): FamilyIR {
  const sets = new Map<string, IpSetIR>();
  const chains = new Map<string, PolicyChainIR>();
  const compiled = new Map<string, string | undefined>();

  const setFor = (key: string, type: IpSetType, members: () => SetMember[]): string => {
    if (!sets.has(key)) sets.set(key, { key, family, type, members: members() });
    return key;
  };

  const podsInScope = (scope: PodScope): PodInfo[] =>
    cluster.pods.filter((pod) => inScope(scope, pod, cluster.namespaceLabels));

  const peerSetKey = (peer: PeerDef): string =>
    peer.kind === 'pods'
      ? setFor(`${family}|pods|${scopeKey(peer.scope)}`, 'hash:ip', () =>
          ipMembers(podsInScope(peer.scope), family),
        )
      : setFor(`${family}|net|${netKey(peer)}`, 'hash:net', () => netMembers(peer.cidr, peer.except));

  const namedPortSetKey = (source: PeerDef | 'all', protocol: Protocol, name: string): string => {
    const sourceKey =
      source === 'all'
        ? 'all'
        : source.kind === 'pods'
          ? `pods|${scopeKey(source.scope)}`
          : `net|${netKey(source)}`;
    return setFor(`${family}|namedport|${sourceKey}|${protocol}/${name}`, 'hash:ip,port', () => {
      if (source === 'all') return namedPortMembers(cluster.pods, family, protocol, name, undefined);
      if (source.kind === 'pods')
        return namedPortMembers(podsInScope(source.scope), family, protocol, name, undefined);
      return namedPortMembers(cluster.pods, family, protocol, name, source);
    });
  };

  /** The chain id for one policy and direction in this family, or undefined if it has no rules. */
  const chainFor = (policy: NetworkPolicy, direction: Direction): string | undefined => {
    const cacheKey = `${policyName(policy)}|${direction}`;
    if (compiled.has(cacheKey)) return compiled.get(cacheKey);
    const selection: PodScope = {
      namespaces: { name: policy.metadata.namespace },
      pods: policy.spec.podSelector,
    };
    const rules: RuleIR[] = [];
    const specRules =
      direction === 'ingress'
        ? (policy.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
        : (policy.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
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
              if (peer !== undefined) ir.peerSet = peerSetKey(peer);
              ir.namedPortSet = namedPortSetKey({ kind: 'pods', scope: selection }, protocol!, port.port);
            } else {
              // Egress: the port name resolves per destination pod, so the peer is folded into
              // the (address, port) set instead of being matched separately.
              ir.namedPortSet = namedPortSetKey(peer ?? 'all', protocol!, port.port);
            }
          } else {
            if (peer !== undefined) ir.peerSet = peerSetKey(peer);
            if (protocol !== undefined) ir.protocol = protocol;
            if (typeof port?.port === 'number')
              ir.ports = { first: port.port, last: port.endPort ?? port.port };
          }
          rules.push(ir);
        }
      }
    }
    const unique = dedupeRules(rules);
    let id: string | undefined;
    if (unique.length > 0) {
      id = shortHash(JSON.stringify([family, direction, unique]));
      const existing = chains.get(id);
      if (existing) existing.policies.push(policyName(policy));
      else chains.set(id, { id, direction, rules: unique, policies: [policyName(policy)] });
    }
    compiled.set(cacheKey, id);
    return id;
  };

  const endpoints: EndpointIR[] = [];
  for (const pod of cluster.pods) {
    if (pod.hostInterface === undefined) continue;
    const addresses = pod.addresses.filter((a) => a.family === family);
    if (addresses.length === 0) continue;
    const selecting = policies.filter(
      (p) => p.metadata.namespace === pod.namespace && selectorMatches(p.spec.podSelector, pod.labels),
    );
    const directionIR = (direction: Direction): EndpointDirectionIR => {
      const type = direction === 'ingress' ? 'Ingress' : 'Egress';
      const applying = selecting.filter((p) => defaultPolicyTypes(p.spec).includes(type));
      const ids = applying.flatMap((p) => chainFor(p, direction) ?? []);
      return { isolated: applying.length > 0, policyChains: [...new Set(ids)] };
    };
    endpoints.push({
      iface: pod.hostInterface,
      pod: `${pod.namespace}/${pod.name}`,
      addresses: addresses.sort(compareIps).map(formatIp),
      ingress: directionIR('ingress'),
      egress: directionIR('egress'),
    });
  }
  endpoints.sort((a, b) => compareText(a.iface, b.iface));

  const usedChains = new Set(endpoints.flatMap((e) => [...e.ingress.policyChains, ...e.egress.policyChains]));
  const policyChains = [...chains.values()]
    .filter((c) => usedChains.has(c.id))
    .sort((a, b) => compareText(a.id, b.id));
  for (const c of policyChains) c.policies.sort(compareText);
  const usedSets = new Set(policyChains.flatMap((c) => c.rules.flatMap((r) => [r.peerSet, r.namedPortSet])));
  const usedSetList = [...sets.values()]
    .filter((s) => usedSets.has(s.key))
    .sort((a, b) => compareText(a.key, b.key));
  return { family, sets: usedSetList, policyChains, endpoints };
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

function netDefOf(block: IPBlock): PeerDef & { kind: 'net' } {
  // Validated input: every CIDR parses.
  const cidr = parseCidr(block.cidr)!;
  const except = (block.except ?? []).map((e) => parseCidr(e)!).sort(compareCidrs);
  return {
    kind: 'net',
    cidr,
    except: except.filter((e, i) => i === 0 || compareCidrs(e, except[i - 1]!) !== 0),
  };
}

function scopeKey(scope: PodScope): string {
  const ns =
    'name' in scope.namespaces
      ? `ns:${scope.namespaces.name}`
      : `nssel:${canonicalSelector(scope.namespaces.selector)}`;
  return `${ns}|${canonicalSelector(scope.pods)}`;
}

function netKey(net: PeerDef & { kind: 'net' }): string {
  return `${formatCidr(net.cidr)}|except:${net.except.map(formatCidr).join(',')}`;
}

function inScope(scope: PodScope, pod: PodInfo, namespaceLabels: Map<string, Labels>): boolean {
  const nsOk =
    'name' in scope.namespaces
      ? pod.namespace === scope.namespaces.name
      : selectorMatches(scope.namespaces.selector, namespaceLabels.get(pod.namespace) ?? {});
  return nsOk && selectorMatches(scope.pods, pod.labels);
}

function inNet(net: PeerDef & { kind: 'net' }, addr: IpAddress): boolean {
  return cidrContainsAddress(net.cidr, addr) && !net.except.some((e) => cidrContainsAddress(e, addr));
}

function ipMembers(pods: PodInfo[], family: Family): SetMember[] {
  const addrs = pods.flatMap((p) => p.addresses.filter((a) => a.family === family)).sort(compareIps);
  return addrs
    .filter((a, i) => i === 0 || compareIps(a, addrs[i - 1]!) !== 0)
    .map((a) => ({ kind: 'ip', ip: formatIp(a) }));
}

function netMembers(cidr: Cidr, except: Cidr[]): SetMember[] {
  // An except equal to a stored /1 half (of a /0) removes that half instead of shadowing it.
  const excepted = new Set(except.map(formatCidr));
  const nets = storableCidrs(cidr).filter((c) => !excepted.has(formatCidr(c)));
  const stored = new Set(nets.map(formatCidr));
  const entries = [
    ...nets.map((c) => ({ c, nomatch: false })),
    ...except.filter((e) => !stored.has(formatCidr(e)) && nets.length > 0).map((c) => ({ c, nomatch: true })),
  ];
  return entries
    .sort((a, b) => compareCidrs(a.c, b.c))
    .map((e) => ({ kind: 'net', cidr: formatCidr(e.c), nomatch: e.nomatch }));
}

function namedPortMembers(
  pods: PodInfo[],
  family: Family,
  protocol: Protocol,
  name: string,
  within: (PeerDef & { kind: 'net' }) | undefined,
): SetMember[] {
  const entries: { addr: IpAddress; port: number }[] = [];
  for (const pod of pods) {
    const ports = pod.ports.filter((p) => p.name === name && p.protocol === protocol);
    for (const addr of pod.addresses) {
      if (addr.family !== family || (within !== undefined && !inNet(within, addr))) continue;
      for (const p of ports) entries.push({ addr, port: p.containerPort });
    }
  }
  entries.sort((a, b) => compareIps(a.addr, b.addr) || a.port - b.port);
  return entries
    .filter(
      (e, i) => i === 0 || compareIps(e.addr, entries[i - 1]!.addr) !== 0 || e.port !== entries[i - 1]!.port,
    )
    .map((e) => ({ kind: 'ipPort', ip: formatIp(e.addr), protocol, port: e.port }));
}

function dedupeRules(rules: RuleIR[]): RuleIR[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const key = JSON.stringify([r.peerSet, r.protocol, r.ports?.first, r.ports?.last, r.namedPortSet]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function policyName(p: NetworkPolicy): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

/** Code-unit order, independent of locale: output must be byte-identical everywhere. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
