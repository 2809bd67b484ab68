// Builders for compact test clusters.
import type { ContainerPort, Namespace, NetworkPolicy, NetworkPolicySpec, Pod } from '../../policy/model.js';

export function ns(name: string, labels: Record<string, string> = {}): Namespace {
  return { name, labels };
}

export function pod(
  id: string,
  labels: Record<string, string>,
  podIPs: string[],
  opts: { iface?: string; ports?: ContainerPort[] } = {},
): Pod {
  const [namespace, name] = id.split('/') as [string, string];
  const p: Pod = { namespace, name, labels, podIPs, ports: opts.ports ?? [] };
  if (opts.iface !== undefined) p.hostInterface = opts.iface;
  return p;
}

export function policy(id: string, spec: NetworkPolicySpec): NetworkPolicy {
  const [namespace, name] = id.split('/') as [string, string];
  return { metadata: { namespace, name }, spec };
}
