// Input model of the policy compiler: the parts of Namespace, Pod and networking.k8s.io/v1
// NetworkPolicy that decide what traffic is allowed. Field names and optionality follow the
// Kubernetes API so objects from the API server or a YAML file map onto them one to one.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export type PolicyType = 'Ingress' | 'Egress';
export const POLICY_TYPES: readonly PolicyType[] = ['Ingress', 'Egress'];

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
export const LABEL_SELECTOR_OPERATORS: readonly LabelSelectorOperator[] = [
  'In',
  'NotIn',
  'Exists',
  'DoesNotExist',
];

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values?: string[];
}

/** An empty selector (`{}`) selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface Namespace {
  name: string;
  labels: Labels;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
}

export interface Pod {
  namespace: string;
  name: string;
  labels: Labels;
  /** IPv4 and/or IPv6 addresses, no prefix length. Empty while the pod has no network. */
  podIPs: string[];
  /** Declared container ports of all containers; named ports resolve against these. */
  ports: ContainerPort[];
  /** Host-side veth of a pod on THIS node; absent for pods on other nodes. */
  hostInterface?: string;
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  /** Defaults to TCP. */
  protocol?: Protocol;
  /** A number, or the name of a container port of the destination pod. Absent: all ports. */
  port?: number | string;
  /** Last port of a range starting at the numeric `port`. */
  endPort?: number;
}

/** Missing or empty `from`/`ports` match everything (API doc of NetworkPolicyIngressRule). */
export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: PolicyType[];
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
}

export interface NetworkPolicy {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: NetworkPolicySpec;
}

/** Everything the compiler needs to decide traffic for the endpoints of one node. */
export interface ClusterState {
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
}

/** Label the API server puts on every namespace (since 1.21); selectors rely on it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
