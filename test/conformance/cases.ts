// The conformance cases, after the upstream e2e netpol scenarios (test/e2e/network/netpol) and
// the mistakes other implementations made (/work/shared/reference/networkpolicy.md). A case is a
// list of steps; each step sets the policies (and optionally relabels the world) and is probed.
// Classic cases carry a hand-written truth table that must agree with the evaluator.
import type {
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicySpec,
} from '../../policy/model.js';
import type { Service } from './matrix.js';
import { type World, withNamespaceLabels, withPodLabels } from './world.js';

export interface HandExpectation {
  /** Rows `<from>: <marks for x/a..z/c>`, see matrix.ts handTable. */
  table: string;
  /** The services `table` is for (default: all); the others follow `otherServicesTable`. */
  services?: readonly Service[];
  otherServicesTable?: string;
}

export interface Step {
  description: string;
  policies: NetworkPolicy[];
  /** Applied to the world of the previous step (labels only; pods and addresses are fixed). */
  relabel?: (w: World) => World;
  hand?: HandExpectation;
}

export interface ConformanceCase {
  name: string;
  steps: Step[];
}

const np = (namespace: string, name: string, spec: NetworkPolicySpec): NetworkPolicy => ({
  metadata: { namespace, name },
  spec,
});
const labels = (matchLabels: Record<string, string>): LabelSelector => ({ matchLabels });
const all: LabelSelector = {};
const podA = labels({ pod: 'a' });

const ingressTo = (
  ns: string,
  name: string,
  podSelector: LabelSelector,
  ingress: NetworkPolicyIngressRule[],
) => np(ns, name, { podSelector, policyTypes: ['Ingress'], ingress });
const egressFrom = (
  ns: string,
  name: string,
  podSelector: LabelSelector,
  egress: NetworkPolicyEgressRule[],
) => np(ns, name, { podSelector, policyTypes: ['Egress'], egress });
const denyIngress = (ns: string) => np(ns, 'deny-ingress', { podSelector: all, policyTypes: ['Ingress'] });
const denyEgress = (ns: string) => np(ns, 'deny-egress', { podSelector: all, policyTypes: ['Egress'] });

const single = (name: string, policies: NetworkPolicy[], hand?: HandExpectation): ConformanceCase => ({
  name,
  steps: [{ description: name, policies, ...(hand ? { hand } : {}) }],
});

const TCP80: Service = { protocol: 'TCP', port: 80 };

// Hand tables: rows are sources, columns destinations x/a x/b x/c  y/a y/b y/c  z/a z/b z/c.
const EVERYTHING = `
  x/a: ... ... ...
  x/b: ... ... ...
  x/c: ... ... ...
  y/a: ... ... ...
  y/b: ... ... ...
  y/c: ... ... ...
  z/a: ... ... ...
  z/b: ... ... ...
  z/c: ... ... ...`;

const NOTHING_INTO_XA = `
  x/a: ... ... ...
  x/b: X.. ... ...
  x/c: X.. ... ...
  y/a: X.. ... ...
  y/b: X.. ... ...
  y/c: X.. ... ...
  z/a: X.. ... ...
  z/b: X.. ... ...
  z/c: X.. ... ...`;

