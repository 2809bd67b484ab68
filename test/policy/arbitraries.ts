// fast-check generators of small but nasty clusters: few labels and addresses so selectors,
// ipBlocks and named ports collide often.
import fc from 'fast-check';
import type {
  ClusterState,
  ContainerPort,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
  PolicyType,
  Protocol,
} from '../../policy/model.js';

export const NAMESPACES = ['x', 'y', 'z'];
const PROTOCOLS: Protocol[] = ['TCP', 'UDP', 'SCTP'];
export const PORTS = [53, 80, 81, 8080];
const PORT_NAMES = ['http', 'dns', 'metrics'];
/** Addresses that are never pod IPs, some inside the ipBlocks below. */
export const EXTERNAL_IPS = ['192.0.2.1', '10.0.0.200', '10.0.1.77', 'fd00::99', '2001:db8::1'];

const labelKey = fc.constantFrom('app', 'role');
const labelValue = fc.constantFrom('web', 'db', 'fe');

export const labels = fc.dictionary(labelKey, labelValue, { maxKeys: 2 });

const selector: fc.Arbitrary<LabelSelector> = fc.oneof(
  fc.constant({}),
  labels.map((matchLabels) => ({ matchLabels })),
  fc
    .array(
      fc.oneof(
        fc.record({
          key: labelKey,
          operator: fc.constantFrom('In' as const, 'NotIn' as const),
          values: fc.uniqueArray(labelValue, { minLength: 1, maxLength: 2 }),
        }),
        fc.record({ key: labelKey, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
      ),
      { minLength: 1, maxLength: 2 },
    )
    .map((matchExpressions) => ({ matchExpressions })),
);

const namespaceSelector: fc.Arbitrary<LabelSelector> = fc.oneof(
  fc.constant<LabelSelector>({}),
  fc
    .constantFrom('x', 'y', 'z')
    .map((n): LabelSelector => ({ matchLabels: { 'kubernetes.io/metadata.name': n } })),
  fc.constantFrom('a', 'b').map((t): LabelSelector => ({ matchLabels: { team: t } })),
  fc.constant<LabelSelector>({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }),
);

// Each cidr with excepts that are strict subsets of it.
const IP_BLOCKS: [string, string[]][] = [
  ['10.0.0.0/16', ['10.0.1.0/24', '10.0.0.0/30']],
  ['10.0.0.0/24', ['10.0.0.2/31']],
  ['0.0.0.0/0', ['10.0.0.0/8', '0.0.0.0/1', '10.0.1.0/24']],
  ['fd00::/64', ['fd00::/126']],
  ['::/0', ['fd00::/8']],
];

const ipBlock = fc
  .constantFrom(...IP_BLOCKS)
  .chain(([cidr, excepts]) =>
    fc.subarray(excepts).map((except) => (except.length > 0 ? { cidr, except } : { cidr })),
  );

const peer: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  selector.map((podSelector) => ({ podSelector })),
  namespaceSelector.map((ns) => ({ namespaceSelector: ns })),
  fc.record({ podSelector: selector, namespaceSelector }),
  ipBlock.map((b) => ({ ipBlock: b })),
);

const policyPort: fc.Arbitrary<NetworkPolicyPort> = fc
  .record(
    {
      protocol: fc.constantFrom(...PROTOCOLS),
      port: fc.oneof(fc.constantFrom(...PORTS), fc.constantFrom(...PORT_NAMES)),
      endPortDelta: fc.constantFrom(0, 1, 8000),
      useEndPort: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const out: NetworkPolicyPort = {};
    if (r.protocol !== undefined) out.protocol = r.protocol;
    if (r.port !== undefined) out.port = r.port;
    if (typeof r.port === 'number' && r.useEndPort)
      out.endPort = Math.min(65535, r.port + (r.endPortDelta ?? 0));
    return out;
  });

const optionalList = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof(fc.constant(undefined), fc.constant([] as T[]), fc.array(arb, { minLength: 1, maxLength: 2 }));

const ingressRule = fc.record({ from: optionalList(peer), ports: optionalList(policyPort) }).map((r) => ({
  ...(r.from && { from: r.from }),
  ...(r.ports && { ports: r.ports }),
}));
const egressRule = fc.record({ to: optionalList(peer), ports: optionalList(policyPort) }).map((r) => ({
  ...(r.to && { to: r.to }),
  ...(r.ports && { ports: r.ports }),
}));

const policyTypes = fc.constantFrom<PolicyType[] | undefined>(
  undefined,
  [],
  ['Ingress'],
  ['Egress'],
  ['Ingress', 'Egress'],
);

export const policyArb = (index: number): fc.Arbitrary<NetworkPolicy> =>
  fc
    .record({
      namespace: fc.constantFrom(...NAMESPACES),
      podSelector: selector,
      policyTypes,
      ingress: fc.option(fc.array(ingressRule, { maxLength: 2 }), { nil: undefined }),
      egress: fc.option(fc.array(egressRule, { maxLength: 2 }), { nil: undefined }),
    })
    .map((r) => ({
      metadata: { namespace: r.namespace, name: `p${index}` },
      spec: {
        podSelector: r.podSelector,
        ...(r.policyTypes && { policyTypes: r.policyTypes }),
        ...(r.ingress && { ingress: r.ingress }),
        ...(r.egress && { egress: r.egress }),
      },
    }));

const containerPort: fc.Arbitrary<ContainerPort> = fc.record({
  name: fc.constantFrom(...PORT_NAMES),
  containerPort: fc.constantFrom(...PORTS),
  protocol: fc.constantFrom(...PROTOCOLS),
});

export const podArb = (index: number): fc.Arbitrary<Pod> =>
  fc
    .record({
      namespace: fc.constantFrom(...NAMESPACES),
      labels,
      dualStack: fc.boolean(),
      local: fc.boolean(),
      ports: fc.uniqueArray(containerPort, { maxLength: 3, selector: (p) => `${p.name}/${p.protocol}` }),
    })
    .map((r) => {
      // Pod addresses fall inside and outside the ipBlocks and their excepts.
      const v4 = `10.0.${index % 2}.${index + 1}`;
      const pod: Pod = {
        namespace: r.namespace,
        name: `pod${index}`,
        labels: r.labels,
        podIPs: r.dualStack ? [v4, `fd00::${index + 1}`] : [v4],
        ports: r.ports,
      };
      if (r.local) pod.hostInterface = `trl${index}`;
      return pod;
    });

export const clusterArb: fc.Arbitrary<ClusterState> = fc
  .record({
    teams: fc.tuple(...NAMESPACES.map(() => fc.option(fc.constantFrom('a', 'b'), { nil: undefined }))),
    podCount: fc.integer({ min: 1, max: 6 }),
    policyCount: fc.integer({ min: 0, max: 4 }),
  })
  .chain(({ teams, podCount, policyCount }) =>
    fc
      .record({
        pods: fc.tuple(...Array.from({ length: podCount }, (_, i) => podArb(i))),
        policies: fc.tuple(...Array.from({ length: policyCount }, (_, i) => policyArb(i))),
      })
      .map(
        ({ pods, policies }): ClusterState => ({
          namespaces: NAMESPACES.map((name, i): Namespace => {
            const team = teams[i];
            return { name, labels: team === undefined ? {} : { team } };
          }),
          pods,
          policies,
        }),
      ),
  );
