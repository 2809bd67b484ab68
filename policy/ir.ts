// The compiler's intermediate representation (IR): per address family, the ipsets, the shared
// per-policy rule lists and the local endpoints that use them. Produced by the compiler,
// consumed by the renderer and the packet evaluator; treated as immutable once produced.
import type { Family } from './cidr.js';
import type { Protocol } from './model.js';

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

/** Code-unit order, independent of locale: output must be byte-identical everywhere. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
