// The policy compiler with memory: it keeps the indexes, per-policy chains, endpoints and set
// members of the last cluster state, and on the next state recomputes only what the changed
// objects can affect. A pod label change recomputes the sets that pod enters or leaves and, if
// the pod is local, its endpoint; a policy edit recompiles that policy's chains and the local
// endpoints its old or new selector picks. The result equals a fresh compile of the same state
// (proven by a property test); a fresh compile is this class with no memory (`compilePolicies`).
import type { Family } from './cidr.js';
import { addressesOf, ClusterIndex, type PodInfo } from './cluster-index.js';
import {
  compareText,
  type Direction,
  type EndpointDirectionIR,
  type EndpointIR,
  type FamilyIR,
  type IpSetIR,
  type PolicyChainIR,
  type PolicyIR,
} from './ir.js';
import { IssueList, type PolicyIssue, PolicyValidationError } from './issues.js';
import type { ClusterState, Labels, Namespace, NetworkPolicy, Pod, PolicyType } from './model.js';
import { type PodAddress, parsePodAddress } from './pod-address.js';
import {
  compilePolicyChain,
  namespaceSelectorOf,
  type PolicyChainDef,
  podContributes,
  type SetDef,
  setMembers,
} from './policy-chains.js';
import { PolicyRenderer, type RenderedPolicy, type RenderOptions } from './render.js';
import { sameData } from './same-data.js';
import { type CompiledSelector, compileSelector } from './selector.js';
import { defaultPolicyTypes, parseNetworkPolicy } from './validate.js';

// Linux interface names: at most 15 bytes; `+` would be an iptables wildcard.
const IFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const FAMILIES: readonly Family[] = [4, 6];
const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
const POLICY_TYPE: Record<Direction, PolicyType> = { ingress: 'Ingress', egress: 'Egress' };

/**
 * Above this many changed pods and namespaces, checking every cached set against every change
 * costs more than recomputing all sets from the index.
 */
const MAX_TRACKED_CHANGES = 64;

interface PodEntry {
  source: Pod;
  info: PodInfo;
  /** Problems of this pod alone, paths relative to the pod; duplicates are found across pods. */
  problems: PolicyIssue[];
}

interface PolicyEntry {
  source: NetworkPolicy;
  /** `metadata.namespace/metadata.name` as given, before defaulting. */
  sourceKey: string;
  /** The validated, defaulted policy. */
  policy: NetworkPolicy;
  name: string;
  types: PolicyType[];
  /** The prepared pod selector. */
  selects: CompiledSelector;
  /** By `${family}${direction}`, compiled on first use. */
  chains: Map<string, PolicyChainDef | undefined>;
}

interface EndpointState {
  ir: EndpointIR;
  /** Names of the policies that select the pod and have each policy type. */
  applying: Record<Direction, string[]>;
}

interface FamilyMemory {
  family: Family;
  /** Local endpoints with an address in this family, by pod id. */
  endpoints: Map<string, EndpointState>;
  /** The endpoint list last emitted, in interface order. */
  emitted: EndpointIR[];
  /** Since then, an endpoint came, went or changed its interface: the order must be rebuilt. */
  reorder: boolean;
  /** Since then, some endpoint's IR was replaced. */
  replaced: boolean;
  /** Per direction: policy name -> number of endpoints it applies to. */
  usage: Record<Direction, Map<string, number>>;
  /**
   * Since the last assembly a policy came into or out of use, or a policy changed: the chain
   * list and the set keys must be worked out again.
   */
  chainsStale: boolean;
  /** The set keys of the last assembly, sorted. */
  setKeys: string[];
  /** The definition of each of `setKeys`. */
  setDefs: Map<string, SetDef>;
  /** Sets of the last result with their definitions; dropped when a change may alter them. */
  sets: Map<string, { def: SetDef; ir: IpSetIR }>;
  chains: Map<string, PolicyChainIR>;
}

interface Inputs {
  pods: Map<string, PodEntry>;
  namespaces: Map<string, Namespace>;
  policies: Map<string, PolicyEntry>;
}

type Change<T> = { before: T | undefined; after: T | undefined };

