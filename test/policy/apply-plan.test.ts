// The applier's pure decisions: parsing kernel saves, planRepair, and (property) that the
// scripts of any plan, run on a model kernel that enforces iptables' and ipset's ordering rules,
// turn any ruleset into any other.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ApplyPlan } from '../../policy/apply/plan.js';
import {
  isPlanEmpty,
  planChanges,
  planFlush,
  planRepair,
  renderFamilyScript,
  renderFollowUpFamilyScript,
  renderFollowUpSetScript,
  renderLateSwapScript,
  renderStageScript,
  SHADOW_RETURN,
} from '../../policy/apply/plan.js';
import {
  EMPTY_STATE,
  type KernelSave,
  normalizeEntries,
  type OwnedState,
  parseFilterSave,
  parseIpsetSave,
  stateOfKernel,
  stateOfRendered,
} from '../../policy/apply/state.js';
import { compilePolicies } from '../../policy/compile.js';
import { IncrementalPolicyCompiler } from '../../policy/incremental.js';
import type { ClusterState } from '../../policy/model.js';
import { type RenderedPolicy, renderPolicy } from '../../policy/render.js';
import { clusterArb, labels } from './arbitraries.js';
import { ns, pod, policy } from './fixtures.js';

const render = (state: ClusterState): RenderedPolicy => renderPolicy(compilePolicies(state));

/** A small kernel model: filter tables of both families and ipsets, with the tools' refusals. */
class ModelKernel {
  readonly tables = {
    4: new Map<string, string[]>([['FORWARD', []]]),
    6: new Map<string, string[]>([['FORWARD', []]]),
  };
  readonly sets = new Map<string, { type: string; family: string; entries: string[] }>();

  static of(rendered: RenderedPolicy, foreign = true): ModelKernel {
    const k = new ModelKernel();
    for (const family of [4, 6] as const) {
      const table = k.tables[family];
      const f = family === 4 ? rendered.v4 : rendered.v6;
      if (foreign) table.set('KUBE-FORWARD', ['-j ACCEPT']);
      table.get('FORWARD')!.push(...f.hooks.map((h) => h.rule), ...(foreign ? ['-j KUBE-FORWARD'] : []));
      for (const c of f.chains) table.set(c.name, [...c.rules]);
    }
    if (foreign) k.sets.set('KUBE-x', { type: 'hash:ip', family: 'inet', entries: ['1.2.3.4'] });
    for (const s of rendered.sets) {
      k.sets.set(s.name, {
        type: s.type,
        family: s.family === 4 ? 'inet' : 'inet6',
        entries: [...s.entries],
      });
    }
    return k;
  }

  save(): KernelSave {
    const filter = (family: 4 | 6) => {
      const table = this.tables[family];
      const lines = [
        '*filter',
        ...[...table.keys()].map((c) => `:${c} ${c === 'FORWARD' ? 'ACCEPT' : '-'} [0:0]`),
      ];
      for (const [c, rules] of table) for (const r of rules) lines.push(`-A ${c} ${r}`);
      return [...lines, 'COMMIT', ''].join('\n');
    };
    const ipset = [...this.sets].flatMap(([name, s]) => [
      `create ${name} ${s.type} family ${s.family} hashsize 1024 maxelem 1048576`,
      ...s.entries.map((e) => `add ${name} ${e}`),
    ]);
    return { filter4: filter(4), filter6: filter(6), ipset: ipset.join('\n') };
  }

  private referencedSets(): Set<string> {
    const used = new Set<string>();
    for (const table of Object.values(this.tables))
      for (const rules of table.values())
        for (const r of rules) for (const m of r.matchAll(/--match-set (\S+)/g)) used.add(m[1]!);
    return used;
  }

  ipsetRestore(script: string): void {
    for (const line of script.split('\n').filter((l) => l !== '')) {
      const [op, name = '', ...rest] = line.split(' ');
      const set = this.sets.get(name);
      switch (op) {
        case 'create':
          assert.equal(set, undefined, `create: ${name} exists`);
          this.sets.set(name, { type: rest[0]!, family: rest[2]!, entries: [] });
          break;
        case 'add':
          assert.ok(set, `add: no set ${name}`);
          set.entries.push(rest.join(' '));
          break;
        case 'swap': {
          const other = this.sets.get(rest[0]!);
          assert.ok(set && other && set.type === other.type, `swap ${name} ${rest[0]}`);
          this.sets.set(name, other);
          this.sets.set(rest[0]!, set);
          break;
        }
        case 'destroy':
          assert.ok(set, `destroy: no set ${name}`);
          assert.ok(!this.referencedSets().has(name), `destroy: ${name} is referenced`);
          this.sets.delete(name);
          break;
        default:
          assert.fail(`unexpected ipset line ${line}`);
      }
    }
  }