export const CASES: ConformanceCase[] = [
  single('no policies: everything flows', [], { table: EVERYTHING }),
  single('default-deny ingress in x', [denyIngress('x')], {
    table: `
      x/a: .XX ... ...
      x/b: X.X ... ...
      x/c: XX. ... ...
      y/a: XXX ... ...
      y/b: XXX ... ...
      y/c: XXX ... ...
      z/a: XXX ... ...
      z/b: XXX ... ...
      z/c: XXX ... ...`,
  }),
  single('default-deny egress in x', [denyEgress('x')], {
    table: `
      x/a: .XX XXX XXX
      x/b: X.X XXX XXX
      x/c: XX. XXX XXX
      y/a: ... ... ...
      y/b: ... ... ...
      y/c: ... ... ...
      z/a: ... ... ...
      z/b: ... ... ...
      z/c: ... ... ...`,
  }),
  single('default-deny both directions in x', [
    np('x', 'deny-all', { podSelector: all, policyTypes: ['Ingress', 'Egress'] }),
  ]),
  single(
    'allow-all ingress rule {} over a default deny in x',
    [denyIngress('x'), ingressTo('x', 'allow-all', all, [{}])],
    { table: EVERYTHING },
  ),
  single('allow-all egress rule {} with ingress denied in x', [
    np('x', 'egress-open', { podSelector: all, policyTypes: ['Ingress', 'Egress'], egress: [{}] }),
  ]),
  single(
    'allow to x/a from its own namespace',
    [ingressTo('x', 'same-ns', podA, [{ from: [{ podSelector: all }] }])],
    {
      table: `
      x/a: ... ... ...
      x/b: ... ... ...
      x/c: ... ... ...
      y/a: X.. ... ...
      y/b: X.. ... ...
      y/c: X.. ... ...
      z/a: X.. ... ...
      z/b: X.. ... ...
      z/c: X.. ... ...`,
    },
  ),
  single('allow to x/a from namespaces labelled ns=y', [
    ingressTo('x', 'from-y', podA, [{ from: [{ namespaceSelector: labels({ ns: 'y' }) }] }]),
  ]),
  single('allow to x/a from namespaces NotIn [x] (matchExpressions)', [
    ingressTo('x', 'from-others', podA, [
      {
        from: [
          { namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } },
        ],
      },
    ]),
  ]),
  single(
    'pod and namespace selector in ONE peer are ANDed (only y/b)',
    [
      ingressTo('x', 'and', podA, [
        { from: [{ namespaceSelector: labels({ ns: 'y' }), podSelector: labels({ pod: 'b' }) }] },
      ]),
    ],
    {
      table: `
      x/a: ... ... ...
      x/b: X.. ... ...
      x/c: X.. ... ...
      y/a: X.. ... ...
      y/b: ... ... ...
      y/c: X.. ... ...
      z/a: X.. ... ...
      z/b: X.. ... ...
      z/c: X.. ... ...`,
    },
  ),
  single(
    'pod and namespace selector as TWO peers are ORed (y/* and x/b)',
    [
      ingressTo('x', 'or', podA, [
        { from: [{ namespaceSelector: labels({ ns: 'y' }) }, { podSelector: labels({ pod: 'b' }) }] },
      ]),
    ],
    {
      table: `
      x/a: ... ... ...
      x/b: ... ... ...
      x/c: X.. ... ...
      y/a: ... ... ...
      y/b: ... ... ...
      y/c: ... ... ...
      z/a: X.. ... ...
      z/b: X.. ... ...
      z/c: X.. ... ...`,
    },
  ),
  single('namespaceSelector {} with podSelector pod=b: pods b of every namespace', [
    ingressTo('x', 'b-anywhere', podA, [
      { from: [{ namespaceSelector: all, podSelector: labels({ pod: 'b' }) }] },
    ]),
  ]),
  single('matchExpressions on pods: In [b, c] selects sources, NotIn [a] selects targets', [
    ingressTo('x', 'bc-only', { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['a'] }] }, [
      { from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] },
    ]),
  ]),
  single('matchExpressions Exists / DoesNotExist', [
    ingressTo('y', 'exists', all, [
      {
        from: [
          {
            namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'Exists' }] },
            podSelector: labels({ pod: 'c' }),
          },
        ],
      },
      { from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'DoesNotExist' }] } }] },
    ]),
  ]),
  single(
    'ipBlock with except matches pod addresses: 10.99.0.0/24 except 10.99.0.20/31',
    [
      ingressTo('x', 'cidr', podA, [
        { from: [{ ipBlock: { cidr: '10.99.0.0/24', except: ['10.99.0.20/31'] } }] },
      ]),
    ],
    {
      table: `
      x/a: ... ... ...
      x/b: ... ... ...
      x/c: ... ... ...
      y/a: X.. ... ...
      y/b: X.. ... ...
      y/c: ... ... ...
      z/a: ... ... ...
      z/b: ... ... ...
      z/c: ... ... ...`,
    },
  ),
  single('ipBlock 0.0.0.0/0 except the pod range admits no pod', [
    ingressTo('x', 'outside-only', podA, [
      { from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.99.0.0/24'] } }] },
    ]),
  ]),
  single('egress to one pod address as an ipBlock /32 (z/b)', [
    egressFrom('x', 'to-zb', podA, [{ to: [{ ipBlock: { cidr: '10.99.0.31/32' } }] }]),
  ]),
  single('egress ipBlock with except: the pod range minus z/a and z/b', [
    egressFrom('x', 'cidr-except', podA, [
      { to: [{ ipBlock: { cidr: '10.99.0.0/24', except: ['10.99.0.30/31'] } }] },
    ]),
  ]),
  single(
    'named port: ingress to x/a on serve-80-tcp only',
    [ingressTo('x', 'named', podA, [{ ports: [{ port: 'serve-80-tcp' }] }])],
    { services: [TCP80], table: EVERYTHING, otherServicesTable: NOTHING_INTO_XA },
  ),
  single('named port of another protocol: UDP serve-81-udp', [
    ingressTo('x', 'named-udp', podA, [{ ports: [{ protocol: 'UDP', port: 'serve-81-udp' }] }]),
  ]),
  single('named port with the wrong protocol matches nothing (TCP serve-80-udp)', [
    ingressTo('x', 'named-mismatch', podA, [{ ports: [{ protocol: 'TCP', port: 'serve-80-udp' }] }]),
  ]),
  single('egress named port without `to`: x/a may reach serve-81-tcp anywhere', [
    egressFrom('x', 'named-egress', podA, [{ ports: [{ port: 'serve-81-tcp' }] }]),
  ]),
  single('named ports with default-deny egress in y', [
    denyEgress('y'),
    ingressTo('x', 'named', podA, [
      { ports: [{ port: 'serve-80-tcp' }, { protocol: 'SCTP', port: 'serve-81-sctp' }] },
    ]),
  ]),
  single('endPort: TCP 80-81', [
    ingressTo('x', 'range', podA, [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }]),
  ]),
  single('endPort: UDP 81-1000 excludes 80', [
    ingressTo('x', 'range-udp', all, [{ ports: [{ protocol: 'UDP', port: 81, endPort: 1000 }] }]),
  ]),
  single('egress to specific ports: x may send to TCP 80 only', [
    egressFrom('x', 'tcp-80', all, [{ ports: [{ protocol: 'TCP', port: 80 }] }]),
  ]),
  single('UDP only: ingress to x on any UDP port', [
    ingressTo('x', 'udp', all, [{ ports: [{ protocol: 'UDP' }] }]),
  ]),
  single('SCTP is not TCP: ingress to x/a on SCTP 81 from y', [
    ingressTo('x', 'sctp', podA, [
      { from: [{ namespaceSelector: labels({ ns: 'y' }) }], ports: [{ protocol: 'SCTP', port: 81 }] },
    ]),
  ]),
  single('SCTP egress: x/a may only send SCTP', [
    egressFrom('x', 'sctp-out', podA, [{ ports: [{ protocol: 'SCTP' }] }]),
  ]),
  single('multiple policies are a union: from y on 80, from z on 81', [
    ingressTo('x', 'y-80', podA, [
      { from: [{ namespaceSelector: labels({ ns: 'y' }) }], ports: [{ port: 80 }] },
    ]),
    ingressTo('x', 'z-81', podA, [
      {
        from: [{ namespaceSelector: labels({ ns: 'z' }) }],
        ports: [
          { protocol: 'UDP', port: 81 },
          { protocol: 'SCTP', port: 81 },
        ],
      },
    ]),
  ]),
  single('policyTypes defaulting: `egress: []` without policyTypes is an ingress default-deny', [
    np('x', 'empty-egress', { podSelector: all, egress: [] }),
  ]),
  single('policyTypes defaulting: egress rules without policyTypes isolate both directions', [
    np('x', 'egress-rules', {
      podSelector: podA,
      egress: [{ to: [{ namespaceSelector: labels({ ns: 'y' }) }] }],
    }),
  ]),
  single('policyTypes [Egress] ignores the ingress rules', [
    np('x', 'egress-only', {
      podSelector: podA,
      policyTypes: ['Egress'],
      ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }],
    }),
  ]),
  single('`ingress: []` allows nothing; `from: []` and `ports: []` match everything', [
    np('x', 'no-rules', { podSelector: labels({ pod: 'b' }), policyTypes: ['Ingress'], ingress: [] }),
    ingressTo('y', 'empty-from', podA, [{ from: [], ports: [{ port: 81 }] }]),
    ingressTo('z', 'empty-ports', podA, [{ from: [{ podSelector: all }], ports: [] }]),
  ]),
  single('an egress allow does not bypass ingress isolation: x -> y allowed out, y denies in', [
    egressFrom('x', 'to-y', all, [{ to: [{ namespaceSelector: labels({ ns: 'y' }) }] }]),
    ingressTo('y', 'from-x-b', all, [
      { from: [{ namespaceSelector: labels({ ns: 'x' }), podSelector: labels({ pod: 'b' }) }] },
    ]),
  ]),
  single('allow from every namespace while z denies its own egress', [
    ingressTo('x', 'all-ns', podA, [{ from: [{ namespaceSelector: all }] }]),
    denyEgress('z'),
  ]),
  {
    name: 'update a policy in place: from y, then from z',
    steps: [
      {
        description: 'allow x/a from y',
        policies: [ingressTo('x', 'p', podA, [{ from: [{ namespaceSelector: labels({ ns: 'y' }) }] }])],
      },
      {
        description: 'same policy now allows from z',
        policies: [ingressTo('x', 'p', podA, [{ from: [{ namespaceSelector: labels({ ns: 'z' }) }] }])],
      },
      {
        description: 'same policy now allows TCP 81 from z',
        policies: [
          ingressTo('x', 'p', podA, [
            { from: [{ namespaceSelector: labels({ ns: 'z' }) }], ports: [{ port: 81 }] },
          ]),
        ],
      },
    ],
  },
  (() => {
    const fromBlue = ingressTo('x', 'from-blue', podA, [
      { from: [{ namespaceSelector: labels({ team: 'blue' }) }] },
    ]);
    return {
      name: 'relabel namespaces under a live policy',
      steps: [
        {
          description: 'y is team=blue',
          policies: [fromBlue],
          relabel: (w: World) => withNamespaceLabels(w, 'y', { ns: 'y', team: 'blue' }),
        },
        {
          description: 'z joins team=blue',
          policies: [fromBlue],
          relabel: (w: World) => withNamespaceLabels(w, 'z', { ns: 'z', team: 'blue' }),
        },
        {
          description: 'y leaves team=blue',
          policies: [fromBlue],
          relabel: (w: World) => withNamespaceLabels(w, 'y', { ns: 'y' }),
        },
      ],
    };
  })(),
  (() => {
    const fromClients = ingressTo('x', 'from-clients', podA, [
      { from: [{ namespaceSelector: all, podSelector: labels({ role: 'client' }) }] },
    ]);
    return {
      name: 'relabel pods under a live policy',
      steps: [
        { description: 'no pod is a client yet', policies: [fromClients] },
        {
          description: 'y/c becomes a client',
          policies: [fromClients],
          relabel: (w: World) => withPodLabels(w, 'y/c', { pod: 'c', role: 'client' }),
        },
        {
          description: 'x/a is no longer pod=a, so no longer selected',
          policies: [fromClients],
          relabel: (w: World) => withPodLabels(w, 'x/a', { pod: 'a2' }),
          hand: { table: EVERYTHING },
        },
        {
          description: 'x/a is pod=a again',
          policies: [fromClients],
          relabel: (w: World) => withPodLabels(w, 'x/a', { pod: 'a' }),
        },
      ],
    };
  })(),
  {
    name: 'delete policies',
    steps: [
      {
        description: 'deny all in x plus an allow from y',
        policies: [
          np('x', 'deny', { podSelector: all, policyTypes: ['Ingress', 'Egress'] }),
          ingressTo('x', 'from-y', all, [{ from: [{ namespaceSelector: labels({ ns: 'y' }) }] }]),
        ],
      },
      {
        description: 'the allow is deleted',
        policies: [np('x', 'deny', { podSelector: all, policyTypes: ['Ingress', 'Egress'] })],
      },
      { description: 'the deny is deleted too', policies: [], hand: { table: EVERYTHING } },
    ],
  },
];