export class IncrementalPolicyCompiler {
  readonly #renderer: PolicyRenderer;
  readonly #index = new ClusterIndex();
  #inputs: Inputs = { pods: new Map(), namespaces: new Map(), policies: new Map() };
  #policiesBySourceKey = new Map<string, PolicyEntry>();
  /** Policies by namespace: the candidates to select a pod. */
  #policiesByNamespace = new Map<string, NamespacePolicies>();
  /**
   * The entry made from each pod object (an entry depends on the object alone): a pod passed
   * again is recognized without building its id, whose fresh string would be hashed anew.
   */
  readonly #podEntries = new WeakMap<Pod, PodEntry>();
  readonly #families: Record<Family, FamilyMemory> = { 4: emptyFamily(4), 6: emptyFamily(6) };

  constructor(options: RenderOptions = {}) {
    this.#renderer = new PolicyRenderer(options);
  }

  /** The rendered ruleset for `state`; same output as `renderPolicy(compilePolicies(state))`. */
  update(state: ClusterState): RenderedPolicy {
    return this.#renderer.render(this.compile(state));
  }

  /**
   * The IR for `state`, as `compilePolicies(state)` gives it. Throws PolicyValidationError on
   * invalid input and then keeps the previous state. Input objects are read, never kept mutable:
   * a changed object must be passed as a new object or a changed copy (compared structurally).
   */
  compile(state: ClusterState): PolicyIR {
    const next = this.#validate(state);
    const podChanges: Change<PodInfo>[] = [];
    for (const [id, entry] of next.pods) {
      const before = this.#inputs.pods.get(id)?.info;
      if (before !== entry.info) podChanges.push({ before, after: entry.info });
    }
    for (const [id, entry] of this.#inputs.pods) {
      if (!next.pods.has(id)) podChanges.push({ before: entry.info, after: undefined });
    }
    const policyChanges: Change<PolicyEntry>[] = [];
    for (const [name, entry] of next.policies) {
      const before = this.#inputs.policies.get(name);
      if (before !== entry) policyChanges.push({ before, after: entry });
    }
    for (const [name, entry] of this.#inputs.policies) {
      if (!next.policies.has(name)) policyChanges.push({ before: entry, after: undefined });
    }

    const namespaceChanges = this.#applyNamespaces(next.namespaces);
    for (const { before, after } of podChanges) {
      if (before !== undefined) this.#index.removePod(before);
      if (after !== undefined) this.#index.addPod(after);
    }
    this.#inputs = next;
    this.#policiesBySourceKey = new Map([...next.policies.values()].map((e) => [e.sourceKey, e]));
    if (policyChanges.length > 0) {
      this.#policiesByNamespace = groupByNamespace(next.policies);
      for (const family of FAMILIES) this.#families[family].chainsStale = true;
    }

    const dirty = new Set<string>();
    for (const c of podChanges) dirty.add((c.after ?? c.before)!.id);
    for (const c of policyChanges) {
      for (const entry of [c.before, c.after]) {
        if (entry === undefined) continue;
        const scope = {
          namespaces: { name: entry.policy.metadata.namespace },
          pods: entry.policy.spec.podSelector,
        };
        for (const pod of this.#index.podsInScope(scope))
          if (pod.hostInterface !== undefined) dirty.add(pod.id);
      }
    }
    for (const id of dirty) this.#refreshEndpoint(id);

    const manyChanges = podChanges.length + namespaceChanges.length > MAX_TRACKED_CHANGES;
    const families = FAMILIES.map((family) => {
      const memory = this.#families[family];
      if (manyChanges) memory.sets.clear();
      else this.#dropChangedSets(memory, podChanges, namespaceChanges);
      return this.#assemble(memory);
    });
    return { v4: families[0]!, v6: families[1]! };
  }

  /** Parses and checks everything before anything is changed; reuses entries of equal objects. */
  #validate(state: ClusterState): Inputs {
    const issues = new IssueList();
    const parsed = state.policies.map((p, i) => {
      const sourceKey = `${p.metadata?.namespace}/${p.metadata?.name}`;
      const previous = this.#policiesBySourceKey.get(sourceKey);
      if (previous !== undefined && sameData(previous.source, p)) return previous;
      try {
        const policy = parseNetworkPolicy(p);
        const name = `${policy.metadata.namespace}/${policy.metadata.name}`;
        const entry: PolicyEntry = {
          source: p,
          sourceKey,
          policy,
          name,
          types: defaultPolicyTypes(policy.spec),
          selects: compileSelector(policy.spec.podSelector),
          chains: new Map(),
        };
        return entry;
      } catch (err) {
        if (!(err instanceof PolicyValidationError)) throw err;
        for (const issue of err.issues)
          issues.add(`policies[${i}](${sourceKey}).${issue.path}`, issue.code, issue.detail);
        return undefined;
      }
    });
    const policies = new Map<string, PolicyEntry>();
    parsed.forEach((entry, i) => {
      if (entry === undefined) return;
      if (policies.has(entry.name)) {
        issues.add(`policies[${i}](${entry.name})`, 'Duplicate', `policy ${entry.name} is listed twice`);
      }
      policies.set(entry.name, entry);
    });

    const pods = new Map<string, PodEntry>();
    const ifaces = new Map<string, string>();
    state.pods.forEach((pod, i) => {
      const known = this.#podEntries.get(pod);
      const id = known?.info.id ?? `${pod.namespace}/${pod.name}`;
      // Built only for a problem: most passes have none, over tens of thousands of pods.
      const where = () => `pods[${i}](${id})`;
      if (pods.has(id)) issues.add(where(), 'Duplicate', `pod ${id} is listed twice`);
      let entry = known;
      if (entry === undefined) {
        const previous = this.#inputs.pods.get(id);
        entry = previous !== undefined && sameData(previous.source, pod) ? previous : podEntryOf(pod, id);
        this.#podEntries.set(pod, entry);
      }
      for (const p of entry.problems) issues.add(`${where()}${p.path}`, p.code, p.detail);
      if (pod.hostInterface !== undefined) {
        const other = ifaces.get(pod.hostInterface);
        if (other !== undefined) {
          issues.add(
            `${where()}.hostInterface`,
            'Duplicate',
            `${pod.hostInterface} is also the interface of ${other}`,
          );
        }
        ifaces.set(pod.hostInterface, id);
      }
      pods.set(id, entry);
    });
    issues.throwIfAny();

    const namespaces = new Map<string, Namespace>();
    for (const ns of state.namespaces) namespaces.set(ns.name, ns);
    return { pods, namespaces, policies };
  }

