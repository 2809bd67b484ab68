// Root only: the PolicyApplier against the real iptables (nft backend), ip6tables and ipset,
// each test in its own fresh network namespace (deleted afterwards, even on failure). Command
// invocations are counted through the injectable runner.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { PolicyApplier } from '../../policy/apply/applier.js';
import { PolicyApplyError } from '../../policy/apply/errors.js';
import { isPlanEmpty, planChanges, planRepair, SHADOW_RETURN } from '../../policy/apply/plan.js';
import { type CommandRunner, execaRunner } from '../../policy/apply/runner.js';
import { sameMembers, stateOfKernel, stateOfRendered } from '../../policy/apply/state.js';
import { clusterStateFromDocuments, compileFromDocuments } from '../../policy/documents.js';
import { IncrementalPolicyCompiler } from '../../policy/incremental.js';
import { compareText } from '../../policy/ir.js';
import type { RenderedPolicy } from '../../policy/render.js';

const isRoot = process.getuid?.() === 0;
let nsCounter = 0;

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}
const inNs = (ns: string, cmd: string, args: string[], input?: string) =>
  run('ip', ['netns', 'exec', ns, cmd, ...args], input);

interface Call {
  tool: string;
  input: string | undefined;
}

/**
 * An applier in `ns` whose every kernel tool invocation is recorded; `refuse` may turn a call
 * into a failure without running it.
 */
function countingApplier(
  ns: string,
  refuse: (call: Call) => boolean = () => false,
): { applier: PolicyApplier; calls: Call[] } {
  const calls: Call[] = [];
  const runner: CommandRunner = (command, args, input) => {
    // args: netns exec NS <tool> ...; ipset is named with its subcommand.
    const [tool = command, sub] = args.slice(3);
    const call = { tool: tool === 'ipset' ? `ipset ${sub}` : tool, input };
    calls.push(call);
    if (refuse(call)) return Promise.resolve({ exitCode: 1, stdout: '', stderr: 'refused by the test' });
    return execaRunner(command, args, input);
  };
  return { applier: new PolicyApplier({ netns: ns, runner }), calls };
}

/** The chains an `iptables-restore --noflush` input changes, and the sets an ipset input names. */
const namedChains = (input: string) =>
  [...new Set([...input.matchAll(/^(?::|-[AIX] )(trl-\S+)/gm)].map((m) => m[1]!))].sort();
const namedSets = (input: string) => [...new Set(input.match(/\btrl[46][a-z]-[0-9a-f]{20}\b/g))].sort();

/** Chains and sets whose content differs between two renders, judged by name and content alone. */
function changedByContent(before: RenderedPolicy, after: RenderedPolicy) {
  const differ = <T extends { name: string }>(
    a: readonly T[],
    b: readonly T[],
    same: (x: T, y: T) => boolean,
  ) => {
    const old = new Map(a.map((x) => [x.name, x]));
    const now = new Map(b.map((x) => [x.name, x]));
    const changed = b.filter((x) => !old.has(x.name) || !same(old.get(x.name)!, x)).map((x) => x.name);
    const gone = a.filter((x) => !now.has(x.name)).map((x) => x.name);
    return [...changed, ...gone].sort();
  };
  const sameRules = (x: { rules: readonly string[] }, y: { rules: readonly string[] }) =>
    x.rules.join('\n') === y.rules.join('\n');
  return {
    v4: differ(before.v4.chains, after.v4.chains, sameRules),
    v6: differ(before.v6.chains, after.v6.chains, sameRules),
    sets: differ(before.sets, after.sets, (x, y) => x.entries.join('\n') === y.entries.join('\n')),
  };
}

/** Everything a ruleset comparison should see: both filter tables without counters, and all sets. */
function kernelSnapshot(ns: string): string {
  const table = (cmd: string) =>
    inNs(ns, cmd, ['-t', 'filter'])
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
      .join('\n');
  const sets = inNs(ns, 'ipset', ['save']).split('\n').sort().join('\n');
  return `${table('iptables-save')}\n${table('ip6tables-save')}\n${sets}`;
}

function kernelSave(ns: string) {
  return {
    filter4: inNs(ns, 'iptables-save', ['-t', 'filter']),
    filter6: inNs(ns, 'ip6tables-save', ['-t', 'filter']),
    ipset: inNs(ns, 'ipset', ['save']),
  };
}

const ownedLines = (ns: string, cmd: string) =>
  inNs(ns, cmd, ['-t', 'filter'])
    .split('\n')
    .filter((l) => /trl/.test(l));

