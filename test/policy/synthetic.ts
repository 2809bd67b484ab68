// A synthetic cluster at scale for the policy benchmark: `policies` NetworkPolicies over
// `endpoints` pods, by default all local (every pod has a host interface), spread over
// namespaces, with the selector shapes real clusters use (pod selector, namespace+pod selector, named ports,
// ipBlock with except, egress). Deterministic: the same options give the same cluster.
// Every (namespace, app) pair is selected by one policy once policies >= namespaces * APPS.
import type { ClusterState, Namespace, NetworkPolicy, Pod } from '../../policy/model.js';

export interface SyntheticOptions {
  policies: number;
  endpoints: number;
  /** Default 50. */
  namespaces?: number;
  /** Every n-th pod is dual-stack (default 4); the rest IPv4 only. */
  dualStackEvery?: number;
  /**
   * How many of the pods are on the node compiled for (default: all), scattered over the pod
   * indexes; the others have no host interface, as pods on other nodes.
   */
  localEndpoints?: number;
}

const APPS = 20;
const TIERS = ['fe', 'be', 'ops'];
const TEAMS = 5;

const nsName = (i: number) => `ns${i}`;

function podOf(i: number, namespaces: number, dualStackEvery: number, local: boolean): Pod {
  // 10.64.0.0/10 and fd64::/64 hold up to 4M pods, far beyond any benchmark.
  const v4 = `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const pod: Pod = {
    namespace: nsName(i % namespaces),
    name: `pod${i}`,
    labels: { app: `app${Math.floor(i / namespaces) % APPS}`, tier: TIERS[i % TIERS.length]! },
    podIPs: i % dualStackEvery === 0 ? [v4, `fd64::${i.toString(16)}`] : [v4],
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
  };
  if (local) pod.hostInterface = `trl${i.toString(16).padStart(8, '0')}`;
  return pod;
}

/** A prime above any pod count, so multiplying by it permutes the pod indexes modulo the count. */
const SCATTER = 2_147_483_647;

/**
 * Whether pod `i` of `endpoints` is one of the `local` ones: those the permutation maps below
 * `local`. That is exactly `local` pods, scattered over namespaces, apps and tiers (for
 * 10,000 pods: 110 local ones come from all 50 namespaces and 110 different apps-in-namespace),
 * as a scheduler spreading replicas over nodes would place them.
 */
const isLocal = (i: number, local: number, endpoints: number) =>
  (i * (SCATTER % endpoints)) % endpoints < local;

/** Policy `j`; `revision` changes its port list only, as an edit of that policy would. */
export function syntheticPolicy(j: number, namespaces: number, revision = 0): NetworkPolicy {
  const app = Math.floor(j / namespaces) % APPS;
  const policy: NetworkPolicy = {
    metadata: { namespace: nsName(j % namespaces), name: `policy${j}` },
    spec: {
      podSelector: { matchLabels: { app: `app${app}` } },
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { tier: TIERS[j % TIERS.length]! } } },
            {
              namespaceSelector: { matchLabels: { team: `t${j % TEAMS}` } },
              podSelector: { matchLabels: { app: `app${(app + 1) % APPS}` } },
            },
          ],
          ports: [{ port: 'http' }, { protocol: 'TCP', port: 8443 + (j % 7) + revision }],
        },
      ],
    },
  };
  if (j % 4 === 0) {
    policy.spec.policyTypes = ['Ingress', 'Egress'];
    policy.spec.egress = [
      {
        to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [`10.${64 + (j % 4)}.${j % 256}.0/24`] } }],
        ports: [{ protocol: 'UDP', port: 53 }],
      },
      { to: [{ podSelector: {} }], ports: [{ port: 'metrics' }] },
    ];
  }
  return policy;
}

export function syntheticCluster(options: SyntheticOptions): ClusterState {
  const namespaces = options.namespaces ?? 50;
  const dualStackEvery = options.dualStackEvery ?? 4;
  const local = options.localEndpoints ?? options.endpoints;
  if (!Number.isInteger(local) || local < 0 || local > options.endpoints) {
    throw new RangeError(`localEndpoints ${local}: not a whole number from 0 to ${options.endpoints}`);
  }
  return {
    namespaces: Array.from(
      { length: namespaces },
      (_, i): Namespace => ({ name: nsName(i), labels: { team: `t${i % TEAMS}` } }),
    ),
    pods: Array.from({ length: options.endpoints }, (_, i) =>
      podOf(i, namespaces, dualStackEvery, isLocal(i, local, options.endpoints)),
    ),
    policies: Array.from({ length: options.policies }, (_, j) => syntheticPolicy(j, namespaces)),
  };
}

/** The cluster with pod `index`'s tier label moved on by `step`: only peer-set members change. */
export function withTierChange(state: ClusterState, index: number, step: number): ClusterState {
  const pods = [...state.pods];
  const pod = pods[index]!;
  const tier = TIERS[(TIERS.indexOf(pod.labels['tier']!) + step) % TIERS.length]!;
  pods[index] = { ...pod, labels: { ...pod.labels, tier } };
  return { ...state, pods };
}

/**
 * The cluster with pod `index`'s app label moved on by `step`: the policies selecting the pod
 * change, so a local pod's endpoint chains are rewritten (besides peer-set members).
 */
export function withAppChange(state: ClusterState, index: number, step: number): ClusterState {
  const pods = [...state.pods];
  const pod = pods[index]!;
  const app = (Number(pod.labels['app']!.slice('app'.length)) + step) % APPS;
  pods[index] = { ...pod, labels: { ...pod.labels, app: `app${app}` } };
  return { ...state, pods };
}

/** The cluster with policy `j`'s ports changed (revision > 0): one policy chain is replaced. */
export function withPolicyEdit(state: ClusterState, j: number, revision: number): ClusterState {
  const policies = [...state.policies];
  policies[j] = syntheticPolicy(j, state.namespaces.length, revision);
  return { ...state, policies };
}
