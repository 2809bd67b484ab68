// Reference evaluator written directly from the NetworkPolicy API documentation, for checking
// the compiler. It shares NO code with policy/ (own label matching, defaulting, CIDR maths) so a
// misreading of the spec in one is not silently repeated in the other.
import ipaddr from 'ipaddr.js';
import type {
  ClusterState,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
  Protocol,
} from '../../policy/model.js';

export interface Conn {
  src: string;
  dst: string;
  protocol: Protocol;
  port: number;
}

function labelsMatch(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of sel.matchExpressions ?? []) {
    const present = hasKey(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === 'In' && !(present && values.includes(value!))) return false;
    if (e.operator === 'NotIn' && present && values.includes(value!)) return false;
    if (e.operator === 'Exists' && !present) return false;
    if (e.operator === 'DoesNotExist' && present) return false;
  }
  return true;
}

function hasKey(labels: Readonly<Record<string, string>>, key: string): boolean {
  return Object.keys(labels).includes(key);
}

function namespaceLabels(state: ClusterState, name: string): Record<string, string> {
  const ns = state.namespaces.find((n) => n.name === name);
  // Every namespace carries its own name as a label (API server, since 1.21).
  return { ...(ns?.labels ?? {}), 'kubernetes.io/metadata.name': name };
}

function sameAddress(a: string, b: string): boolean {
  const x = ipaddr.parse(a);
  const y = ipaddr.parse(b);
  return x.kind() === y.kind() && x.toNormalizedString() === y.toNormalizedString();
}

function inCidr(ip: string, cidr: string): boolean {
  const addr = ipaddr.parse(ip);
  const [net, bits] = ipaddr.parseCIDR(cidr);
  return addr.kind() === net.kind() && addr.match(net, bits);
}

function podWithIp(state: ClusterState, ip: string): Pod | undefined {
  return state.pods.find((p) => p.podIPs.some((a) => sameAddress(a, ip)));
}

/** "Policy types": when absent or empty, Ingress, plus Egress if the policy has egress rules. */
function typesOf(p: NetworkPolicy): string[] {
  if (p.spec.policyTypes && p.spec.policyTypes.length > 0) return p.spec.policyTypes;
  return p.spec.egress && p.spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

function selects(p: NetworkPolicy, pod: Pod): boolean {
  return p.metadata.namespace === pod.namespace && labelsMatch(p.spec.podSelector, pod.labels);
}

/** Does the peer (of policy `p`) cover the address `ip` (the other end of the connection)? */
function peerMatches(state: ClusterState, p: NetworkPolicy, peer: NetworkPolicyPeer, ip: string): boolean {
  if (peer.ipBlock) {
    return inCidr(ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((e) => inCidr(ip, e));
  }
  const other = podWithIp(state, ip);
  if (!other) return false;
  const nsOk = peer.namespaceSelector
    ? labelsMatch(peer.namespaceSelector, namespaceLabels(state, other.namespace))
    : other.namespace === p.metadata.namespace;
  const podOk = peer.podSelector ? labelsMatch(peer.podSelector, other.labels) : true;
  return nsOk && podOk;
}

/** Does a rule port cover the connection, with named ports looked up on `destination`? */
function portMatches(rulePort: NetworkPolicyPort, conn: Conn, destination: Pod | undefined): boolean {
  const protocol = rulePort.protocol ?? 'TCP';
  if (protocol !== conn.protocol) return false;
  if (rulePort.port === undefined) return true;
  if (typeof rulePort.port === 'number') {
    const last = rulePort.endPort ?? rulePort.port;
    return conn.port >= rulePort.port && conn.port <= last;
  }
  if (!destination) return false;
  return destination.ports.some(
    (cp) => cp.name === rulePort.port && cp.protocol === protocol && cp.containerPort === conn.port,
  );
}

function ruleAllows(
  state: ClusterState,
  p: NetworkPolicy,
  peers: NetworkPolicyPeer[] | undefined,
  ports: NetworkPolicyPort[] | undefined,
  otherIp: string,
  conn: Conn,
  destination: Pod | undefined,
): boolean {
  // "If this field is empty or missing, this rule matches all sources/destinations/ports."
  const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(state, p, peer, otherIp));
  const portOk = !ports || ports.length === 0 || ports.some((rp) => portMatches(rp, conn, destination));
  return peerOk && portOk;
}

function isSelf(pod: Pod, conn: Conn): boolean {
  return sameAddress(conn.src, conn.dst) && pod.podIPs.some((a) => sameAddress(a, conn.src));
}

/** May `pod` receive the connection? */
export function ingressAllowed(state: ClusterState, pod: Pod, conn: Conn): boolean {
  if (isSelf(pod, conn)) return true; // a pod cannot block access to itself
  const applying = state.policies.filter((p) => selects(p, pod) && typesOf(p).includes('Ingress'));
  if (applying.length === 0) return true;
  return applying.some((p) =>
    (p.spec.ingress ?? []).some((r) => ruleAllows(state, p, r.from, r.ports, conn.src, conn, pod)),
  );
}

/** May `pod` open the connection? */
export function egressAllowed(state: ClusterState, pod: Pod, conn: Conn): boolean {
  if (isSelf(pod, conn)) return true;
  const applying = state.policies.filter((p) => selects(p, pod) && typesOf(p).includes('Egress'));
  if (applying.length === 0) return true;
  const destination = podWithIp(state, conn.dst);
  return applying.some((p) =>
    (p.spec.egress ?? []).some((r) => ruleAllows(state, p, r.to, r.ports, conn.dst, conn, destination)),
  );
}
