// Entry point for `trellis policy compile`: parsed YAML/JSON documents (Namespace, Pod,
// NetworkPolicy, or a List of them) -> cluster state -> IR -> rendered kernel configuration.
// A pod is a local endpoint when it carries the HOST_INTERFACE_ANNOTATION.
import { compilePolicies, type PolicyIR } from './compile.js';
import { IssueList, isRecord, PolicyValidationError, readList, readStringMap, show } from './issues.js';
import {
  type ClusterState,
  type ContainerPort,
  type Namespace,
  type Pod,
  PROTOCOLS,
  type Protocol,
} from './model.js';
import { type RenderedPolicy, type RenderOptions, renderPolicy } from './render.js';
import { parseNetworkPolicy } from './validate.js';

/** Host-side veth of a pod on this node, as the CNI plugin records it. */
export const HOST_INTERFACE_ANNOTATION = 'trellis.network/host-interface';

export interface CompiledDocuments {
  state: ClusterState;
  ir: PolicyIR;
  rendered: RenderedPolicy;
}

/** Throws PolicyValidationError naming `documents[i]...` fields; nothing is produced then. */
export function compileFromDocuments(
  docs: readonly unknown[],
  options: RenderOptions = {},
): CompiledDocuments {
  const state = clusterStateFromDocuments(docs);
  const ir = compilePolicies(state);
  return { state, ir, rendered: renderPolicy(ir, options) };
}

export function clusterStateFromDocuments(docs: readonly unknown[]): ClusterState {
  const issues = new IssueList();
  const state: ClusterState = { namespaces: [], pods: [], policies: [] };
  const visit = (doc: unknown, path: string): void => {
    if (doc === null || doc === undefined) return; // an empty YAML document
    if (!isRecord(doc)) {
      issues.add(path, 'TypeInvalid', 'must be a Kubernetes object');
      return;
    }
    switch (doc['kind']) {
      case 'List':
        for (const [i, item] of (readList(doc['items'], `${path}.items`, issues) ?? []).entries()) {
          visit(item, `${path}.items[${i}]`);
        }
        return;
      case 'Namespace':
        withPrefix(issues, path, (sub) => {
          const ns = parseNamespace(doc, sub);
          if (ns) state.namespaces.push(ns);
        });
        return;
      case 'Pod':
        withPrefix(issues, path, (sub) => {
          const pod = parsePod(doc, sub);
          if (pod) state.pods.push(pod);
        });
        return;
      case 'NetworkPolicy':
        withPrefix(issues, path, () => {
          state.policies.push(parseNetworkPolicy(doc));
        });
        return;
      default:
        issues.add(
          `${path}.kind`,
          'NotSupported',
          `${show(doc['kind'])}: must be Namespace, Pod, NetworkPolicy or List`,
        );
    }
  };
  for (const [i, doc] of docs.entries()) visit(doc, `documents[${i}]`);
  issues.throwIfAny();
  return state;
}

/** Runs a parser with its own issue list and re-files its issues under `path`. */
function withPrefix(issues: IssueList, path: string, parse: (sub: IssueList) => void): void {
  const sub = new IssueList();
  try {
    parse(sub);
  } catch (err) {
    if (!(err instanceof PolicyValidationError)) throw err;
    sub.items.push(...err.issues);
  }
  for (const i of sub.items) issues.add(i.path === '' ? path : `${path}.${i.path}`, i.code, i.detail);
}

function parseNamespace(doc: Record<string, unknown>, issues: IssueList): Namespace | undefined {
  const metadata = isRecord(doc['metadata']) ? doc['metadata'] : {};
  const name = metadata['name'];
  if (typeof name !== 'string' || name.length === 0) {
    issues.add('metadata.name', 'Required', 'must be a non-empty string');
    return undefined;
  }
  return { name, labels: readStringMap(metadata['labels'], 'metadata.labels', issues) ?? {} };
}

function parsePod(doc: Record<string, unknown>, issues: IssueList): Pod | undefined {
  const metadata = isRecord(doc['metadata']) ? doc['metadata'] : {};
  const spec = isRecord(doc['spec']) ? doc['spec'] : {};
  const status = isRecord(doc['status']) ? doc['status'] : {};
  const name = metadata['name'];
  if (typeof name !== 'string' || name.length === 0) {
    issues.add('metadata.name', 'Required', 'must be a non-empty string');
    return undefined;
  }
  // A finished pod's address may already belong to a new pod.
  if (status['phase'] === 'Succeeded' || status['phase'] === 'Failed') return undefined;
  const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default';
  const annotations = readStringMap(metadata['annotations'], 'metadata.annotations', issues) ?? {};
  const pod: Pod = {
    namespace,
    name,
    labels: readStringMap(metadata['labels'], 'metadata.labels', issues) ?? {},
    // Host-network pods share the node's address; pod selectors do not stand for it.
    podIPs: spec['hostNetwork'] === true ? [] : podIPsOf(status, issues),
    ports: containerPortsOf(spec, issues),
  };
  const hostInterface = annotations[HOST_INTERFACE_ANNOTATION];
  if (hostInterface !== undefined) pod.hostInterface = hostInterface;
  return pod;
}

function podIPsOf(status: Record<string, unknown>, issues: IssueList): string[] {
  const list = readList(status['podIPs'], 'status.podIPs', issues);
  if (list === undefined) return typeof status['podIP'] === 'string' ? [status['podIP']] : [];
  return list.flatMap((entry, i) => {
    if (isRecord(entry) && typeof entry['ip'] === 'string') return [entry['ip']];
    issues.add(`status.podIPs[${i}].ip`, 'Required', 'must be an IP address string');
    return [];
  });
}

function containerPortsOf(spec: Record<string, unknown>, issues: IssueList): ContainerPort[] {
  const containers = readList(spec['containers'], 'spec.containers', issues) ?? [];
  return containers.flatMap((c, i) => {
    if (!isRecord(c)) return [];
    const ports = readList(c['ports'], `spec.containers[${i}].ports`, issues) ?? [];
    return ports.flatMap((p, j): ContainerPort[] => {
      const path = `spec.containers[${i}].ports[${j}]`;
      if (!isRecord(p)) {
        issues.add(path, 'TypeInvalid', 'must be a container port object');
        return [];
      }
      const protocol = p['protocol'] ?? 'TCP';
      if (!(PROTOCOLS as readonly unknown[]).includes(protocol)) {
        issues.add(
          `${path}.protocol`,
          'NotSupported',
          `${show(protocol)}: must be one of ${PROTOCOLS.join(', ')}`,
        );
        return [];
      }
      const containerPort = p['containerPort'];
      if (typeof containerPort !== 'number') {
        issues.add(`${path}.containerPort`, 'Required', 'must be a port number');
        return [];
      }
      const port: ContainerPort = { containerPort, protocol: protocol as Protocol };
      if (typeof p['name'] === 'string') port.name = p['name'];
      return [port];
    });
  });
}
