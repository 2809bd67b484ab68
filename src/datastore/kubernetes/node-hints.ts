// What an agent learns about its own node from the Node object: the address to peer and route
// with, and the pod CIDRs the controller-manager assigned (a hint for IP pool choice).
import { IPAddress, type IPFamily, isAddress, Prefix } from '../../net/index.js';
import type { Resource } from '../types.js';

export interface NodeHints {
  /** One per family: InternalIP preferred over ExternalIP, first listed within a type. */
  addresses: { ipv4?: string; ipv6?: string };
  /** spec.podCIDRs (or the older single spec.podCIDR), canonical, malformed entries left out. */
  podCIDRs: string[];
}

const ADDRESS_PREFERENCE = ['InternalIP', 'ExternalIP'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const canonicalPrefix = (text: string): string | undefined => {
  try {
    return Prefix.parse(text).toString();
  } catch {
    return undefined;
  }
};

export function nodeHints(node: Resource): NodeHints {
  const status = isObject(node.status) ? node.status : {};
  const spec = isObject(node.spec) ? node.spec : {};
  const listed = Array.isArray(status['addresses']) ? status['addresses'].filter(isObject) : [];
  const addresses: NodeHints['addresses'] = {};
  for (const type of ADDRESS_PREFERENCE) {
    for (const entry of listed) {
      const text = entry['address'];
      if (entry['type'] !== type || typeof text !== 'string' || !isAddress(text)) continue;
      const addr = IPAddress.parse(text);
      const key = ({ 4: 'ipv4', 6: 'ipv6' } as const)[addr.family as IPFamily];
      addresses[key] ??= addr.toString();
    }
  }
  const rawCidrs = Array.isArray(spec['podCIDRs'])
    ? spec['podCIDRs']
    : typeof spec['podCIDR'] === 'string'
      ? [spec['podCIDR']]
      : [];
  const podCIDRs = rawCidrs.flatMap((c) => {
    const p = typeof c === 'string' ? canonicalPrefix(c) : undefined;
    return p === undefined ? [] : [p];
  });
  return { addresses, podCIDRs };
}