  /** All-or-nothing, like the real tool: works on a copy that replaces the table at COMMIT. */
  iptablesRestore(family: 4 | 6, script: string): void {
    const table = new Map([...this.tables[family]].map(([c, rules]) => [c, [...rules]]));
    for (const line of script.split('\n').filter((l) => l !== '' && l !== '*filter' && l !== 'COMMIT')) {
      if (line.startsWith(':')) {
        table.set(line.slice(1).split(' ')[0]!, []);
        continue;
      }
      const [op, chain = '', ...words] = line.split(' ');
      const rules = table.get(chain);
      assert.ok(rules, `${op}: no chain ${chain}`);
      if (op === '-A') rules.push(words.join(' '));
      else if (op === '-I') {
        const at = Number(words[0]);
        assert.ok(at >= 1 && at <= rules.length + 1, `-I ${chain} ${at}: only ${rules.length} rules`);
        rules.splice(at - 1, 0, words.slice(1).join(' '));
      } else if (op === '-D') {
        const at = rules.indexOf(words.join(' '));
        assert.ok(at >= 0, `-D: no such rule in ${chain}`);
        rules.splice(at, 1);
      } else if (op === '-X') {
        assert.equal(rules.length, 0, `-X ${chain}: not empty`);
        for (const other of table.values())
          assert.ok(
            !other.some((r) => new RegExp(` -[jg] ${chain}$`).test(` ${r}`)),
            `-X ${chain}: referenced`,
          );
        table.delete(chain);
      } else assert.fail(`unexpected iptables line ${line}`);
    }
    for (const rules of table.values())
      for (const r of rules)
        for (const m of r.matchAll(/--match-set (\S+)/g)) assert.ok(this.sets.has(m[1]!));
    this.tables[family] = table;
  }

  /** What each chain means: its rules up to a shadowing RETURN. */
  effectiveChains(family: 4 | 6): Map<string, string[]> {
    return new Map(
      [...this.tables[family]].map(([name, rules]) => {
        const end = rules.indexOf(SHADOW_RETURN);
        return [name, end < 0 ? rules : rules.slice(0, end)];
      }),
    );
  }

  /**
   * An apply's waves, then (unless `followUp` is false) its follow-up. `inForce` is called when
   * the apply would resolve; `onRuleWave` with the effective chains before and after the rule
   * transactions and the sets swapped before them.
   */
  run(
    plan: ApplyPlan,
    hooks: {
      inForce?: () => void;
      onRuleWave?: (before: Map<string, string[]>[], after: Map<string, string[]>[]) => void;
    } = {},
  ): void {
    this.ipsetRestore(renderStageScript(plan));
    const before = [this.effectiveChains(4), this.effectiveChains(6)];
    this.iptablesRestore(4, renderFamilyScript(plan.v4));
    this.iptablesRestore(6, renderFamilyScript(plan.v6));
    hooks.onRuleWave?.(before, [this.effectiveChains(4), this.effectiveChains(6)]);
    this.ipsetRestore(renderLateSwapScript(plan));
    hooks.inForce?.();
    this.iptablesRestore(4, renderFollowUpFamilyScript(plan.v4));
    this.iptablesRestore(6, renderFollowUpFamilyScript(plan.v6));
    this.ipsetRestore(renderFollowUpSetScript(plan));
  }
}

/** The same state with no object shared with `rendered`: what a kernel read would give. */
function deepCopy(state: OwnedState): OwnedState {
  const family = (f: OwnedState['v4']) => ({
    chains: f.chains.map((c) => ({ name: c.name, rules: [...c.rules] })),
    hooks: f.hooks.map((h) => ({ ...h })),
  });
  return {
    sets: state.sets.map((set) => ({ ...set, entries: [...set.entries] })),
    v4: family(state.v4),
    v6: family(state.v6),
  };
}

/** `a` or, more often, `a` with one pod relabelled: most rendered objects then carry over. */
const followingArb = (a: ClusterState): fc.Arbitrary<ClusterState> =>
  fc.oneof(
    clusterArb,
    fc.tuple(fc.nat(), labels).map(([n, newLabels]) => ({
      ...a,
      pods: a.pods.map((p, i) => (i === n % a.pods.length ? { ...p, labels: newLabels } : p)),
    })),
  );

const SAMPLE: ClusterState = {
  namespaces: [ns('x')],
  pods: [
    pod('x/a', { app: 'a' }, ['10.0.0.1', 'fd00::1'], { iface: 'trla' }),
    pod('x/b', { app: 'b' }, ['10.0.0.2'], { iface: 'trlb' }),
  ],
  policies: [
    policy('x/p', {
      podSelector: { matchLabels: { app: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }],
    }),
  ],
};

