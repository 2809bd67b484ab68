// Policy benchmark: compile + render time and size of a synthetic 1,000-policy / 10,000-endpoint
// ruleset, the PolicyApplier's full apply times in a fresh network namespace, the incremental
// latency of a pod label change and of a policy edit as the agent runs them (one long-lived
// IncrementalPolicyCompiler + applier), each against its target from issue #5, split into
// compile+render, the applier's own work and the kernel tools it starts. Floors: bare
// `ipset restore` + `iptables-restore` + `ip6tables-restore` of the same full ruleset into an
// empty namespace, and one `iptables-restore` of a one-rule chain into the loaded table (the
// least any rule change costs: nft validates the whole table on every commit).
// Two views of the same cluster: the worst case, every endpoint on the measured node, and the
// node view, where the node runs kubelet's default maximum of pods and the rest are elsewhere
// (their addresses still fill the sets, but they get no endpoint chains here).
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { PolicyApplier } from '../../policy/apply/applier.js';
import { type CommandRunner, execaRunner } from '../../policy/apply/runner.js';
import { compilePolicies } from '../../policy/compile.js';
import { IncrementalPolicyCompiler } from '../../policy/incremental.js';
import type { ClusterState } from '../../policy/model.js';
import { type RenderedPolicy, renderPolicy } from '../../policy/render.js';
import { selectorMatches } from '../../policy/selector.js';
import { isRoot } from '../../src/lab/index.js';
import { syntheticCluster, withAppChange, withPolicyEdit, withTierChange } from '../policy/synthetic.js';
import { type BenchSection, type BenchTable, percentile } from './section.js';

const POLICIES = 1000;
const ENDPOINTS = 10000;
/** kubelet's default --max-pods: the most pods a node of a default-configured cluster runs. */
const NODE_MAX_PODS = 110;
const ROUNDS = 20;
const WARM_RUNS = 3;
/** Issue #5's targets. */
const COMPILE_TARGET_MS = 1000;
const INCREMENTAL_TARGET_MS = 50;

export const policySection: BenchSection = { name: 'policy', run: runPolicyBench };

const ms = (n: number) => n.toFixed(n < 10 ? 2 : 0);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

async function timed<T>(work: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: performance.now() - start };
}

/** A fresh, empty namespace per measurement, so no run sees another's kernel state. */
class ScratchNamespace {
  #n = 0;
  name = '';
  constructor(private readonly prefix: string) {}
  renew(): string {
    this.remove();
    this.name = `${this.prefix}-${this.#n++}`;
    execFileSync('ip', ['netns', 'add', this.name]);
    return this.name;
  }
  remove(): void {
    if (this.name !== '') execFileSync('ip', ['netns', 'del', this.name]);
    this.name = '';
  }
}

async function restoreInto(ns: string, rendered: RenderedPolicy): Promise<void> {
  for (const [cmd, args, input] of [
    ['ipset', ['restore'], rendered.ipsetRestore],
    ['iptables-restore', ['--noflush', '--wait'], rendered.v4.filterRestore],
    ['ip6tables-restore', ['--noflush', '--wait'], rendered.v6.filterRestore],
  ] as const) {
    await execa('ip', ['netns', 'exec', ns, cmd, ...args], { input });
  }
}

/**
 * Per update, ms: end to end, compile+render, the applier's own work, its kernel tools; tool
 * processes started; and the follow-up (stale chains and sets removed) after the new ruleset is
 * in force.
 */
interface Series {
  total: number[];
  followUp: number[];
  compile: number[];
  own: number[];
  tools: number[];
  processes: number[];
}

const newSeries = (): Series => ({ total: [], followUp: [], compile: [], own: [], tools: [], processes: [] });

/** One kind of incremental update, measured ROUNDS times in a row. */
interface Change {
  what: string;
  /** The state after this change's `round`-th update of `state`. */
  next(state: ClusterState, round: number): ClusterState;
  /** What the apply must do to chains; a wrong guess means the bench measures something else. */
  chains: 'none' | 'some' | 'any';
}

/** The cluster as one node's agent sees it, and the updates to measure on it. */
interface View {
  /** Plain words for table titles: which endpoints are on the measured node. */
  label: string;
  state: ClusterState;
  changes: readonly Change[];
}