// --- documents -------------------------------------------------------------------------------

interface PodSpec {
  name: string;
  ips: string[];
  iface?: string;
  labels: Record<string, string>;
}

const podDoc = (p: PodSpec) => ({
  kind: 'Pod',
  metadata: {
    namespace: 'x',
    name: p.name,
    labels: p.labels,
    annotations: p.iface ? { 'trellis.network/host-interface': p.iface } : {},
  },
  spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
  status: { podIPs: p.ips.map((ip) => ({ ip })) },
});

const PODS: PodSpec[] = [
  { name: 'a', ips: ['10.99.0.1', 'fd99::1'], iface: 'trlpa', labels: { app: 'a' } },
  { name: 'b', ips: ['10.99.0.2', 'fd99::2'], iface: 'trlpb', labels: { app: 'b' } },
  { name: 'c', ips: ['10.99.0.3'], iface: 'trlpc', labels: { app: 'c' } },
  { name: 'r', ips: ['10.99.1.7', 'fd99::1:7'], labels: { app: 'remote' } },
];

const policyDoc = (name: string, spec: Record<string, unknown>) => ({
  kind: 'NetworkPolicy',
  metadata: { namespace: 'x', name },
  spec,
});

const POLICIES = [
  policyDoc('a-from-b-http', {
    podSelector: { matchLabels: { app: 'a' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }], ports: [{ port: 'http' }] }],
  }),
  policyDoc('b-egress', {
    podSelector: { matchLabels: { app: 'b' } },
    policyTypes: ['Egress'],
    egress: [
      { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.99.1.0/24'] } }] },
      { to: [{ ipBlock: { cidr: 'fd00::/8' } }], ports: [{ protocol: 'UDP', port: 53, endPort: 60 }] },
    ],
  }),
  policyDoc('c-from-frontends', {
    podSelector: { matchLabels: { app: 'c' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'fe' } } }] }],
  }),
];

const documents = (pods: PodSpec[], policies: unknown[]) => [
  { kind: 'Namespace', metadata: { name: 'x' } },
  ...pods.map(podDoc),
  ...policies,
];

function render(pods = PODS, policies: unknown[] = POLICIES): RenderedPolicy {
  return compileFromDocuments(documents(pods, policies)).rendered;
}

/** Renders as the agent makes them: one compiler with memory, so unchanged objects are reused. */
function incrementalRenderer(): (pods?: PodSpec[], policies?: unknown[]) => RenderedPolicy {
  const compiler = new IncrementalPolicyCompiler();
  return (pods = PODS, policies = POLICIES) =>
    compiler.update(clusterStateFromDocuments(documents(pods, policies)));
}

/** POLICIES with c-from-frontends opened to one more port, and pod r made a frontend. */
const EDITED_POLICIES = POLICIES.map((p) =>
  p.metadata.name === 'c-from-frontends'
    ? policyDoc('c-from-frontends', {
        podSelector: { matchLabels: { app: 'c' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'fe' } } }], ports: [{ port: 9090 }] }],
      })
    : p,
);
const RELABELLED_PODS = PODS.map((p) =>
  p.name === 'r' ? { ...p, labels: { app: 'remote', tier: 'fe' } } : p,
);

const writes = (calls: Call[]) => calls.filter((c) => c.input !== undefined);

// --- tests -----------------------------------------------------------------------------------

