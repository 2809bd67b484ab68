// The conformance cluster as data: namespaces x, y, z (label `ns`), pods a, b, c in each (label
// `pod`), fixed addresses in 10.99.0.0/24, and the named container ports `serve-<port>-<proto>`.
// Steps of multi-step cases relabel through the pure helpers here. The compiler gets this world
// as Kubernetes documents (`documentsOf`); the expectation evaluator reads it directly.
import {
  type ClusterState,
  type ContainerPort,
  type Namespace,
  type NetworkPolicy,
  type Pod,
  PROTOCOLS,
} from '../../policy/model.js';
import { SERVED_PORTS } from './agent-protocol.js';

const NAMESPACES = ['x', 'y', 'z'] as const;
const POD_NAMES = ['a', 'b', 'c'] as const;

export interface World {
  namespaces: Namespace[];
  /** Every pod carries `hostInterface` once the lab has attached it. */
  pods: Pod[];
}

/** `x/a` */
export const podId = (p: Pick<Pod, 'namespace' | 'name'>): string => `${p.namespace}/${p.name}`;

/** x/a = 10.99.0.10, x/b = .11, y/a = .20, ... z/c = .32: a namespace is a /28-aligned group. */
export function podAddress(namespace: string, name: string): string {
  const n = NAMESPACES.indexOf(namespace as (typeof NAMESPACES)[number]);
  const p = POD_NAMES.indexOf(name as (typeof POD_NAMES)[number]);
  return `10.99.0.${(n + 1) * 10 + p}`;
}

const servedPorts: ContainerPort[] = SERVED_PORTS.flatMap((port) =>
  PROTOCOLS.map((protocol) => ({
    name: `serve-${port}-${protocol.toLowerCase()}`,
    containerPort: port,
    protocol,
  })),
);

export function initialWorld(): World {
  return {
    namespaces: NAMESPACES.map((name) => ({ name, labels: { ns: name } })),
    pods: NAMESPACES.flatMap((namespace) =>
      POD_NAMES.map((name) => ({
        namespace,
        name,
        labels: { pod: name },
        podIPs: [podAddress(namespace, name)],
        ports: servedPorts,
      })),
    ),
  };
}

export function withNamespaceLabels(world: World, name: string, labels: Record<string, string>): World {
  return { ...world, namespaces: world.namespaces.map((n) => (n.name === name ? { ...n, labels } : n)) };
}

export function withPodLabels(world: World, id: string, labels: Record<string, string>): World {
  return { ...world, pods: world.pods.map((p) => (podId(p) === id ? { ...p, labels } : p)) };
}

export function clusterState(world: World, policies: readonly NetworkPolicy[]): ClusterState {
  return { namespaces: world.namespaces, pods: world.pods, policies: [...policies] };
}

/** The world and the policies as the API server would list them, for `compileFromDocuments`. */
export function documentsOf(world: World, policies: readonly NetworkPolicy[]): unknown[] {
  return [
    ...world.namespaces.map((n) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: n.name, labels: n.labels },
    })),
    ...world.pods.map((p) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        namespace: p.namespace,
        name: p.name,
        labels: p.labels,
        annotations:
          p.hostInterface === undefined ? {} : { 'trellis.network/host-interface': p.hostInterface },
      },
      spec: { containers: [{ name: 'server', ports: p.ports }] },
      status: { phase: 'Running', podIP: p.podIPs[0], podIPs: p.podIPs.map((ip) => ({ ip })) },
    })),
    ...policies.map((p) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...p })),
  ];
}
