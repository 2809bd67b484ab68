// What the policy compiler is fed inside the agent: the datastore's Namespaces, Pods and
// NetworkPolicies, each parsed on its own so that one bad object cannot stop the rest. A policy
// that turns invalid keeps its last valid version in force (dropping it would silently open the
// pods it isolates); a new invalid one is skipped. Either way the error names the field.
import { clusterStateFromDocuments } from '../../policy/documents.js';
import { PolicyValidationError } from '../../policy/issues.js';
import type { ClusterState, Namespace, NetworkPolicy, Pod } from '../../policy/model.js';
import type { Resource } from '../../src/datastore/types.js';

export const POLICY_INPUT_KINDS = ['Namespace', 'Pod', 'NetworkPolicy'] as const;
export type PolicyInputKind = (typeof POLICY_INPUT_KINDS)[number];

export type UpsertOutcome = { ok: true } | { ok: false; error: string; keptPrevious: boolean };

const keyOf = (obj: Resource): string => `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
const parsedKey = (obj: Resource): string => `${obj.kind}/${keyOf(obj)}`;

export class PolicyInputs {
  readonly #namespaces = new Map<string, Namespace>();
  readonly #pods = new Map<string, Pod>();
  readonly #policies = new Map<string, NetworkPolicy>();
  /**
   * The outcome for each object's last parsed resourceVersion: every pass lists everything, and
   * an unchanged object (nearly all of them) is not parsed again.
   */
  readonly #parsed = new Map<string, { resourceVersion: string; outcome: UpsertOutcome }>();
  /**
   * The pod last handed to the compiler for each stored pod: an unchanged pod with an unchanged
   * interface is the same object again, which the compiler recognizes without comparing it.
   */
  readonly #fed = new WeakMap<Pod, Pod>();

  upsert(obj: Resource): UpsertOutcome {
    const store = this.#storeOf(obj.kind);
    if (store === undefined)
      return { ok: false, error: `kind ${obj.kind} is not a policy input`, keptPrevious: false };
    const rv = obj.metadata.resourceVersion;
    const seen = this.#parsed.get(parsedKey(obj));
    if (rv !== undefined && seen?.resourceVersion === rv) return seen.outcome;
    const outcome = this.#parse(obj, store);
    if (rv !== undefined) this.#parsed.set(parsedKey(obj), { resourceVersion: rv, outcome });
    return outcome;
  }

  #parse(obj: Resource, store: Map<string, unknown>): UpsertOutcome {
    let state: ClusterState;
    try {
      state = clusterStateFromDocuments([obj]);
    } catch (err) {
      if (!(err instanceof PolicyValidationError)) throw err;
      const message = err.message.replaceAll(/documents\[0\]\.?/g, `${obj.kind} ${keyOf(obj)}: `);
      return { ok: false, error: message, keptPrevious: store.has(keyOf(obj)) };
    }
    const key = keyOf(obj);
    for (const ns of state.namespaces) this.#namespaces.set(key, ns);
    for (const pod of state.pods) this.#pods.set(key, pod);
    for (const policy of state.policies) this.#policies.set(key, policy);
    return { ok: true };
  }

  remove(obj: Resource): void {
    this.#storeOf(obj.kind)?.delete(keyOf(obj));
    this.#parsed.delete(parsedKey(obj));
  }

  /** Forgets every object of `kind` not in `present` (a fresh listing of the datastore). */
  retainOnly(kind: PolicyInputKind, present: readonly Resource[]): void {
    const keep = new Set(present.map(keyOf));
    const store = this.#storeOf(kind);
    for (const key of [...(store?.keys() ?? [])]) if (!keep.has(key)) store?.delete(key);
    // Also forgets invalid objects that were never stored.
    for (const key of [...this.#parsed.keys()]) {
      if (key.startsWith(`${kind}/`) && !keep.has(key.slice(kind.length + 1))) this.#parsed.delete(key);
    }
  }

  /**
   * The cluster as the compiler sees it. `localInterfaces` maps each address of a pod on this
   * node to its host veth; a pod with such an address is a local endpoint.
   */
  state(localInterfaces: ReadonlyMap<string, string>): ClusterState {
    const pods = [...this.#pods.values()].map((pod) => {
      const hostInterface = pod.podIPs.map((ip) => localInterfaces.get(ip)).find((i) => i !== undefined);
      const fed = this.#fed.get(pod);
      if (fed !== undefined && fed.hostInterface === hostInterface) return fed;
      const { hostInterface: _ignored, ...rest } = pod;
      const next = hostInterface === undefined ? rest : { ...rest, hostInterface };
      this.#fed.set(pod, next);
      return next;
    });
    return { namespaces: [...this.#namespaces.values()], pods, policies: [...this.#policies.values()] };
  }

  #storeOf(kind: string): Map<string, unknown> | undefined {
    switch (kind) {
      case 'Namespace':
        return this.#namespaces;
      case 'Pod':
        return this.#pods;
      case 'NetworkPolicy':
        return this.#policies;
      default:
        return undefined;
    }
  }
}