describe('policy/apply planning (pure)', () => {
  it('parses only our chains, our rules in built-in chains, and our sets', () => {
    const rendered = render(SAMPLE);
    const save = ModelKernel.of(rendered).save();
    const v4 = parseFilterSave(
      `# comment\n*nat\n:trl-FORWARD - [0:0]\n-A trl-FORWARD -j X\nCOMMIT\n${save.filter4}`,
    );
    assert.deepEqual(
      v4.chains.map((c) => c.name),
      rendered.v4.chains.map((c) => c.name),
    );
    assert.deepEqual(v4.hooks, rendered.v4.hooks);
    assert.deepEqual(
      parseIpsetSave(save.ipset).map((s) => s.name),
      rendered.sets.map((s) => s.name),
    );
  });

  it('normalizes set entries the way ipset prints them', () => {
    assert.deepEqual(normalizeEntries(['10.0.0.1/32', '10.1.0.0/16 nomatch', '9.0.0.0/8'], 'hash:net', 4), [
      '10.0.0.1',
      '10.1.0.0/16 nomatch',
      '9.0.0.0/8',
    ]);
    assert.deepEqual(normalizeEntries(['fd00:0:0::1/128', 'fd00::/64'], 'hash:net', 6), [
      'fd00::/64',
      'fd00::1',
    ]);
    assert.deepEqual(normalizeEntries(['FD00::0:1,TCP:80'], 'hash:ip,port', 6), ['fd00::1,tcp:80']);
  });

  it('planRepair: nothing to do when the kernel holds the ruleset', () => {
    const rendered = render(SAMPLE);
    assert.equal(isPlanEmpty(planRepair(rendered, ModelKernel.of(rendered).save())), true);
  });

  it('planRepair: a deleted or an injected rule rewrites exactly that chain', () => {
    const rendered = render(SAMPLE);
    const target = rendered.v4.chains.find((c) => c.name === 'trl-tw-trla')!;
    const deleted = ModelKernel.of(rendered);
    deleted.tables[4].get(target.name)!.splice(1, 1);
    const plan = planRepair(rendered, deleted.save());
    assert.deepEqual(plan.v4.rewriteChains, [{ name: target.name, rules: target.rules }]);
    assert.equal(isPlanEmpty({ ...plan, v4: { ...plan.v4, rewriteChains: [] } }), true);

    const injected = ModelKernel.of(rendered);
    injected.tables[6].get('trl-to-wl')!.unshift('-j ACCEPT');
    const plan6 = planRepair(rendered, injected.save());
    assert.deepEqual(
      plan6.v6.rewriteChains.map((c) => c.name),
      ['trl-to-wl'],
    );
  });

  it('planRepair: a missing member refills that set; stray sets, chains and hooks are removed', () => {
    const rendered = render(SAMPLE);
    const k = ModelKernel.of(rendered);
    const set = rendered.sets.find((s) => s.entries.includes('10.0.0.2'))!;
    k.sets.get(set.name)!.entries = [];
    k.sets.set('trl4p-00000000000000000000', { type: 'hash:ip', family: 'inet', entries: [] });
    k.sets.set('trl4t-00000000000000000000', { type: 'hash:ip', family: 'inet', entries: [] });
    k.tables[4].set('trl-pi-0000000000000000', ['-j ACCEPT']);
    k.tables[4].get('FORWARD')!.push(rendered.v4.hooks[0]!.rule);
    const plan = planRepair(rendered, k.save());
    assert.deepEqual(
      plan.refillSets.map((s) => s.name),
      [set.name],
    );
    assert.deepEqual(plan.destroySets, ['trl4p-00000000000000000000']);
    assert.deepEqual(plan.destroyScratch, ['trl4t-00000000000000000000']);
    assert.deepEqual(plan.v4.deleteChains, ['trl-pi-0000000000000000']);
    assert.deepEqual(plan.v4.deleteHooks, rendered.v4.hooks);
    assert.deepEqual(plan.v4.insertHooks, []);
    k.run(plan);
    assert.equal(isPlanEmpty(planRepair(rendered, k.save())), true);
  });

  it('a missing hook is inserted on top; foreign rules stay', () => {
    const rendered = render(SAMPLE);
    const k = ModelKernel.of(rendered);
    k.tables[4].set('FORWARD', ['-j KUBE-FORWARD']);
    const plan = planRepair(rendered, k.save());
    assert.deepEqual(plan.v4.insertHooks, rendered.v4.hooks);
    k.run(plan);
    assert.deepEqual(k.tables[4].get('FORWARD'), [rendered.v4.hooks[0]!.rule, '-j KUBE-FORWARD']);
  });

  it('planFlush removes everything of ours and nothing else', () => {
    const k = ModelKernel.of(render(SAMPLE));
    k.run(planFlush(stateOfKernel(k.save())));
    for (const family of [4, 6] as const) {
      assert.deepEqual([...k.tables[family].keys()], ['FORWARD', 'KUBE-FORWARD']);
      assert.deepEqual(k.tables[family].get('FORWARD'), ['-j KUBE-FORWARD']);
    }
    assert.deepEqual([...k.sets.keys()], ['KUBE-x']);
    assert.equal(isPlanEmpty(planFlush(stateOfKernel(k.save()))), true);
  });

  it('refuses to reuse a set name held with another type', () => {
    const rendered = render(SAMPLE);
    const k = ModelKernel.of(rendered);
    k.sets.get(rendered.sets[0]!.name)!.type = 'hash:net';
    assert.throws(() => planRepair(rendered, k.save()), { name: 'PolicyApplyError', message: /flush/ });
  });

  it('the plan between any two rulesets, run in order, yields the second (property, model kernel)', () => {
    fc.assert(
      fc.property(clusterArb, clusterArb, fc.boolean(), (a, b, fromScratch) => {
        const from = render(a);
        const to = render(b);
        const k = fromScratch ? new ModelKernel() : ModelKernel.of(from);
        const plan = planChanges(stateOfRendered(to), stateOfKernel(k.save()));
        const swappedFirst = new Set(plan.refillSets.map((s) => s.name));
        k.run(plan, {
          // A set swapped before the rule transactions is matched only by chains they leave as they were.
          onRuleWave: (before, after) => {
            for (const [i, chains] of before.entries()) {
              for (const [name, rules] of chains) {
                const uses = rules.some((r) =>
                  [...r.matchAll(/--match-set (\S+)/g)].some((m) => swappedFirst.has(m[1]!)),
                );
                if (uses) assert.deepEqual(after[i]!.get(name), rules, `${name} matches a set swapped first`);
              }
            }
          },
          // When the apply resolves, every chain means its new rules and every set has its new members.
          inForce: () => {
            for (const [family, f] of [
              [4, to.v4],
              [6, to.v6],
            ] as const) {
              const chains = k.effectiveChains(family);
              for (const c of f.chains) assert.deepEqual(chains.get(c.name), c.rules, c.name);
            }
            for (const s of to.sets) assert.deepEqual(k.sets.get(s.name)?.entries, s.entries, s.name);
          },
        });
        assert.equal(isPlanEmpty(planRepair(to, k.save())), true);
        // Applying the same again is a no-op, and a flush leaves only the foreign objects.
        assert.equal(isPlanEmpty(planChanges(stateOfRendered(to), stateOfKernel(k.save()))), true);
        k.run(planChanges(EMPTY_STATE, stateOfKernel(k.save())));
        assert.equal(isPlanEmpty(planFlush(stateOfKernel(k.save()))), true);
      }),
      { numRuns: 200 },
    );
  });

  it('diffing two renders by identity decides exactly what diffing them by content does (property)', () => {
    fc.assert(
      fc.property(
        clusterArb.chain((a) => fc.tuple(fc.constant(a), followingArb(a))),
        ([a, b]) => {
          const compiler = new IncrementalPolicyCompiler();
          const from = stateOfRendered(compiler.update(a));
          const to = stateOfRendered(compiler.update(b));
          assert.deepEqual(planChanges(to, from), planChanges(deepCopy(to), deepCopy(from)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an incremental render passes over what it reused: a relabel plans only the changed set', () => {
    const compiler = new IncrementalPolicyCompiler();
    const before = compiler.update(SAMPLE);
    const relabelled = {
      ...SAMPLE,
      pods: SAMPLE.pods.map((p) => (p.name === 'b' ? { ...p, labels: {} } : p)),
    };
    const after = compiler.update(relabelled);
    const plan = planChanges(stateOfRendered(after), stateOfRendered(before));
    const changed = after.sets.filter((s) => !before.sets.includes(s));
    assert.equal(changed.length, 1);
    assert.deepEqual(plan.refillSets, changed);
    assert.equal(isPlanEmpty({ ...plan, refillSets: [] }), true);
  });

  it('refuses a render whose chains are not sorted by name, before anything runs', () => {
    const rendered = render(SAMPLE);
    const shuffled = { ...rendered, v4: { ...rendered.v4, chains: [...rendered.v4.chains].reverse() } };
    assert.throws(() => planChanges(stateOfRendered(shuffled), EMPTY_STATE), {
      name: 'PolicyApplyError',
      message: /must be sorted by name/,
    });
  });
});