function worstCaseView(): View {
  return {
    label: 'worst case: every endpoint on this node',
    state: syntheticCluster({ policies: POLICIES, endpoints: ENDPOINTS }),
    changes: [
      {
        what: 'label change',
        next: (state, i) => withTierChange(state, (i * 487) % ENDPOINTS, 1),
        chains: 'none',
      },
      {
        what: 'policy edit',
        next: (state, i) => withPolicyEdit(state, (i * 53) % POLICIES, 1 + i),
        chains: 'any',
      },
    ],
  };
}

function nodeView(): View {
  const state = syntheticCluster({ policies: POLICIES, endpoints: ENDPOINTS, localEndpoints: NODE_MAX_PODS });
  const local: number[] = [];
  const remote: number[] = [];
  for (const [i, pod] of state.pods.entries()) (pod.hostInterface === undefined ? remote : local).push(i);
  if (local.length !== NODE_MAX_PODS) throw new Error(`${local.length} local pods, wanted ${NODE_MAX_PODS}`);
  // A policy gets chains on this node only if its pod selector picks a local pod.
  const inUse: number[] = [];
  const unused: number[] = [];
  for (const [j, policy] of state.policies.entries()) {
    const picksLocal = local.some((i) => {
      const pod = state.pods[i]!;
      return (
        pod.namespace === policy.metadata.namespace && selectorMatches(policy.spec.podSelector, pod.labels)
      );
    });
    (picksLocal ? inUse : unused).push(j);
  }
  if (inUse.length < ROUNDS || unused.length < ROUNDS) {
    throw new Error(`${inUse.length} policies select local pods, ${unused.length} none: too few to edit`);
  }
  const pick = (from: readonly number[], i: number, stride: number) => from[(i * stride) % from.length]!;
  return {
    label: `node view: ${NODE_MAX_PODS} of ${ENDPOINTS.toLocaleString('en-US')} endpoints on this node`,
    state,
    changes: [
      {
        what: 'label change of a local pod (tier: peer sets only)',
        next: (s, i) => withTierChange(s, pick(local, i, 7), 1),
        chains: 'none',
      },
      {
        what: 'label change of a remote pod',
        next: (s, i) => withTierChange(s, pick(remote, i, 487), 1),
        chains: 'none',
      },
      {
        what: `policy edit, a policy selecting local pods (${inUse.length} do)`,
        next: (s, i) => withPolicyEdit(s, pick(inUse, i, 7), 1 + i),
        chains: 'some',
      },
      {
        what: `policy edit, a policy selecting no local pod (${unused.length} do)`,
        next: (s, i) => withPolicyEdit(s, pick(unused, i, 53), 1 + i),
        chains: 'none',
      },
      // Last: it moves pods between policies, so the two lists above would no longer hold.
      {
        what: 'label change of a local pod, app: another policy picks it',
        next: (s, i) => withAppChange(s, pick(local, i, 13), 1),
        chains: 'some',
      },
    ],
  };
}

async function runPolicyBench(): Promise<BenchTable[]> {
  if (!isRoot()) throw new Error('the policy benchmark needs root (network namespaces)');
  const ns = new ScratchNamespace(`trlbench-pol-${process.pid}`);
  try {
    // Built one after the other so only one view's state is alive at a time.
    const worst = await measureView(worstCaseView(), ns, true);
    const node = await measureView(nodeView(), ns, false);
    return [...worst, ...node];
  } finally {
    ns.remove();
  }
}