  /** Updates the index's namespace labels; returns the names whose labels changed. */
  #applyNamespaces(next: Map<string, Namespace>): Change<Labels>[] {
    const changes: Change<Labels>[] = [];
    const previous = this.#inputs.namespaces;
    for (const name of new Set([...previous.keys(), ...next.keys()])) {
      const before = previous.get(name);
      const after = next.get(name);
      if (before === after || (before && after && sameData(before.labels, after.labels))) continue;
      const labelsBefore = this.#index.namespaceLabels(name);
      this.#index.setNamespace(name, after?.labels);
      changes.push({ before: labelsBefore, after: this.#index.namespaceLabels(name) });
    }
    return changes;
  }

  /** Recomputes the endpoint of pod `id` in both families (or removes it). */
  #refreshEndpoint(id: string): void {
    const pod = this.#inputs.pods.get(id)?.info;
    const selecting =
      pod?.hostInterface === undefined
        ? []
        : selectingPolicies(this.#policiesByNamespace.get(pod.namespace), pod.labels);
    // Which policies apply per direction does not depend on the family.
    const applying: Record<Direction, PolicyEntry[]> = {
      ingress: selecting.filter((e) => e.types.includes(POLICY_TYPE.ingress)),
      egress: selecting.filter((e) => e.types.includes(POLICY_TYPE.egress)),
    };
    const names = {
      ingress: applying.ingress.map((e) => e.name),
      egress: applying.egress.map((e) => e.name),
    };
    for (const family of FAMILIES) {
      const memory = this.#families[family];
      const previous = memory.endpoints.get(id);
      if (previous !== undefined) countUsage(memory, previous, -1);
      const addresses = pod?.hostInterface === undefined ? [] : addressesOf(pod, family);
      if (pod?.hostInterface === undefined || addresses.length === 0) {
        if (memory.endpoints.delete(id)) memory.reorder = true;
        continue;
      }
      const direction = (d: Direction): EndpointDirectionIR => {
        const ids: string[] = [];
        for (const e of applying[d]) {
          const chainId = chainOf(e, family, d)?.id;
          if (chainId !== undefined && !ids.includes(chainId)) ids.push(chainId);
        }
        return { isolated: applying[d].length > 0, policyChains: ids };
      };
      let ir: EndpointIR = {
        iface: pod.hostInterface,
        pod: id,
        addresses: addresses.sort(byValue).map((a) => a.text),
        ingress: direction('ingress'),
        egress: direction('egress'),
      };
      // Keeping the object lets the renderer reuse the endpoint's chains.
      if (previous !== undefined && sameData(previous.ir, ir)) ir = previous.ir;
      if (previous?.ir.iface !== ir.iface) memory.reorder = true;
      if (previous?.ir !== ir) memory.replaced = true;
      const state: EndpointState = { ir, applying: names };
      memory.endpoints.set(id, state);
      countUsage(memory, state, 1);
    }
  }

  #dropChangedSets(memory: FamilyMemory, pods: Change<PodInfo>[], namespaces: Change<Labels>[]): void {
    if (pods.length + namespaces.length === 0) return;
    for (const [key, { def }] of memory.sets) {
      const selector = namespaceSelectorOf(def);
      const matcher = selector === undefined ? undefined : compileSelector(selector);
      const changed =
        pods.some(
          (c) =>
            (c.before !== undefined && podContributes(def, c.before, this.#index)) ||
            (c.after !== undefined && podContributes(def, c.after, this.#index)),
        ) ||
        (matcher !== undefined &&
          namespaces.some(
            (c) =>
              (c.before !== undefined && matcher.matches(c.before)) ||
              (c.after !== undefined && matcher.matches(c.after)),
          ));
      if (changed) memory.sets.delete(key);
    }
  }

  /** Endpoints in interface order; the previous list (or order) when nothing (or no order) changed. */
  #endpointList(memory: FamilyMemory): EndpointIR[] {
    let endpoints = memory.emitted;
    if (memory.reorder) {
      const kept: EndpointIR[] = [];
      for (const e of memory.emitted) {
        const ir = memory.endpoints.get(e.pod)?.ir;
        if (ir?.iface === e.iface) kept.push(ir);
      }
      const keptIds = new Set(kept.map((e) => e.pod));
      const added = [...memory.endpoints.values()].flatMap((s) => (keptIds.has(s.ir.pod) ? [] : [s.ir]));
      // Two sorted runs, which the sort merges cheaply.
      endpoints = [...kept, ...added.sort(byIface)].sort(byIface);
    } else if (memory.replaced) {
      endpoints = memory.emitted.map((e) => memory.endpoints.get(e.pod)!.ir);
    }
    memory.emitted = endpoints;
    memory.reorder = false;
    memory.replaced = false;
    return endpoints;
  }

  /** The family's IR from its endpoints; chains and sets reused where unchanged. */
  #assemble(memory: FamilyMemory): FamilyIR {
    const endpoints = this.#endpointList(memory);
    if (memory.chainsStale) this.#assembleChains(memory);
    const sets = new Map<string, { def: SetDef; ir: IpSetIR }>();
    for (const key of memory.setKeys) {
      const cached = memory.sets.get(key);
      if (cached !== undefined) {
        sets.set(key, cached);
        continue;
      }
      const def = memory.setDefs.get(key)!;
      sets.set(key, {
        def,
        ir: { key, family: def.family, type: def.type, members: setMembers(def, this.#index) },
      });
    }
    memory.sets = sets;
    return {
      family: memory.family,
      sets: [...sets.values()].map((s) => s.ir),
      policyChains: [...memory.chains.values()],
      endpoints,
    };
  }

  /**
   * The policy chains in use and the keys of the sets they reference. Depends only on which
   * policies are in use and on the policies themselves, so a pass that changed neither skips it.
   */
  #assembleChains(memory: FamilyMemory): void {
    const used = new Map<string, { def: PolicyChainDef; direction: Direction; policies: string[] }>();
    for (const direction of DIRECTIONS) {
      for (const name of memory.usage[direction].keys()) {
        const def = chainOf(this.#inputs.policies.get(name)!, memory.family, direction);
        if (def === undefined) continue;
        const chain = used.get(def.id);
        if (chain === undefined) used.set(def.id, { def, direction, policies: [name] });
        else chain.policies.push(name);
      }
    }
    const chains = new Map<string, PolicyChainIR>();
    const setDefs = new Map<string, SetDef>();
    for (const id of [...used.keys()].sort(compareText)) {
      const { def, direction, policies } = used.get(id)!;
      policies.sort(compareText);
      const previous = memory.chains.get(id);
      const ir =
        previous !== undefined && sameData(previous.policies, policies)
          ? previous
          : { id, direction, rules: def.rules, policies };
      chains.set(id, ir);
      for (const [key, setDef] of def.sets) if (!setDefs.has(key)) setDefs.set(key, setDef);
    }
    memory.chains = chains;
    memory.setDefs = setDefs;
    memory.setKeys = [...setDefs.keys()].sort(compareText);
    memory.chainsStale = false;
  }
}

function emptyFamily(family: Family): FamilyMemory {
  return {
    family,
    endpoints: new Map(),
    emitted: [],
    reorder: false,
    replaced: false,
    usage: { ingress: new Map(), egress: new Map() },
    chainsStale: true,
    setKeys: [],
    setDefs: new Map(),
    sets: new Map(),
    chains: new Map(),
  };
}

function countUsage(memory: FamilyMemory, state: EndpointState, delta: 1 | -1): void {
  for (const direction of DIRECTIONS) {
    const usage = memory.usage[direction];
    for (const name of state.applying[direction]) {
      const count = (usage.get(name) ?? 0) + delta;
      if (count === 0) usage.delete(name);
      else usage.set(name, count);
      if (count === 0 || (delta === 1 && count === 1)) memory.chainsStale = true;
    }
  }
}

const CHAIN_KEYS: Record<Family, Record<Direction, string>> = {
  4: { ingress: '4ingress', egress: '4egress' },
  6: { ingress: '6ingress', egress: '6egress' },
};

function chainOf(entry: PolicyEntry, family: Family, direction: Direction): PolicyChainDef | undefined {
  const key = CHAIN_KEYS[family][direction];
  if (!entry.chains.has(key)) entry.chains.set(key, compilePolicyChain(entry.policy, family, direction));
  return entry.chains.get(key);
}

/**
 * A namespace's policies indexed by one `key=value` their pod selector requires, so a pod is
 * matched only against policies that can select it (and those that require no label).
 */
interface NamespacePolicies {
  byLabel: Map<string, PolicyEntry[]>;
  unindexed: PolicyEntry[];
}

function groupByNamespace(policies: Map<string, PolicyEntry>): Map<string, NamespacePolicies> {
  const byNamespace = new Map<string, NamespacePolicies>();
  for (const entry of policies.values()) {
    const ns = entry.policy.metadata.namespace;
    let group = byNamespace.get(ns);
    if (group === undefined) {
      group = { byLabel: new Map(), unindexed: [] };
      byNamespace.set(ns, group);
    }
    const required = entry.selects.required.find((r) => r.values.size === 1);
    if (required === undefined) {
      group.unindexed.push(entry);
      continue;
    }
    const label = `${required.key}=${[...required.values][0]}`;
    const list = group.byLabel.get(label);
    if (list === undefined) group.byLabel.set(label, [entry]);
    else list.push(entry);
  }
  return byNamespace;
}

/** The policies of the pod's namespace that select it, sorted by name. */
function selectingPolicies(group: NamespacePolicies | undefined, labels: Labels): PolicyEntry[] {
  if (group === undefined) return [];
  const found = group.unindexed.filter((e) => e.selects.matches(labels));
  for (const [key, value] of Object.entries(labels)) {
    for (const e of group.byLabel.get(`${key}=${value}`) ?? []) if (e.selects.matches(labels)) found.push(e);
  }
  return found.sort((a, b) => compareText(a.name, b.name));
}

const byIface = (a: EndpointIR, b: EndpointIR): number => compareText(a.iface, b.iface);

const byValue = (a: PodAddress, b: PodAddress): number =>
  a.family !== b.family ? a.family - b.family : a.value === b.value ? 0 : a.value < b.value ? -1 : 1;

function podEntryOf(pod: Pod, id: string): PodEntry {
  const problems: PolicyIssue[] = [];
  const addresses: PodAddress[] = [];
  pod.podIPs.forEach((text, j) => {
    const addr = parsePodAddress(text);
    if (addr === undefined)
      problems.push({ path: `.podIPs[${j}]`, code: 'Invalid', detail: `${text} is not an IP address` });
    else addresses.push(addr);
  });
  pod.ports.forEach((p, j) => {
    if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
      problems.push({
        path: `.ports[${j}].containerPort`,
        code: 'Invalid',
        detail: `${p.containerPort}: must be between 1 and 65535`,
      });
    }
  });
  if (pod.hostInterface !== undefined && !IFACE_NAME.test(pod.hostInterface)) {
    problems.push({
      path: '.hostInterface',
      code: 'Invalid',
      detail: `${pod.hostInterface}: not a valid interface name`,
    });
  }
  const info: PodInfo = {
    id,
    namespace: pod.namespace,
    name: pod.name,
    labels: pod.labels,
    addresses,
    ports: pod.ports,
  };
  if (pod.hostInterface !== undefined) info.hostInterface = pod.hostInterface;
  return { source: pod, info, problems };
}
