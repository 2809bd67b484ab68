import assert from 'node:assert/strict';
import { PolicyValidationError } from '../../policy/issues.js';
import type { NetworkPolicySpec } from '../../policy/model.js';
import { defaultPolicyTypes, parseNetworkPolicy } from '../../policy/validate.js';

function doc(spec: unknown, metadata: unknown = { name: 'p', namespace: 'x' }): unknown {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec };
}

/** The issues parseNetworkPolicy reports, as `code path: detail`. */
function issuesOf(input: unknown): string[] {
  try {
    parseNetworkPolicy(input);
  } catch (err) {
    assert.ok(err instanceof PolicyValidationError, `unexpected error ${err}`);
    return err.issues.map((i) => `${i.code} ${i.path}: ${i.detail}`);
  }
  return [];
}

const ingressPort = (port: unknown) => doc({ podSelector: {}, ingress: [{ ports: [port] }] });

describe('policy/validate', () => {
  describe('defaultPolicyTypes (SetDefaults_NetworkPolicy)', () => {
    const sel = { matchLabels: { a: 'b' } };
    const toNs = { to: [{ namespaceSelector: { matchLabels: { c: 'd' } } }] };
    // The five cases of upstream pkg/apis/networking/v1/defaults_test.go, then the edges.
    const cases: [string, NetworkPolicySpec, string[]][] = [
      ['empty policy -> Ingress', { podSelector: sel }, ['Ingress']],
      ['empty ingress list -> Ingress', { podSelector: sel, ingress: [] }, ['Ingress']],
      [
        'ingress and egress rules -> Ingress, Egress',
        {
          podSelector: sel,
          ingress: [
            {
              from: [
                { podSelector: { matchLabels: { c: 'd' } }, namespaceSelector: { matchLabels: { c: 'd' } } },
              ],
            },
          ],
          egress: [toNs],
        },
        ['Ingress', 'Egress'],
      ],
      [
        'egress rules only, no policyTypes -> Ingress, Egress',
        { podSelector: sel, egress: [toNs] },
        ['Ingress', 'Egress'],
      ],
      ['explicit Egress is kept', { podSelector: sel, egress: [toNs], policyTypes: ['Egress'] }, ['Egress']],
      ['egress: [] alone is an ingress default-deny', { podSelector: sel, egress: [] }, ['Ingress']],
      [
        'empty policyTypes list is defaulted',
        { podSelector: sel, egress: [{}], policyTypes: [] },
        ['Ingress', 'Egress'],
      ],
      [
        'explicit Ingress with egress rules is kept',
        { podSelector: sel, egress: [{}], policyTypes: ['Ingress'] },
        ['Ingress'],
      ],
      [
        'explicit both kept in order',
        { podSelector: sel, policyTypes: ['Egress', 'Ingress'] },
        ['Egress', 'Ingress'],
      ],
    ];
    for (const [name, spec, expected] of cases) {
      it(name, () => assert.deepEqual(defaultPolicyTypes(spec), expected));
    }

    it('does not modify its input', () => {
      const spec: NetworkPolicySpec = { podSelector: {}, policyTypes: ['Egress'] };
      defaultPolicyTypes(spec).push('Ingress');
      assert.deepEqual(spec.policyTypes, ['Egress']);
    });
  });

  describe('parseNetworkPolicy', () => {
    it('accepts a full valid policy and keeps missing vs empty lists apart', () => {
      const input = doc({
        podSelector: { matchLabels: { app: 'db' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: {} },
              { ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } },
            ],
            ports: [
              { protocol: 'TCP', port: 5432 },
              { port: 'metrics' },
              { protocol: 'UDP', port: 1000, endPort: 2000 },
            ],
          },
          { from: [] },
          {},
        ],
        egress: [{ to: [{ ipBlock: { cidr: 'fd00::/64' } }], ports: [] }],
      });
      const p = parseNetworkPolicy(input);
      assert.equal(p.metadata.namespace, 'x');
      assert.deepEqual(p.spec.ingress?.[1], { from: [] });
      assert.deepEqual(p.spec.ingress?.[2], {});
      assert.deepEqual(p.spec.egress?.[0], { to: [{ ipBlock: { cidr: 'fd00::/64' } }], ports: [] });
      assert.deepEqual(p.spec.ingress?.[0]?.ports?.[2], { protocol: 'UDP', port: 1000, endPort: 2000 });
    });

    it('defaults the namespace', () => {
      assert.equal(parseNetworkPolicy(doc({ podSelector: {} }, { name: 'p' })).metadata.namespace, 'default');
    });

    it('names the except that lies outside its cidr', () => {
      const input = doc({
        podSelector: {},
        ingress: [
          { from: [{ podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/24', except: ['10.1.0.0/16'] } }] },
        ],
      });
      assert.deepEqual(issuesOf(input), [
        'Invalid spec.ingress[0].from[1].ipBlock.except[0]: 10.1.0.0/16 is not inside cidr 10.0.0.0/24 (must be a strict subset)',
      ]);
      const message = (() => {
        try {
          parseNetworkPolicy(input);
          return '';
        } catch (err) {
          return (err as Error).message;
        }
      })();
      assert.match(
        message,
        /^spec\.ingress\[0\]\.from\[1\]\.ipBlock\.except\[0\]: 10\.1\.0\.0\/16 is not inside cidr 10\.0\.0\.0\/24/,
      );
    });

    it('rejects an except equal to the cidr, of the other family, or unparsable', () => {
      const block = (except: string[]) =>
        doc({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except } }] }] });
      assert.deepEqual(
        issuesOf(block(['10.0.0.0/8', 'fd00::/64', '10.0.0.0/33'])).map((s) => s.split(':')[0]),
        [
          'Invalid spec.egress[0].to[0].ipBlock.except[0]',
          'Invalid spec.egress[0].to[0].ipBlock.except[1]',
          'Invalid spec.egress[0].to[0].ipBlock.except[2]',
        ],
      );
    });

    it('rejects bad CIDRs', () => {
      const bad = [
        '10.0.0.0',
        '10.0.0.0/33',
        '300.0.0.0/8',
        'fd00::/129',
        '10.0.0.0/8/8',
        '010.0.0.0/8',
        'fe80::1%eth0/64',
        '',
      ];
      for (const cidr of bad) {
        const issues = issuesOf(doc({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr } }] }] }));
        assert.equal(issues.length, 1, `${cidr}: ${issues}`);
        assert.match(issues[0]!, /^(Invalid|Required) spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: /, cidr);
      }
    });

    it('accepts host bits in a cidr like the API server does', () => {
      assert.deepEqual(
        issuesOf(doc({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1/8' } }] }] })),
        [],
      );
    });

    it('rejects port 0, port > 65535 and non-integer ports', () => {
      assert.deepEqual(issuesOf(ingressPort({ port: 0 })), [
        'Invalid spec.ingress[0].ports[0].port: 0: must be between 1 and 65535, inclusive',
      ]);
      assert.deepEqual(issuesOf(ingressPort({ port: 65536 })), [
        'Invalid spec.ingress[0].ports[0].port: 65536: must be between 1 and 65535, inclusive',
      ]);
      assert.equal(issuesOf(ingressPort({ port: 80.5 })).length, 1);
      assert.deepEqual(issuesOf(ingressPort({ port: true })), [
        'TypeInvalid spec.ingress[0].ports[0].port: true must be a port number or a port name',
      ]);
    });

    it('rejects endPort below port, with a named port, without a port, or out of range', () => {
      assert.deepEqual(issuesOf(ingressPort({ port: 100, endPort: 99 })), [
        'Invalid spec.ingress[0].ports[0].endPort: 99: must be greater than or equal to port 100',
      ]);
      assert.deepEqual(issuesOf(ingressPort({ port: 'http', endPort: 99 })), [
        'Invalid spec.ingress[0].ports[0].endPort: 99: may not be specified when port is a named port',
      ]);
      assert.deepEqual(issuesOf(ingressPort({ endPort: 99 })), [
        'Invalid spec.ingress[0].ports[0].endPort: 99: may not be specified when port is not specified',
      ]);
      assert.deepEqual(issuesOf(ingressPort({ port: 1, endPort: 70000 })), [
        'Invalid spec.ingress[0].ports[0].endPort: 70000: must be between 1 and 65535, inclusive',
      ]);
      assert.deepEqual(issuesOf(ingressPort({ port: 100, endPort: 100 })), []);
    });

    it('rejects unknown protocols, including lowercase and ICMP', () => {
      for (const protocol of ['ICMP', 'tcp', 'sctp', 7]) {
        assert.deepEqual(issuesOf(ingressPort({ protocol, port: 80 })), [
          `NotSupported spec.ingress[0].ports[0].protocol: ${typeof protocol === 'string' ? protocol : protocol}: must be one of TCP, UDP, SCTP`,
        ]);
      }
    });

    it('rejects invalid port names', () => {
      for (const name of ['HTTP', '80', 'a--b', '-http', 'a'.repeat(16), 'http_x']) {
        const issues = issuesOf(ingressPort({ port: name }));
        assert.equal(issues.length, 1, name);
        assert.match(issues[0]!, /^Invalid spec\.ingress\[0\]\.ports\[0\]\.port: /);
      }
    });

    it('rejects bad label selectors anywhere, naming the path', () => {
      const input = doc({
        podSelector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] },
        egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'b', operator: 'In' }] } }] }],
      });
      assert.deepEqual(issuesOf(input), [
        'NotSupported spec.podSelector.matchExpressions[0].operator: Equals: must be one of In, NotIn, Exists, DoesNotExist',
        'Required spec.egress[0].to[0].namespaceSelector.matchExpressions[0].values: must be specified when operator is In',
      ]);
    });

    it('rejects empty peers and ipBlock combined with a selector', () => {
      assert.deepEqual(issuesOf(doc({ podSelector: {}, ingress: [{ from: [{}] }] })), [
        'Required spec.ingress[0].from[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)',
      ]);
      assert.deepEqual(
        issuesOf(
          doc({
            podSelector: {},
            ingress: [{ from: [{ podSelector: {}, ipBlock: { cidr: '10.0.0.0/8' } }] }],
          }),
        ),
        ['Forbidden spec.ingress[0].from[0]: may not specify both ipBlock and another peer'],
      );
    });

    it('rejects unknown fields so a typo cannot widen a rule', () => {
      assert.deepEqual(issuesOf(doc({ podSelector: {}, ingress: [{ form: [{ podSelector: {} }] }] })), [
        'NotSupported spec.ingress[0].form: unknown field',
      ]);
    });

    it('rejects bad policyTypes, a missing podSelector and bad metadata', () => {
      assert.deepEqual(issuesOf(doc({ podSelector: {}, policyTypes: ['Ingress', 'Egress', 'Ingress'] })), [
        'Invalid spec.policyTypes: may not specify more than two policyTypes',
      ]);
      assert.deepEqual(issuesOf(doc({ podSelector: {}, policyTypes: ['ingress'] })), [
        'NotSupported spec.policyTypes[0]: ingress: must be one of Ingress, Egress',
      ]);
      assert.deepEqual(issuesOf(doc({})), [
        'Required spec.podSelector: must be specified (use {} to select all pods)',
      ]);
      assert.deepEqual(issuesOf(doc({ podSelector: {} }, { name: 'Bad_Name', namespace: 'x' })), [
        'Invalid metadata.name: Bad_Name: must be a lowercase DNS-1123 subdomain',
      ]);
      assert.deepEqual(issuesOf(doc({ podSelector: {} }, { name: 'p', namespace: 'a.b' })), [
        'Invalid metadata.namespace: a.b: must be a lowercase DNS-1123 label',
      ]);
      assert.deepEqual(issuesOf('policy'), ['TypeInvalid : a NetworkPolicy must be an object']);
    });

    it('reports every problem of one policy in one error', () => {
      const input = doc({
        podSelector: {},
        ingress: [{ ports: [{ port: 0 }, { protocol: 'ICMP' }] }],
        egress: [{ to: [{ ipBlock: { cidr: 'nope' } }] }],
      });
      assert.equal(issuesOf(input).length, 3);
    });
  });
});