async function measureView(view: View, ns: ScratchNamespace, firstInProcess: boolean): Promise<BenchTable[]> {
  const viewStart = performance.now();
  const firstRun = firstInProcess
    ? 'first run in the process'
    : 'first run of this state (code already warm)';
  const { state } = view;
  const heapBefore = process.memoryUsage().heapUsed;
  const compiled = await timed(() => compilePolicies(state));
  const rendered = await timed(() => renderPolicy(compiled.value));
  const heapAfter = process.memoryUsage().heapUsed;
  const full = rendered.value;
  // The first run includes V8 compiling the compiler; the agent pays that once per start.
  const warmCompile: number[] = [];
  const warmRender: number[] = [];
  for (let i = 0; i < WARM_RUNS; i++) {
    const ir = await timed(() => compilePolicies(state));
    warmCompile.push(ir.ms);
    warmRender.push((await timed(() => renderPolicy(ir.value))).ms);
  }
  // Built on first read (the applier never needs them); the floor below feeds them to the tools.
  const restoreText = await timed(() => [full.ipsetRestore, full.v4.filterRestore, full.v6.filterRestore]);
  const rules = (f: RenderedPolicy['v4']) => f.chains.reduce((n, c) => n + c.rules.length, 0);
  const inputBytes = full.ipsetRestore.length + full.v4.filterRestore.length + full.v6.filterRestore.length;

  const floor = await timed(() => restoreInto(ns.renew(), full));
  const spawn = await timed(() => execa('ip', ['netns', 'exec', ns.name, 'ipset', 'list', '-n']));

  // The kernel tools the applier starts are timed through its runner.
  const tools = { ms: 0, count: 0 };
  const timedRunner: CommandRunner = async (command, args, input) => {
    const r = await timed(() => execaRunner(command, args, input));
    tools.ms += r.ms;
    tools.count++;
    return r.value;
  };
  const applier = new PolicyApplier({ netns: ns.renew(), runner: timedRunner });
  const first = await timed(() => applier.apply(full));
  const noop = await timed(() => applier.apply(full));
  const restarted = await timed(() => new PolicyApplier({ netns: ns.name }).apply(full));
  const resync = await timed(() => applier.resync());

  // As the agent runs: one compiler that remembers the last state, fed whole cluster states,
  // and one applier.
  const compiler = new IncrementalPolicyCompiler();
  const warm = await timed(() => compiler.update(state));
  await applier.apply(warm.value);
  let current = state;
  const step = async (times: Series, next: ClusterState) => {
    tools.ms = 0;
    tools.count = 0;
    const total = await timed(async () => {
      const compiled = await timed(() => compiler.update(next));
      times.compile.push(compiled.ms);
      return applier.apply(compiled.value);
    });
    times.total.push(total.ms);
    times.tools.push(tools.ms);
    times.own.push(total.ms - times.compile.at(-1)! - tools.ms);
    times.processes.push(tools.count);
    return total.value;
  };
  const series: [Change, Series][] = [];
  for (const change of view.changes) {
    const times = newSeries();
    for (let i = 0; i < ROUNDS; i++) {
      current = change.next(current, i);
      const written = (await step(times, current)).chainsWritten.length;
      // The agent starts policy passes at least 100 ms apart (PolicySync minIntervalMs), so the
      // follow-up of one update is done before the next begins; timed on its own, not in total.
      times.followUp.push((await timed(() => applier.settled())).ms);
      if ((change.chains === 'none' && written > 0) || (change.chains === 'some' && written === 0)) {
        throw new Error(`${change.what} wrote ${written} chains, expected ${change.chains}`);
      }
    }
    series.push([change, times]);
  }
  const commitFloor: number[] = [];
  for (let i = 0; i < WARM_RUNS * 2; i++) {
    // Not a name of ours, so the applier never sees it; the namespace goes afterwards.
    const chain = `trlbench-${i}`;
    const input = `*filter\n:${chain} - [0:0]\n-A ${chain} -j RETURN\nCOMMIT\n`;
    commitFloor.push(
      (
        await timed(() =>
          execaRunner('ip', ['netns', 'exec', ns.name, 'iptables-restore', '--noflush', '--wait'], input),
        )
      ).ms,
    );
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const p50 = (xs: number[]) => percentile(sorted(xs), 50);
  const p95 = (xs: number[]) => percentile(sorted(xs), 95);
  const range = (xs: number[]) => {
    const [low, high] = [Math.min(...xs), Math.max(...xs)];
    return low === high ? String(low) : `${low}-${high}`;
  };

  const size: BenchTable = {
    title: `policy, ${view.label}: synthetic ruleset (${POLICIES} policies, ${ENDPOINTS} endpoints, 1 in 4 dual-stack)`,
    columns: ['measure', 'value'],
    rows: [
      [`compile (IR) ms, ${firstRun}`, ms(compiled.ms)],
      [`render ms, ${firstRun}`, ms(rendered.ms)],
      ['restore text (ipset + iptables + ip6tables) ms', ms(restoreText.ms)],
      ['first update of an IncrementalPolicyCompiler (compile + render) ms', ms(warm.ms)],
      ['heap growth for IR + rendered, MB', mb(heapAfter - heapBefore)],
      [
        `rss after render, MB${firstInProcess ? '' : ' (whole process; the view before ran in it)'}`,
        mb(process.memoryUsage().rss),
      ],
      ['sets / members', `${full.sets.length} / ${full.sets.reduce((n, s) => n + s.entries.length, 0)}`],
      ['IPv4 chains / rules', `${full.v4.chains.length} / ${rules(full.v4)}`],
      ['IPv6 chains / rules', `${full.v6.chains.length} / ${rules(full.v6)}`],
      ['restore input, MB', mb(inputBytes)],
    ],
  };
  const verdict = (t: number, target: number) => (t <= target ? 'met' : 'MISSED');
  const targets: BenchTable = {
    title: `policy, ${view.label}: targets (issue #5)`,
    columns: ['measure', 'ms', 'target ms', ''],
    rows: [
      [
        `full compile (IR), ${firstRun}`,
        ms(compiled.ms),
        String(COMPILE_TARGET_MS),
        verdict(compiled.ms, COMPILE_TARGET_MS),
      ],
      [
        `full compile (IR), p50 of ${WARM_RUNS} more`,
        ms(p50(warmCompile)),
        String(COMPILE_TARGET_MS),
        verdict(p50(warmCompile), COMPILE_TARGET_MS),
      ],
      [`full render, ${firstRun}`, ms(rendered.ms), '-', ''],
      [`full render, p50 of ${WARM_RUNS} more`, ms(p50(warmRender)), '-', ''],
      ...series.flatMap(([{ what }, t]) => [
        [
          `${what}: compile+render+apply, p50 of ${ROUNDS}`,
          ms(p50(t.total)),
          String(INCREMENTAL_TARGET_MS),
          verdict(p50(t.total), INCREMENTAL_TARGET_MS),
        ],
        [`${what}: compile+render+apply, p95`, ms(p95(t.total)), '-', ''],
        ['  of which compile+render (incremental), p50', ms(p50(t.compile)), '-', ''],
        ["  of which the applier's own work (diff, scripts), p50", ms(p50(t.own)), '-', ''],
        [`  of which kernel tools (${range(t.processes)} processes), p50`, ms(p50(t.tools)), '-', ''],
        ['  then the follow-up, off the latency path, p50', ms(p50(t.followUp)), '-', ''],
      ]),
      [
        'floor: one iptables-restore of a one-rule chain into the loaded table, p50',
        ms(p50(commitFloor)),
        '-',
        '',
      ],
      ['floor: bare ipset + iptables + ip6tables restore of the full ruleset', ms(floor.ms), '-', ''],
    ],
  };
  const floorMs = floor.ms;
  const row = (what: string, t: number, commands: string): string[] => [
    what,
    ms(t),
    commands,
    `${(t / floorMs).toFixed(2)}x`,
  ];
  const apply: BenchTable = {
    title: `policy, ${view.label}: applying it (each in a fresh network namespace; nft iptables backend)`,
    columns: ['operation', 'ms', 'commands', 'vs floor'],
    rows: [
      row('floor: bare ipset + iptables + ip6tables restore', floorMs, '3'),
      row('full apply, empty kernel', first.ms, String(first.value.commands)),
      row('identical re-apply', noop.ms, String(noop.value.commands)),
      row(
        'full apply by a restarted applier (kernel matches)',
        restarted.ms,
        String(restarted.value.commands),
      ),
      row('resync, no drift', resync.ms, String(resync.value.commands)),
      ...series.map(([{ what }, t]) =>
        row(`${what}, compile+render+apply, p50 of ${ROUNDS}`, p50(t.total), range(t.processes)),
      ),
      row('one tool process (ip netns exec ipset list -n)', spawn.ms, '1'),
    ],
    notes: [
      'apply = read kernel (first use only) + diff + ipset stage/swap + additions-only iptables-restore per family [+ late ipset swap]; then its follow-up removes stale chains and sets',
      'incremental rows reuse one applier and one IncrementalPolicyCompiler, as the agent does',
    ],
  };
  const seconds = ((performance.now() - viewStart) / 1000).toFixed(0);
  apply.notes = [...(apply.notes ?? []), `this view took ${seconds} s`];
  return [targets, size, apply];
}
