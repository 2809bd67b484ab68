import assert from 'node:assert/strict';
import { compilePolicies, type PolicyIR } from '../../policy/compile.js';
import { evaluatePacket, type Verdict } from '../../policy/evaluate.js';
import { PolicyValidationError } from '../../policy/issues.js';
import type { ClusterState, NetworkPolicy, Pod, Protocol } from '../../policy/model.js';
import { ns, pod, policy } from './fixtures.js';

// Namespaces x, y, z with pods a, b, c as in the upstream e2e suite; a and b of x are local.
function cluster(policies: NetworkPolicy[], extraPods: Pod[] = []): ClusterState {
  return {
    namespaces: [ns('x', { ns: 'x' }), ns('y', { ns: 'y' }), ns('z', { ns: 'z' })],
    pods: [
      pod('x/a', { pod: 'a' }, ['10.0.0.1', 'fd00::1'], {
        iface: 'trlxa',
        ports: [
          { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
          { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' },
        ],
      }),
      pod('x/b', { pod: 'b' }, ['10.0.0.2', 'fd00::2'], {
        iface: 'trlxb',
        ports: [{ name: 'serve-80-tcp', containerPort: 8080, protocol: 'TCP' }],
      }),
      pod('x/c', { pod: 'c' }, ['10.0.0.3']),
      pod('y/a', { pod: 'a' }, ['10.0.1.1'], {
        ports: [{ name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' }],
      }),
      pod('y/b', { pod: 'b' }, ['10.0.1.2']),
      pod('z/a', { pod: 'a' }, ['10.0.2.1'], {
        ports: [{ name: 'serve-80-sctp', containerPort: 80, protocol: 'SCTP' }],
      }),
      ...extraPods,
    ],
    policies,
  };
}

/** Decides a new connection from `from` to `to` (pod ids or bare IPs) as the node would. */
function decide(
  ir: PolicyIR,
  state: ClusterState,
  from: string,
  to: string,
  protocol: Protocol = 'TCP',
  port = 80,
): Verdict {
  const v6 = from.endsWith('@6');
  const resolve = (ref: string) => {
    const id = ref.replace(/@6$/, '');
    const p = state.pods.find((q) => `${q.namespace}/${q.name}` === id);
    if (p === undefined) return { ip: id, iface: undefined };
    const ip = p.podIPs.find((a) => a.includes(':') === v6);
    assert.ok(ip, `${id} has no address in the family`);
    return { ip, iface: p.hostInterface };
  };
  const src = resolve(from);
  const dst = resolve(to);
  return evaluatePacket(ir, {
    src: src.ip,
    dst: dst.ip,
    protocol,
    port,
    ...(src.iface && { inIface: src.iface }),
    ...(dst.iface && { outIface: dst.iface }),
  });
}

function check(
  policies: NetworkPolicy[],
  expectations: [from: string, to: string, verdict: Verdict, protocol?: Protocol, port?: number][],
  extraPods: Pod[] = [],
) {
  const state = cluster(policies, extraPods);
  const ir = compilePolicies(state);
  for (const [from, to, verdict, protocol, port] of expectations) {
    assert.equal(
      decide(ir, state, from, to, protocol, port),
      verdict,
      `${from} -> ${to} ${protocol ?? 'TCP'}/${port ?? 80}`,
    );
  }
}

const onA = { matchLabels: { pod: 'a' } };

describe('policy/compile', () => {
  it('allows everything when no policy selects a pod', () => {
    check(
      [],
      [
        ['x/b', 'x/a', 'allow'],
        ['y/b', 'x/a', 'allow', 'UDP', 9],
        ['x/a', '192.0.2.1', 'allow'],
      ],
    );
    const ir = compilePolicies(cluster([]));
    assert.deepEqual(ir.v4.sets, []);
    assert.deepEqual(ir.v4.policyChains, []);
    assert.equal(ir.v4.endpoints.length, 2);
  });

  it('isolates only the selected pods and only in the policy types direction', () => {
    check(
      [policy('x/deny-a', { podSelector: onA, ingress: [] })],
      [
        ['x/b', 'x/a', 'deny'],
        ['x/a', 'x/b', 'allow'],
        ['x/a', '192.0.2.1', 'allow'],
        ['y/a', 'x/b', 'allow'],
      ],
    );
  });

  it('egress: [] without policyTypes is an ingress default-deny, not an egress one', () => {
    check(
      [policy('x/p', { podSelector: onA, egress: [] })],
      [
        ['x/b', 'x/a', 'deny'],
        ['x/a', 'x/b', 'allow'],
      ],
    );
  });

  it('explicit Egress type with no rules denies egress only', () => {
    check(
      [policy('x/p', { podSelector: onA, policyTypes: ['Egress'] })],
      [
        ['x/a', 'x/b', 'deny'],
        ['x/a', '192.0.2.1', 'deny'],
        ['x/b', 'x/a', 'allow'],
      ],
    );
  });

  it('a peer with podSelector AND namespaceSelector is one conjunctive peer', () => {
    const p = policy('x/p', {
      podSelector: onA,
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } },
          ],
        },
      ],
    });
    check(
      [p],
      [
        ['y/b', 'x/a', 'allow'],
        ['y/a', 'x/a', 'deny'],
        ['x/b', 'x/a', 'deny'],
        ['z/a', 'x/a', 'deny'],
      ],
    );
  });

  it('two peers are a disjunction', () => {
    const p = policy('x/p', {
      podSelector: onA,
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { ns: 'y' } } },
            { podSelector: { matchLabels: { pod: 'b' } } },
          ],
        },
      ],
    });
    check(
      [p],
      [
        ['y/b', 'x/a', 'allow'],
        ['y/a', 'x/a', 'allow'],
        ['x/b', 'x/a', 'allow'],
        ['x/c', 'x/a', 'deny'],
        ['z/a', 'x/a', 'deny'],
      ],
    );
  });

  it('podSelector alone means the policy namespace; namespaceSelector {} means every namespace', () => {
    check(
      [
        policy('x/p', {
          podSelector: onA,
          ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
        }),
      ],
      [
        ['x/b', 'x/a', 'allow'],
        ['y/b', 'x/a', 'deny'],
      ],
    );
    check(
      [
        policy('x/p', {
          podSelector: onA,
          ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }] }],
        }),
      ],
      [
        ['x/b', 'x/a', 'allow'],
        ['y/b', 'x/a', 'allow'],
        ['y/a', 'x/a', 'deny'],
        ['192.0.2.1', 'x/a', 'deny'],
      ],
    );
  });

  it('namespaceSelector can use the kubernetes.io/metadata.name label the API server adds', () => {
    const p = policy('x/p', {
      podSelector: onA,
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' } } }] }],
    });
    check(
      [p],
      [
        ['z/a', 'x/a', 'allow'],
        ['y/a', 'x/a', 'deny'],
      ],
    );
  });

  it('missing and empty from both allow all sources; an empty rule allows everything', () => {
    for (const rule of [{}, { from: [] }, { from: [], ports: [] }]) {
      check(
        [policy('x/p', { podSelector: onA, ingress: [rule] })],
        [
          ['y/b', 'x/a', 'allow', 'UDP', 53],
          ['192.0.2.1', 'x/a', 'allow', 'SCTP', 9],
        ],
      );
    }
  });

  it('ipBlock matches pod IPs and honours except', () => {
    const p = policy('x/p', {
      podSelector: onA,
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }] }],
    });
    check(
      [p],
      [
        ['x/b', 'x/a', 'allow'],
        ['z/a', 'x/a', 'allow'],
        ['y/a', 'x/a', 'deny'],
        ['10.0.200.7', 'x/a', 'allow'],
        ['192.0.2.1', 'x/a', 'deny'],
      ],
    );
  });

  it('ipBlock 0.0.0.0/0 with except works although ipset cannot store a /0', () => {
    const p = policy('x/p', {
      podSelector: onA,
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '0.0.0.0/1'] } }] }],
    });
    check(
      [p],
      [
        ['x/a', '192.0.2.1', 'allow'],
        ['x/a', '200.0.0.1', 'allow'],
        ['x/a', '10.0.0.2', 'deny'],
        ['x/a', '11.0.0.1', 'deny'],
      ],
    );
  });

  it('IPv4 ipBlocks do not match IPv6 traffic and vice versa', () => {
    const p = policy('x/p', { podSelector: onA, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] });
    check(
      [p],
      [
        ['x/b', 'x/a', 'allow'],
        ['x/b@6', 'x/a', 'deny'],
      ],
    );
    const ir = compilePolicies(cluster([p]));
    assert.equal(ir.v6.sets.length, 0);
    assert.equal(ir.v6.endpoints.find((e) => e.iface === 'trlxa')?.ingress.isolated, true);
    assert.deepEqual(ir.v6.endpoints.find((e) => e.iface === 'trlxa')?.ingress.policyChains, []);
  });

  it('named ingress ports resolve against the selected pod, per protocol', () => {
    const p = policy('x/p', {
      podSelector: {},
      ingress: [{ ports: [{ port: 'serve-80-tcp' }, { protocol: 'UDP', port: 'serve-81-udp' }] }],
    });
    check(
      [p],
      [
        ['y/a', 'x/a', 'allow', 'TCP', 80],
        ['y/a', 'x/b', 'deny', 'TCP', 80],
        ['y/a', 'x/b', 'allow', 'TCP', 8080],
        ['y/a', 'x/a', 'deny', 'TCP', 8080],
        ['y/a', 'x/a', 'allow', 'UDP', 81],
        ['y/a', 'x/a', 'deny', 'TCP', 81],
        ['y/a', 'x/a', 'deny', 'UDP', 80],
      ],
    );
  });

  it('named egress ports resolve against each destination pod, also with no `to`', () => {
    const p = policy('x/p', {
      podSelector: onA,
      policyTypes: ['Egress'],
      egress: [{ ports: [{ port: 'serve-80-tcp' }] }],
    });
    check(
      [p],
      [
        ['x/a', 'x/b', 'allow', 'TCP', 8080],
        ['x/a', 'x/b', 'deny', 'TCP', 80],
        ['x/a', 'y/a', 'allow', 'TCP', 80],
        ['x/a', 'y/b', 'deny', 'TCP', 80],
        ['x/a', '192.0.2.1', 'deny', 'TCP', 80],
      ],
    );
  });

  it('named egress ports with an ipBlock peer only match pods inside the block', () => {
    const p = policy('x/p', {
      podSelector: onA,
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.1.0/24' } }], ports: [{ port: 'serve-80-tcp' }] }],
    });
    check(
      [p],
      [
        ['x/a', 'y/a', 'allow', 'TCP', 80],
        ['x/a', 'x/b', 'deny', 'TCP', 8080],
        ['x/a', '10.0.1.99', 'deny', 'TCP', 80],
      ],
    );
  });

  it('a named egress port together with a deny-all egress policy still allows that port', () => {
    const denyAll = policy('x/deny', { podSelector: {}, policyTypes: ['Egress'] });
    const allowNamed = policy('x/named', {
      podSelector: onA,
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'serve-80-sctp', protocol: 'SCTP' }] }],
    });
    check(
      [denyAll, allowNamed],
      [
        ['x/a', 'z/a', 'allow', 'SCTP', 80],
        ['x/a', 'z/a', 'deny', 'TCP', 80],
        ['x/b', 'z/a', 'deny', 'SCTP', 80],
      ],
    );
  });

  it('SCTP, UDP and TCP are distinct', () => {
    const p = policy('x/p', { podSelector: onA, ingress: [{ ports: [{ protocol: 'SCTP', port: 80 }] }] });
    check(
      [p],
      [
        ['y/a', 'x/a', 'allow', 'SCTP', 80],
        ['y/a', 'x/a', 'deny', 'TCP', 80],
        ['y/a', 'x/a', 'deny', 'UDP', 80],
      ],
    );
  });

  it('a port without protocol is TCP; a protocol without port is every port', () => {
    check(
      [policy('x/p', { podSelector: onA, ingress: [{ ports: [{ port: 80 }, { protocol: 'UDP' }] }] })],
      [
        ['y/a', 'x/a', 'allow', 'TCP', 80],
        ['y/a', 'x/a', 'deny', 'SCTP', 80],
        ['y/a', 'x/a', 'allow', 'UDP', 65535],
        ['y/a', 'x/a', 'deny', 'TCP', 81],
      ],
    );
  });

  it('endPort is an inclusive range', () => {
    check(
      [policy('x/p', { podSelector: onA, ingress: [{ ports: [{ port: 1000, endPort: 2000 }] }] })],
      [
        ['y/a', 'x/a', 'deny', 'TCP', 999],
        ['y/a', 'x/a', 'allow', 'TCP', 1000],
        ['y/a', 'x/a', 'allow', 'TCP', 2000],
        ['y/a', 'x/a', 'deny', 'TCP', 2001],
      ],
    );
  });

  it('allowed is the union over all policies selecting a pod', () => {
    const p1 = policy('x/p1', {
      podSelector: onA,
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    });
    const p2 = policy('x/p2', {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'z' } } }] }],
    });
    check(
      [p1, p2],
      [
        ['x/b', 'x/a', 'allow'],
        ['z/a', 'x/a', 'allow'],
        ['z/a', 'x/b', 'allow'],
        ['x/a', 'x/b', 'deny'],
        ['y/a', 'x/a', 'deny'],
      ],
    );
  });

  it('an egress allow cannot bypass the receiver ingress policy, and the reverse', () => {
    const egressAllowAll = policy('x/egress', { podSelector: onA, policyTypes: ['Egress'], egress: [{}] });
    const ingressDenyB = policy('x/ingress', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [] });
    check(
      [egressAllowAll, ingressDenyB],
      [
        ['x/a', 'x/b', 'deny'],
        ['x/b', 'x/a', 'allow'],
      ],
    );
    const egressDenyA = policy('x/egress', { podSelector: onA, policyTypes: ['Egress'] });
    const ingressAllowB = policy('x/ingress', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{}] });
    check([egressDenyA, ingressAllowB], [['x/a', 'x/b', 'deny']]);
  });

  it('a policy with both types does not isolate the other direction of unselected pods', () => {
    const p = policy('x/p', { podSelector: onA, policyTypes: ['Ingress', 'Egress'], ingress: [{}] });
    check(
      [p],
      [
        ['x/b', 'x/a', 'allow'],
        ['x/a', 'x/b', 'deny'],
        ['y/a', 'x/b', 'allow'],
      ],
    );
  });

  it('checks only ingress for traffic from remote pods, and only egress towards remote pods', () => {
    const p = policy('x/p', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'z' } } }] }],
    });
    check(
      [p],
      [
        ['y/a', 'x/a', 'allow'],
        ['z/a', 'x/a', 'deny'],
        ['x/a', 'z/a', 'allow'],
        ['x/a', 'y/a', 'deny'],
      ],
    );
  });

  it('a pod can always reach itself through the host (hairpin)', () => {
    const p = policy('x/p', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    check(
      [p],
      [
        ['x/a', 'x/a', 'allow'],
        ['x/a@6', 'x/a', 'allow'],
        ['x/a', 'x/b', 'deny'],
      ],
    );
  });

  it('traffic on an unknown workload interface is not allowed (fail closed)', () => {
    const ir = compilePolicies(cluster([]));
    const verdict = evaluatePacket(ir, {
      src: '10.0.9.9',
      dst: '10.0.0.1',
      protocol: 'TCP',
      port: 80,
      inIface: 'trlnew',
    });
    assert.equal(verdict, 'unknownWorkload');
  });

  it('a local pod without addresses is not an endpoint (its traffic is dropped)', () => {
    const ir = compilePolicies(cluster([], [pod('x/pending', {}, [], { iface: 'trlpend' })]));
    assert.equal(
      ir.v4.endpoints.some((e) => e.iface === 'trlpend'),
      false,
    );
  });

  it('a new pod or a label change changes set members, not rules', () => {
    const p = policy('x/p', {
      podSelector: onA,
      ingress: [
        {
          from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'client' } } }],
          ports: [{ port: 'serve-80-tcp' }],
        },
      ],
    });
    const before = compilePolicies(cluster([p]));
    const after = compilePolicies(
      cluster(
        [p],
        [
          pod('y/client', { role: 'client' }, ['10.0.1.50']),
          pod('x/a2', { pod: 'a' }, ['10.0.0.9'], {
            ports: [{ name: 'serve-80-tcp', containerPort: 9000, protocol: 'TCP' }],
          }),
        ],
      ),
    );
    assert.deepEqual(after.v4.policyChains, before.v4.policyChains);
    assert.deepEqual(after.v4.endpoints, before.v4.endpoints);
    assert.deepEqual(
      after.v4.sets.map((s) => s.key),
      before.v4.sets.map((s) => s.key),
    );
    assert.notDeepEqual(after.v4.sets, before.v4.sets);
    const clients = after.v4.sets.find((s) => s.key.includes('role=client'));
    assert.deepEqual(clients?.members, [{ kind: 'ip', ip: '10.0.1.50' }]);
  });

  it('policies with identical rules share one policy chain', () => {
    const rule = { from: [{ podSelector: { matchLabels: { pod: 'b' } } }] };
    const ir = compilePolicies(
      cluster([
        policy('x/p1', { podSelector: onA, ingress: [rule] }),
        policy('x/p2', { podSelector: {}, ingress: [rule] }),
      ]),
    );
    assert.equal(ir.v4.policyChains.length, 1);
    assert.deepEqual(ir.v4.policyChains[0]?.policies, ['x/p1', 'x/p2']);
    assert.deepEqual(ir.v4.endpoints.find((e) => e.iface === 'trlxa')?.ingress.policyChains, [
      ir.v4.policyChains[0]?.id,
    ]);
  });

  it('rejects invalid input with typed errors naming the object and field', () => {
    const bad: [ClusterState, RegExp][] = [
      [
        cluster([], [pod('x/d', {}, ['10.0.0.300'])]),
        /pods\[6\]\(x\/d\)\.podIPs\[0\]: 10\.0\.0\.300 is not an IP address/,
      ],
      [
        cluster([], [pod('x/d', {}, ['10.0.0.9'], { iface: 'trlxa' })]),
        /hostInterface: trlxa is also the interface of x\/a/,
      ],
      [
        cluster([], [pod('x/d', {}, ['10.0.0.9'], { iface: 'trl+' })]),
        /hostInterface: trl\+: not a valid interface name/,
      ],
      [cluster([], [pod('x/a', {}, ['10.0.0.9'])]), /pod x\/a is listed twice/],
      [
        cluster([policy('x/p', { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] })]),
        /policies\[0\]\(x\/p\)\.spec\.ingress\[0\]\.ports\[0\]\.port: 0: must be between 1 and 65535/,
      ],
      [
        cluster([policy('x/p', { podSelector: {} }), policy('x/p', { podSelector: {} })]),
        /policy x\/p is listed twice/,
      ],
    ];
    for (const [state, message] of bad) {
      assert.throws(
        () => compilePolicies(state),
        (err: unknown) => err instanceof PolicyValidationError && message.test(err.message),
      );
    }
  });
});
