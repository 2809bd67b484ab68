import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicies } from '../../policy/compile.js';
import { evaluatePacket } from '../../policy/evaluate.js';
import { PolicyValidationError } from '../../policy/issues.js';
import type { ClusterState, Protocol } from '../../policy/model.js';
import { MAX_CHAIN_NAME, MAX_SET_NAME, type RenderedPolicy, renderPolicy } from '../../policy/render.js';
import { clusterArb, EXTERNAL_IPS, PORTS } from './arbitraries.js';
import { ns, pod, policy } from './fixtures.js';
import { FilterSimulator } from './iptables-sim.js';

const sample: ClusterState = {
  namespaces: [ns('x', { team: 'a' }), ns('y')],
  pods: [
    pod('x/a', { pod: 'a' }, ['10.0.0.1', 'fd00::1'], {
      iface: 'trlxa',
      ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
    }),
    pod('x/b', { pod: 'b' }, ['10.0.0.2'], { iface: 'trlxb' }),
    pod('y/c', { pod: 'c' }, ['10.0.1.3', 'fd00::3'], {
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    }),
  ],
  policies: [
    policy('x/ingress', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        {
          from: [
            { namespaceSelector: {}, podSelector: { matchLabels: { pod: 'c' } } },
            { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } },
          ],
          ports: [{ port: 'http' }, { protocol: 'SCTP', port: 9000, endPort: 9100 }],
        },
      ],
    }),
    policy('x/egress', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: 'fd00::/64' } }] }, { ports: [{ port: 'http' }] }],
    }),
  ],
};