describe('policy/apply PolicyApplier in a real kernel (root)', function () {
  this.timeout(60000);
  let ns: string;

  before(function () {
    if (!isRoot) {
      console.log('    (skipped: needs root to create network namespaces)');
      this.skip();
    }
  });

  beforeEach(() => {
    ns = `trlpa-${process.pid}-${nsCounter++}`;
    run('ip', ['netns', 'add', ns]);
  });

  afterEach(() => {
    try {
      run('ip', ['netns', 'del', ns]);
    } catch {
      // never created
    }
  });

  it('first apply loads exactly the rendered ruleset; an identical apply spawns nothing', async () => {
    const rendered = render();
    const { applier, calls } = countingApplier(ns);
    const first = await applier.apply(rendered);
    assert.deepEqual(
      calls.map((c) => c.tool),
      [
        'iptables-save',
        'ip6tables-save',
        'ipset save',
        'ipset restore',
        'iptables-restore',
        'ip6tables-restore',
      ],
    );
    assert.equal(first.hooksInserted, 2);
    assert.equal(first.setsCreated.length, rendered.sets.length);

    for (const [cmd, fam] of [
      ['iptables-save', rendered.v4],
      ['ip6tables-save', rendered.v6],
    ] as const) {
      const expected = [
        ...fam.hooks.map((h) => `-A ${h.chain} ${h.rule}`),
        ...fam.chains.flatMap((c) => c.rules.map((r) => `-A ${c.name} ${r}`)),
      ];
      assert.deepEqual(
        ownedLines(ns, cmd)
          .filter((l) => l.startsWith('-A'))
          .sort(),
        expected.sort(),
      );
    }
    assert.deepEqual(
      inNs(ns, 'ipset', ['list', '-n']).trim().split('\n').sort(),
      rendered.sets.map((s) => s.name),
    );
    // What the kernel prints back parses to exactly what was rendered: nothing to repair.
    assert.equal(isPlanEmpty(planRepair(rendered, kernelSave(ns))), true);

    calls.length = 0;
    const again = await applier.apply(render());
    assert.equal(again.commands, 0);
    assert.deepEqual(calls, []);

    // A fresh applier (a restarted agent) only reads: the kernel already matches.
    const fresh = countingApplier(ns);
    assert.equal((await fresh.applier.apply(rendered)).commands, 3);
    assert.deepEqual(writes(fresh.calls), []);
  });

  it('a pod label change rewrites set members only, no chain', async () => {
    const { applier, calls } = countingApplier(ns);
    await applier.apply(render());
    calls.length = 0;
    const relabelled = PODS.map((p) =>
      p.name === 'r' ? { ...p, labels: { app: 'remote', tier: 'fe' } } : p,
    );
    const rendered = render(relabelled);
    const report = await applier.apply(rendered);
    assert.deepEqual(report.chainsWritten, []);
    assert.deepEqual(report.setsCreated, []);
    assert.equal(report.setsRefilled.length, 1);
    // Staging and swapping in one process; no iptables process for a family with nothing to do.
    assert.deepEqual(
      calls.map((c) => c.tool),
      ['ipset restore'],
    );
    const set = report.setsRefilled[0]!;
    assert.match(inNs(ns, 'ipset', ['list', set]), /^10\.99\.1\.7$/m);
    assert.equal(isPlanEmpty(planRepair(rendered, kernelSave(ns))), true);
  });

  it("a policy edit rewrites only that policy's chain and the endpoint chains that jump to it", async () => {
    const { applier } = countingApplier(ns);
    const before = render();
    await applier.apply(before);
    const edited = POLICIES.map((p) =>
      p.metadata.name === 'c-from-frontends'
        ? policyDoc('c-from-frontends', {
            podSelector: { matchLabels: { app: 'c' } },
            ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'fe' } } }], ports: [{ port: 9090 }] }],
          })
        : p,
    );
    const after = render(PODS, edited);
    const report = await applier.apply(after);
    await applier.settled();
    const oldChain = before.v4.chains.find(
      (c) => c.name.startsWith('trl-pi-') && !after.v4.chains.includes(c),
    );
    const newChains = after.v4.chains.filter((c) => !before.v4.chains.some((b) => b.name === c.name));
    assert.equal(newChains.length, 1);
    assert.deepEqual(report.chainsWritten.sort(), [newChains[0]!.name, 'trl-tw-trlpc'].sort());
    assert.deepEqual(report.chainsDeleted, [oldChain!.name]);
    assert.deepEqual(report.setsCreated, []);
    assert.equal(isPlanEmpty(planRepair(after, kernelSave(ns))), true);
  });

  it('foreign chains, rules and sets survive apply and flush; only one hook per family', async () => {
    inNs(
      ns,
      'iptables-restore',
      ['--noflush'],
      '*filter\n:KUBE-FORWARD - [0:0]\n-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n',
    );
    inNs(ns, 'ipset', ['create', 'KUBE-foreign', 'hash:ip']);
    const foreign = () => ({
      v4: inNs(ns, 'iptables-save', ['-t', 'filter'])
        .split('\n')
        .filter((l) => /KUBE/.test(l)),
      sets: inNs(ns, 'ipset', ['list', '-n'])
        .split('\n')
        .filter((l) => l.startsWith('KUBE')),
    });
    const initial = foreign();
    await countingApplier(ns).applier.apply(render());
    await countingApplier(ns).applier.apply(render()); // a restarted agent
    assert.deepEqual(foreign(), initial);
    const forward = ownedLines(ns, 'iptables-save').filter((l) => l.startsWith('-A FORWARD'));
    assert.equal(forward.length, 1);
    // Our hook went on top, kube-proxy's stays below it.
    const forwardRules = inNs(ns, 'iptables-save', ['-t', 'filter'])
      .split('\n')
      .filter((l) => l.startsWith('-A FORWARD'));
    assert.match(forwardRules[0]!, /-j trl-FORWARD$/);
    assert.equal(forwardRules[1], '-A FORWARD -j KUBE-FORWARD');

    const { applier, calls } = countingApplier(ns);
    await applier.flush();
    assert.deepEqual(foreign(), initial);
    assert.deepEqual(ownedLines(ns, 'iptables-save'), []);
    assert.deepEqual(ownedLines(ns, 'ip6tables-save'), []);
    assert.deepEqual(
      inNs(ns, 'ipset', ['list', '-n'])
        .split('\n')
        .filter((l) => l.startsWith('trl')),
      [],
    );
    // Idempotent: a second flush finds nothing and writes nothing.
    calls.length = 0;
    const second = await applier.flush();
    assert.equal(second.commands, 3);
    assert.deepEqual(writes(calls), []);
  });

  it('a render with a bogus set type fails and leaves the previous ruleset byte-identical', async () => {
    const { applier, calls } = countingApplier(ns);
    const good = render();
    await applier.apply(good);
    const snapshot = kernelSnapshot(ns);
    const edited = render(
      PODS.map((p) => (p.name === 'r' ? { ...p, labels: { app: 'remote', tier: 'fe' } } : p)),
      POLICIES.slice(1),
    );
    const broken: RenderedPolicy = {
      ...edited,
      sets: [
        { ...edited.sets[0]!, name: 'trl4n-00000000000000000000', type: 'hash:bogus' as 'hash:net' },
        ...edited.sets,
      ].sort((a, b) => compareText(a.name, b.name)),
    };
    await assert.rejects(applier.apply(broken), (e: unknown) => {
      assert.ok(e instanceof PolicyApplyError);
      assert.equal(e.step, 'ipset-stage');
      assert.equal(e.previousInForce, true);
      assert.match(e.message, /hash:bogus/);
      return true;
    });
    assert.equal(kernelSnapshot(ns), snapshot);
    // After a failure the applier re-reads the kernel, finds the good ruleset and writes nothing.
    calls.length = 0;
    assert.equal((await applier.apply(good)).commands, 3);
    assert.deepEqual(writes(calls), []);
  });

  it('an IPv6 rule the kernel rejects rolls the IPv4 change back: previous ruleset byte-identical', async () => {
    const { applier } = countingApplier(ns);
    await applier.apply(render());
    const snapshot = kernelSnapshot(ns);
    const edited = render(
      PODS.map((p) => (p.name === 'r' ? { ...p, labels: { app: 'remote', tier: 'fe' } } : p)),
      POLICIES.slice(1),
    );
    const [first, ...rest] = edited.v6.chains;
    const broken: RenderedPolicy = {
      ...edited,
      v6: {
        ...edited.v6,
        chains: [{ ...first!, rules: [...first!.rules, '-m no-such-match -j ACCEPT'] }, ...rest],
      },
    };
    await assert.rejects(applier.apply(broken), (e: unknown) => {
      assert.ok(e instanceof PolicyApplyError);
      assert.equal(e.step, 'ip6tables');
      assert.equal(e.previousInForce, true);
      assert.match(e.message, /no-such-match/);
      return true;
    });
    assert.equal(kernelSnapshot(ns), snapshot);
    // And the edit itself, unbroken, goes through afterwards.
    await applier.apply(edited);
    await applier.settled();
    assert.equal(isPlanEmpty(planRepair(edited, kernelSave(ns))), true);
  });

  it('resync repairs a deleted rule, a deleted set member, an injected rule and a deleted hook', async () => {
    const { applier, calls } = countingApplier(ns);
    const rendered = render();
    await applier.apply(rendered);
    const memberSet = rendered.sets.find((s) => s.entries.includes('10.99.0.2'))!;
    inNs(ns, 'iptables', ['-D', 'trl-tw-trlpa', '2']);
    inNs(ns, 'ipset', ['del', memberSet.name, '10.99.0.2']);
    inNs(ns, 'iptables', ['-I', 'trl-to-wl', '1', '-j', 'ACCEPT']);
    inNs(ns, 'ip6tables', ['-D', 'FORWARD', '1']);
    assert.equal(isPlanEmpty(planRepair(rendered, kernelSave(ns))), false);

    const report = await applier.resync();
    assert.deepEqual(report.chainsWritten.sort(), ['trl-to-wl', 'trl-tw-trlpa']);
    assert.deepEqual(report.setsRefilled, [memberSet.name]);
    assert.equal(report.hooksInserted, 1);
    assert.equal(isPlanEmpty(planRepair(rendered, kernelSave(ns))), true);

    calls.length = 0;
    assert.equal((await applier.resync()).commands, 3);
    assert.deepEqual(writes(calls), []);
  });

  it('fails closed at startup: hook and dispatch first, and a previous ruleset is kept', async () => {
    const { applier } = countingApplier(ns);
    const report = await applier.ensureFailClosed();
    assert.equal(report.hooksInserted, 2);
    const v4 = ownedLines(ns, 'iptables-save').filter((l) => l.startsWith('-A'));
    assert.ok(v4.some((l) => /^-A FORWARD .*-j trl-FORWARD$/.test(l)));
    assert.ok(v4.some((l) => /^-A trl-from-wl .*-j DROP$/.test(l)));
    assert.ok(v4.some((l) => /^-A trl-to-wl .*-j DROP$/.test(l)));

    const rendered = render();
    await applier.apply(rendered);
    await applier.settled();
    const snapshot = kernelSnapshot(ns);
    // A restarted agent: the full ruleset stays until its first apply.
    const restarted = countingApplier(ns);
    assert.equal((await restarted.applier.ensureFailClosed()).commands, 3);
    assert.equal(kernelSnapshot(ns), snapshot);
  });

  it('an incremental apply writes exactly the chains and sets that changed since the last render', async () => {
    const next = incrementalRenderer();
    const { applier, calls } = countingApplier(ns);
    const before = next();
    await applier.apply(before);
    calls.length = 0;
    const after = next(RELABELLED_PODS, EDITED_POLICIES);
    const plan = planChanges(stateOfRendered(after), stateOfRendered(before));
    const report = await applier.apply(after);
    const expected = changedByContent(before, after);
    assert.ok(expected.v4.length > 0 && expected.sets.length > 0 && report.chainsDeleted.length > 0);
    // The edited policy's old chain matches the set the relabel refills: that set is swapped
    // after the rule transaction.
    assert.deepEqual(plan.refillSets, []);
    assert.deepEqual(
      plan.v4.retiredSetRefs,
      plan.refillAfterRules.map((s) => s.name),
    );
    // The waves until the apply resolves (the follow-up's first process has started since):
    // sets, one rule transaction that only adds, the late swap.
    assert.deepEqual(
      calls.slice(0, 3).map((c) => c.tool),
      ['ipset restore', 'iptables-restore', 'ipset restore'],
    );
    assert.doesNotMatch(calls[1]!.input!, /^(-D|-X|-F|:(?!trl-p[io]-))/m);
    assert.match(calls[2]!.input!, /^swap /);
    // In force already: each chain means its new rules (the old ones sit below a RETURN).
    const atResolve = stateOfKernel(kernelSave(ns));
    for (const c of after.v4.chains) {
      const rules = atResolve.v4.chains.find((k) => k.name === c.name)!.rules;
      const end = rules.indexOf(SHADOW_RETURN);
      assert.deepEqual(end < 0 ? rules : rules.slice(0, end), c.rules, c.name);
    }
    for (const s of after.sets) {
      const members = atResolve.sets.find((k) => k.name === s.name)!;
      assert.ok(sameMembers(members, s), s.name);
    }
    // The follow-up removes the shadowed rules, the stale chain and the scratch sets.
    await applier.settled();
    assert.deepEqual(
      calls.map((c) => c.tool),
      ['ipset restore', 'iptables-restore', 'ipset restore', 'iptables-restore', 'ipset restore'],
    );
    const input = (tool: string) =>
      calls
        .filter((c) => c.tool === tool)
        .map((c) => c.input!)
        .join('');
    assert.deepEqual(namedChains(input('iptables-restore')), expected.v4);
    assert.deepEqual(expected.v6, []);
    assert.deepEqual(
      namedSets(input('ipset restore')).filter((n) => !/^trl[46]t-/.test(n)),
      expected.sets,
    );
    assert.deepEqual([...report.chainsWritten, ...report.chainsDeleted].sort(), expected.v4);
    assert.equal(isPlanEmpty(planRepair(after, kernelSave(ns))), true);
  });

  it('a follow-up that fails leaves the new ruleset in force; the next apply reads the kernel and finishes it', async () => {
    const next = incrementalRenderer();
    let refuseDestroys = false;
    const { applier, calls } = countingApplier(
      ns,
      (c) => refuseDestroys && c.tool === 'ipset restore' && c.input!.startsWith('destroy'),
    );
    await applier.apply(next());
    const after = next(RELABELLED_PODS, EDITED_POLICIES);
    refuseDestroys = true;
    await applier.apply(after);
    await applier.settled();
    // Rules and members are the new ones; only scratch and stale sets are left behind.
    const plan = planRepair(after, kernelSave(ns));
    assert.ok(plan.destroyScratch.length > 0);
    assert.equal(isPlanEmpty({ ...plan, destroyScratch: [], destroySets: [] }), true);
    refuseDestroys = false;
    calls.length = 0;
    const report = await applier.apply(after);
    await applier.settled();
    assert.deepEqual(
      calls.map((c) => c.tool),
      ['iptables-save', 'ip6tables-save', 'ipset save', 'ipset restore'],
    );
    assert.deepEqual(report.setsDestroyed, [...plan.destroyScratch, ...plan.destroySets]);
    assert.equal(isPlanEmpty(planRepair(after, kernelSave(ns))), true);
  });

  it('flush rejects when a set of ours cannot be destroyed (a foreign rule uses it)', async () => {
    const { applier } = countingApplier(ns);
    const rendered = render();
    await applier.apply(rendered);
    const used = rendered.sets.find((s) => s.family === 4)!.name;
    inNs(ns, 'iptables', ['-A', 'INPUT', '-m', 'set', '--match-set', used, 'src', '-j', 'ACCEPT']);
    await assert.rejects(applier.flush(), (e: unknown) => {
      assert.ok(e instanceof PolicyApplyError);
      assert.equal(e.step, 'follow-up');
      assert.match(e.message, new RegExp(used));
      return true;
    });
    // Everything else of ours is gone; once the foreign rule goes, a flush finishes the job.
    assert.deepEqual(
      ownedLines(ns, 'iptables-save').filter((l) => !l.includes(used)),
      [],
    );
    inNs(ns, 'iptables', ['-D', 'INPUT', '1']);
    await applier.flush();
    assert.deepEqual(
      inNs(ns, 'ipset', ['list', '-n'])
        .split('\n')
        .filter((l) => l.startsWith('trl')),
      [],
    );
  });

  it('a set-only change that fails while staging leaves everything as it was', async () => {
    const { applier } = countingApplier(ns);
    const next = incrementalRenderer();
    await applier.apply(next());
    const snapshot = kernelSnapshot(ns);
    const relabelled = next(RELABELLED_PODS);
    const broken: RenderedPolicy = {
      ...relabelled,
      sets: relabelled.sets.map((s) =>
        s.entries.includes('10.99.1.7') ? { ...s, entries: ['not-an-address'] } : s,
      ),
    };
    await assert.rejects(applier.apply(broken), (e: unknown) => {
      assert.ok(e instanceof PolicyApplyError);
      assert.equal(e.step, 'ipset-stage');
      assert.equal(e.previousInForce, true);
      assert.match(e.message, /not-an-address/);
      return true;
    });
    assert.equal(kernelSnapshot(ns), snapshot);
    await applier.apply(relabelled);
    assert.equal(isPlanEmpty(planRepair(relabelled, kernelSave(ns))), true);
  });

  it('resync repairs a clobbered chain that the incremental path believes unchanged', async () => {
    const next = incrementalRenderer();
    const { applier } = countingApplier(ns);
    await applier.apply(next());
    inNs(ns, 'iptables', ['-D', 'trl-fw-trlpa', '1']);
    // An unrelated edit: the applier trusts its memory of trl-fw-trlpa and leaves it alone.
    const after = next(RELABELLED_PODS, EDITED_POLICIES);
    const report = await applier.apply(after);
    await applier.settled();
    assert.ok(!report.chainsWritten.includes('trl-fw-trlpa'));
    assert.deepEqual(
      planRepair(after, kernelSave(ns)).v4.rewriteChains.map((c) => c.name),
      ['trl-fw-trlpa'],
    );
    const repaired = await applier.resync();
    assert.deepEqual(repaired.chainsWritten, ['trl-fw-trlpa']);
    assert.equal(isPlanEmpty(planRepair(after, kernelSave(ns))), true);
  });
});
