// Pods and namespaces indexed for selector queries: pods by namespace and by label key/value, so
// that finding the pods a selector picks looks at candidates carrying a required label instead
// of at every pod of the cluster. Updated pod by pod, so a label change touches one pod's entries.
import type { Family } from './cidr.js';
import { type ContainerPort, type LabelSelector, type Labels, NAMESPACE_NAME_LABEL } from './model.js';
import type { PodAddress } from './pod-address.js';
import { canonicalSelector, compileSelector } from './selector.js';

/** A validated pod as the compiler uses it. Never mutated once built. */
export interface PodInfo {
  /** `namespace/name`. */
  id: string;
  namespace: string;
  name: string;
  labels: Labels;
  addresses: PodAddress[];
  ports: ContainerPort[];
  hostInterface?: string;
}

/** Where pods of a pod-selecting peer (or a policy's own selection) come from. */
export interface PodScope {
  /** A namespace name, or a namespace selector. */
  namespaces: { name: string } | { selector: LabelSelector };
  pods: LabelSelector;
}

/** Canonical text of a scope: equal for scopes that select the same pods. */
export function scopeKey(scope: PodScope): string {
  const ns =
    'name' in scope.namespaces
      ? `ns:${scope.namespaces.name}`
      : `nssel:${canonicalSelector(scope.namespaces.selector)}`;
  return `${ns}|${canonicalSelector(scope.pods)}`;
}

export function addressesOf(pod: PodInfo, family: Family): PodAddress[] {
  return pod.addresses.filter((a) => a.family === family);
}

export class ClusterIndex {
  /** Labels of each Namespace object, with the name label the API server adds. */
  readonly #namespaceLabels = new Map<string, Labels>();
  readonly #podsByNamespace = new Map<string, Set<PodInfo>>();
  /** namespace -> `key=value` -> pods carrying that label. */
  readonly #podsByLabel = new Map<string, Map<string, Set<PodInfo>>>();
  /**
   * podsInScope results by scope key since the last change: the sets of both families and the
   * named-port sets query the same scopes.
   */
  readonly #inScope = new Map<string, readonly PodInfo[]>();

  /** A namespace without a Namespace object still has its name label (pods may reference it). */
  namespaceLabels(namespace: string): Labels {
    return this.#namespaceLabels.get(namespace) ?? { [NAMESPACE_NAME_LABEL]: namespace };
  }

  setNamespace(name: string, labels: Labels | undefined): void {
    this.#inScope.clear();
    if (labels === undefined) this.#namespaceLabels.delete(name);
    else this.#namespaceLabels.set(name, { ...labels, [NAMESPACE_NAME_LABEL]: name });
  }

  addPod(pod: PodInfo): void {
    this.#inScope.clear();
    let inNamespace = this.#podsByNamespace.get(pod.namespace);
    if (inNamespace === undefined) {
      inNamespace = new Set();
      this.#podsByNamespace.set(pod.namespace, inNamespace);
      this.#podsByLabel.set(pod.namespace, new Map());
    }
    inNamespace.add(pod);
    const byLabel = this.#podsByLabel.get(pod.namespace)!;
    for (const [key, value] of Object.entries(pod.labels)) {
      const label = `${key}=${value}`;
      let pods = byLabel.get(label);
      if (pods === undefined) {
        pods = new Set();
        byLabel.set(label, pods);
      }
      pods.add(pod);
    }
  }

  removePod(pod: PodInfo): void {
    this.#inScope.clear();
    const inNamespace = this.#podsByNamespace.get(pod.namespace);
    if (inNamespace === undefined || !inNamespace.delete(pod)) return;
    const byLabel = this.#podsByLabel.get(pod.namespace)!;
    if (inNamespace.size === 0) {
      this.#podsByNamespace.delete(pod.namespace);
      this.#podsByLabel.delete(pod.namespace);
      return;
    }
    for (const [key, value] of Object.entries(pod.labels)) {
      const label = `${key}=${value}`;
      const pods = byLabel.get(label);
      pods?.delete(pod);
      if (pods?.size === 0) byLabel.delete(label);
    }
  }

  *allPods(): Iterable<PodInfo> {
    for (const pods of this.#podsByNamespace.values()) yield* pods;
  }

  inScope(scope: PodScope, pod: PodInfo): boolean {
    const nsOk =
      'name' in scope.namespaces
        ? pod.namespace === scope.namespaces.name
        : compileSelector(scope.namespaces.selector).matches(this.namespaceLabels(pod.namespace));
    return nsOk && compileSelector(scope.pods).matches(pod.labels);
  }

  /** The pods `scope` selects, in no particular order. */
  podsInScope(scope: PodScope): readonly PodInfo[] {
    const key = scopeKey(scope);
    let found = this.#inScope.get(key);
    if (found === undefined) {
      found = this.#findInScope(scope);
      this.#inScope.set(key, found);
    }
    return found;
  }

  #findInScope(scope: PodScope): PodInfo[] {
    const namespaces =
      'name' in scope.namespaces
        ? [scope.namespaces.name]
        : [...this.#podsByNamespace.keys()].filter((ns) =>
            compileSelector((scope.namespaces as { selector: LabelSelector }).selector).matches(
              this.namespaceLabels(ns),
            ),
          );
    const selector = compileSelector(scope.pods);
    const found: PodInfo[] = [];
    for (const ns of namespaces) {
      for (const pod of this.#candidates(ns, selector.required)) {
        if (selector.matches(pod.labels)) found.push(pod);
      }
    }
    return found;
  }

  /** Pods of `namespace` that can satisfy the `In` requirements: the smallest label bucket. */
  #candidates(
    namespace: string,
    required: ReturnType<typeof compileSelector>['required'],
  ): Iterable<PodInfo> {
    const all = this.#podsByNamespace.get(namespace);
    if (all === undefined) return [];
    const byLabel = this.#podsByLabel.get(namespace)!;
    let best: PodInfo[] | Set<PodInfo> = all;
    for (const req of required) {
      const union: PodInfo[] = [];
      for (const value of req.values) {
        const pods = byLabel.get(`${req.key}=${value}`);
        if (pods !== undefined) union.push(...pods);
      }
      const size = best instanceof Set ? best.size : best.length;
      if (union.length < size) best = union;
    }
    return best;
  }
}