function render(state: ClusterState, options = {}): RenderedPolicy {
  return renderPolicy(compilePolicies(state), options);
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('policy/render', () => {
  const out = render(sample);

  it('hooks only FORWARD, with one jump to trl-FORWARD', () => {
    for (const fam of [out.v4, out.v6]) {
      assert.equal(fam.hooks.length, 1);
      assert.equal(fam.hooks[0]?.chain, 'FORWARD');
      assert.match(fam.hooks[0]!.rule, /^-m comment --comment "trl:[0-9a-f]{16}" -j trl-FORWARD$/);
      assert.doesNotMatch(fam.filterRestore, /^-A (FORWARD|INPUT|OUTPUT) /m);
      assert.doesNotMatch(fam.filterRestore, /^:(FORWARD|INPUT|OUTPUT) /m);
    }
  });

  it('declares exactly the chains it lists as owned, all trl- and within the name limit', () => {
    for (const fam of [out.v4, out.v6]) {
      const declared = [...fam.filterRestore.matchAll(/^:(\S+) - \[0:0\]$/gm)].map((m) => m[1]);
      assert.deepEqual(
        declared,
        fam.chains.map((c) => c.name),
      );
      assert.deepEqual([...declared].sort(), declared);
      for (const name of declared) {
        assert.match(name!, /^trl-/);
        assert.ok(name!.length <= MAX_CHAIN_NAME, name);
      }
      const appended = new Set([...fam.filterRestore.matchAll(/^-A (\S+) /gm)].map((m) => m[1]));
      for (const name of appended) assert.ok(declared.includes(name), `${name} not declared`);
    }
  });

  it('names sets trl* within the ipset limit and references only listed sets', () => {
    const names = out.sets.map((s) => s.name);
    assert.deepEqual([...names].sort(), names);
    for (const s of out.sets) {
      assert.match(s.name, /^trl[46][pne]-[0-9a-f]{20}$/);
      assert.match(s.tempName, /^trl[46]t-[0-9a-f]{20}$/);
      assert.ok(s.name.length <= MAX_SET_NAME && s.tempName.length <= MAX_SET_NAME);
    }
    const referenced = new Set(
      [out.v4, out.v6].flatMap((f) => [...f.filterRestore.matchAll(/--match-set (\S+) /g)].map((m) => m[1])),
    );
    assert.deepEqual([...referenced].sort(), names);
  });

  it('gives every rule of a table a unique trl:<hash> comment', () => {
    for (const fam of [out.v4, out.v6]) {
      const rules = fam.filterRestore.split('\n').filter((l) => l.startsWith('-A '));
      const hashes = rules.map((r) => {
        const m = /-m comment --comment "trl:([0-9a-f]{16})"/.exec(r);
        assert.ok(m, r);
        return m[1];
      });
      assert.ok(rules.length > 10);
      assert.equal(new Set(hashes).size, hashes.length);
    }
  });

  it('dispatches by interface with goto and drops unknown workload interfaces (fail closed)', () => {
    const chain = (name: string) => out.v4.chains.find((c) => c.name === name)!.rules.map(stripComment);
    assert.deepEqual(chain('trl-FORWARD'), [
      '-j MARK --set-xmark 0x0/0x10000',
      '-i trl+ -j trl-from-wl',
      '-o trl+ -j trl-to-wl',
      '-m mark --mark 0x10000/0x10000 -j ACCEPT',
    ]);
    assert.deepEqual(chain('trl-from-wl'), [
      '-i trlxa -g trl-fw-trlxa',
      '-i trlxb -g trl-fw-trlxb',
      '-j DROP',
    ]);
    assert.deepEqual(chain('trl-to-wl'), ['-o trlxa -g trl-tw-trlxa', '-o trlxb -g trl-tw-trlxb', '-j DROP']);
  });

  it('endpoint chains: conntrack first, hairpin, policy chains, DROP when isolated; allow otherwise', () => {
    const chain = (name: string) => out.v4.chains.find((c) => c.name === name)!.rules.map(stripComment);
    const tw = chain('trl-tw-trlxa');
    assert.deepEqual(tw.slice(0, 5), [
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-m conntrack --ctstate INVALID -j DROP',
      '-j MARK --set-xmark 0x0/0x10000',
      '-s 10.0.0.1/32 -d 10.0.0.1/32 -i trlxa -j MARK --set-xmark 0x10000/0x10000',
      '-m mark --mark 0x10000/0x10000 -j RETURN',
    ]);
    assert.match(tw[5]!, /^-j trl-pi-[0-9a-f]{16}$/);
    assert.deepEqual(tw.slice(6), ['-m mark --mark 0x10000/0x10000 -j RETURN', '-j DROP']);
    assert.deepEqual(chain('trl-tw-trlxb').slice(2), [
      '-j MARK --set-xmark 0x0/0x10000',
      '-j MARK --set-xmark 0x10000/0x10000',
    ]);
    assert.equal(chain('trl-fw-trlxb').at(-1), '-j DROP');
    const v6 = out.v6.chains.find((c) => c.name === 'trl-fw-trlxa')!.rules.map(stripComment);
    assert.ok(v6.includes('-s fd00::1/128 -d fd00::1/128 -o trlxa -j MARK --set-xmark 0x10000/0x10000'));
  });

  it('renders ports, protocols, sets and nomatch entries', () => {
    const text = out.v4.filterRestore;
    assert.match(
      text,
      / -p sctp -m comment --comment "trl:[0-9a-f]+" -m sctp --dport 9000:9100 -m set --match-set trl4n-\S+ src -j MARK/,
    );
    assert.match(text, / -m set --match-set trl4p-\S+ src -m set --match-set trl4e-\S+ dst,dst -j MARK/);
    const net = out.sets.find((s) => s.type === 'hash:net' && s.family === 4)!;
    assert.deepEqual(net.entries, ['0.0.0.0/1', '10.0.0.0/8 nomatch', '128.0.0.0/1']);
    const egressNamed = out.sets.find((s) => s.key === '4|namedport|all|TCP/http')!;
    assert.deepEqual(egressNamed.entries, ['10.0.0.1,tcp:80', '10.0.1.3,tcp:8080']);
    assert.match(
      out.ipsetRestore,
      /^create trl6n-\S+ hash:net family inet6 hashsize 1024 maxelem 1048576 -exist$/m,
    );
  });

  it('fills sets through a scratch set and a swap', () => {
    const s = out.sets[0]!;
    const lines = out.ipsetRestore.split('\n');
    const start = lines.indexOf(
      `create ${s.name} ${s.type} family inet${s.family === 6 ? '6' : ''} hashsize 1024 maxelem 1048576 -exist`,
    );
    assert.ok(start >= 0);
    assert.deepEqual(lines.slice(start + 1, start + 3 + s.entries.length + 2), [
      `create ${s.tempName} ${s.type} family inet${s.family === 6 ? '6' : ''} hashsize 1024 maxelem 1048576 -exist`,
      `flush ${s.tempName}`,
      ...s.entries.map((e) => `add ${s.tempName} ${e}`),
      `swap ${s.tempName} ${s.name}`,
      `destroy ${s.tempName}`,
    ]);
  });

  it('honours workloadIfacePrefix and acceptMark, and rejects unsafe ones', () => {
    const custom = render(
      {
        ...sample,
        pods: sample.pods.map((p) =>
          p.hostInterface ? { ...p, hostInterface: `cni${p.hostInterface}` } : p,
        ),
      },
      { workloadIfacePrefix: 'cni', acceptMark: 0x400000 },
    );
    assert.match(custom.v4.filterRestore, / -i cni\+ /);
    assert.match(custom.v4.filterRestore, /--set-xmark 0x400000\/0x400000/);
    assert.doesNotMatch(custom.v4.filterRestore, /0x10000/);
    const rejects = (options: object, message: RegExp) =>
      assert.throws(
        () => render(sample, options),
        (e: unknown) => e instanceof PolicyValidationError && message.test(e.message),
      );
    rejects(
      { workloadIfacePrefix: 'cali' },
      /endpoints\(x\/a\)\.iface: trlxa does not start with workloadIfacePrefix cali/,
    );
    rejects({ acceptMark: 0x4000 }, /acceptMark: 0x4000/);
    rejects({ acceptMark: 0x30000 }, /acceptMark: 0x30000/);
    rejects({ workloadIfacePrefix: 'tr l' }, /workloadIfacePrefix/);
  });

  it('is deterministic: same input, same bytes; input order does not matter', () => {
    assert.deepEqual(render(sample), out);
    for (let seed = 1; seed <= 5; seed++) {
      const reordered: ClusterState = {
        namespaces: shuffled(sample.namespaces, seed),
        pods: shuffled(sample.pods, seed),
        policies: shuffled(sample.policies, seed),
      };
      assert.deepEqual(render(reordered), out);
    }
  });

  it('is deterministic for random clusters in any order (property)', () => {
    fc.assert(
      fc.property(clusterArb, fc.integer({ min: 1, max: 1000 }), (state, seed) => {
        const a = render(state);
        const b = render({
          namespaces: shuffled(state.namespaces, seed),
          pods: shuffled(state.pods, seed),
          policies: shuffled(state.policies, seed),
        });
        assert.equal(b.ipsetRestore, a.ipsetRestore);
        assert.equal(b.v4.filterRestore, a.v4.filterRestore);
        assert.equal(b.v6.filterRestore, a.v6.filterRestore);
      }),
      { numRuns: 150 },
    );
  });

  it('the rendered rules decide like the IR (property, simulated iptables)', () => {
    fc.assert(
      fc.property(
        clusterArb.chain((state) => {
          const addresses = [...state.pods.flatMap((p) => p.podIPs), ...EXTERNAL_IPS];
          const conn = fc.record({
            src: fc.constantFrom(...addresses),
            dst: fc.constantFrom(...addresses),
            protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'),
            port: fc.constantFrom(...PORTS),
            strayIface: fc.boolean(),
          });
          return fc.tuple(fc.constant(state), fc.array(conn, { minLength: 1, maxLength: 20 }));
        }),
        ([state, conns]) => {
          const ir = compilePolicies(state);
          const rendered = renderPolicy(ir);
          const sims = {
            4: new FilterSimulator(rendered.v4, rendered.sets),
            6: new FilterSimulator(rendered.v6, rendered.sets),
          };
          for (const c of conns) {
            if (c.src.includes(':') !== c.dst.includes(':')) continue;
            const iface = (ip: string) => state.pods.find((p) => p.podIPs.includes(ip))?.hostInterface;
            // An external source may arrive on an unprogrammed workload interface.
            const inIface = iface(c.src) ?? (c.strayIface ? 'trlstray' : undefined);
            const outIface = iface(c.dst);
            const verdict = evaluatePacket(ir, {
              ...c,
              ...(inIface !== undefined && { inIface }),
              ...(outIface !== undefined && { outIface }),
            });
            const sim = sims[c.src.includes(':') ? 6 : 4].forward({
              ...c,
              inIface: inIface ?? 'eth0',
              outIface: outIface ?? 'eth0',
            });
            const workload = inIface !== undefined || outIface !== undefined;
            const expected = verdict === 'allow' ? (workload ? 'ACCEPT' : 'RETURN') : 'DROP';
            assert.equal(sim, expected, `${JSON.stringify(c)} IR ${verdict}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

function stripComment(rule: string): string {
  return rule.replace(/ ?-m comment --comment "trl:[0-9a-f]+"/, '').trim();
}
