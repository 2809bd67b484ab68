// The I/O edge of policy: puts a RenderedPolicy into the kernel of the current (or a given)
// network namespace, atomically and incrementally, and keeps it there.
//
// Each change runs as: (1) `ipset restore` creating new sets and scratch copies of changed sets,
// (2) one `iptables-restore --noflush --wait` transaction per family with the changed chains,
// missing hooks and stale-chain deletions (the two families side by side), (3) `ipset restore`
// swapping the scratch sets in and destroying stale sets. (1) touches nothing in use and (2) is
// all-or-nothing per table, so a failure at (1) or (2) is undone (a family whose transaction
// went through is rolled back when the other fails) and leaves the previous ruleset in force.
// A step with nothing to write starts no process; a change of set members alone runs (1) and
// (3) as one `ipset restore`. Calls are serialized: a resync timer cannot interleave with an
// apply.
//
// What the kernel holds is remembered as the last applied render itself, so the next apply's
// diff skips every chain and set object the incremental renderer reused (see planChanges).
// After any failure that memory is dropped and the next call reads the kernel; resync always
// reads it, so drift the diff cannot see (someone else's hand) is repaired there.

import { type Logger, silentLogger } from '../../src/log.js';
import { compilePolicies } from '../compile.js';
import { type RenderedPolicy, type RenderOptions, renderPolicy } from '../render.js';
import { type ApplyStep, describeToolFailure, failedLineOf, PolicyApplyError } from './errors.js';
import {
  type ApplyPlan,
  isPlanEmpty,
  planChanges,
  planFamily,
  planFlush,
  renderCommitScript,
  renderFamilyScript,
  renderStageScript,
  stagedSetNames,
} from './plan.js';
import { type CommandRunner, execaRunner, inNetns } from './runner.js';
import {
  byName,
  EMPTY_STATE,
  type FamilyState,
  isScratchSet,
  type OwnedState,
  stateOfKernel,
  stateOfRendered,
} from './state.js';

export interface PolicyApplierOptions {
  /** Run every command in this network namespace (`ip netns exec`); default: the current one. */
  netns?: string;
  /** Starts the kernel tools; default execa. Tests inject a counting or failing runner. */
  runner?: CommandRunner;
  logger?: Logger;
  /** Must match the options the rendered policies are made with (fail-closed chains use them). */
  renderOptions?: RenderOptions;
}

/** What one call changed, by name, and how many processes it started. */
export interface ApplyReport {
  setsCreated: string[];
  setsRefilled: string[];
  setsDestroyed: string[];
  chainsWritten: string[];
  chainsDeleted: string[];
  hooksInserted: number;
  hooksDeleted: number;
  commands: number;
}

const IPTABLES_RESTORE = { 4: 'iptables-restore', 6: 'ip6tables-restore' } as const;

export class PolicyApplier {
  readonly #runner: CommandRunner;
  readonly #log: Logger;
  readonly #renderOptions: RenderOptions;
  /** What the kernel holds as far as we know; undefined means read it before changing anything. */
  #inKernel: OwnedState | undefined;
  /** What resync restores: the last applied ruleset (or the fail-closed base). */
  #expected: OwnedState | undefined;
  #lastApplied: RenderedPolicy | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: PolicyApplierOptions = {}) {
    this.#runner = inNetns(options.runner ?? execaRunner, options.netns);
    this.#log = options.logger ?? silentLogger;
    this.#renderOptions = options.renderOptions ?? {};
  }

  /** The last ruleset applied successfully by this applier. */
  get lastApplied(): RenderedPolicy | undefined {
    return this.#lastApplied;
  }

  /**
   * Startup, before any workload interface exists: makes sure the FORWARD hook and the dispatch
   * chains (which drop traffic of unprogrammed workload interfaces) are in place. A ruleset left
   * by a previous run stays in force until the first apply replaces it.
   */
  ensureFailClosed(): Promise<ApplyReport> {
    return this.#serialized(async (calls) => {
      const kernel = await this.#readKernel(calls);
      const base = stateOfRendered(
        renderPolicy(compilePolicies({ namespaces: [], pods: [], policies: [] }), this.#renderOptions),
      );
      const wanted: OwnedState = {
        sets: kernel.sets.filter((s) => !isScratchSet(s.name)),
        v4: withBase(kernel.v4, base.v4),
        v6: withBase(kernel.v6, base.v6),
      };
      const report = await this.#execute(planChanges(wanted, kernel), kernel, wanted, calls);
      this.#expected = wanted;
      return report;
    });
  }

  /** Makes the kernel hold exactly `rendered` (of ours); only what differs is written. */
  apply(rendered: RenderedPolicy): Promise<ApplyReport> {
    return this.#serialized(async (calls) => {
      const current = this.#inKernel ?? (await this.#readKernel(calls));
      const desired = stateOfRendered(rendered);
      const report = await this.#execute(planChanges(desired, current), current, desired, calls);
      this.#expected = desired;
      this.#lastApplied = rendered;
      return report;
    });
  }

  /**
   * Reads the kernel and repairs whatever differs from the last applied ruleset: clobbered,
   * missing or extra rules in our chains, missing hooks, set members, stray sets and chains.
   */
  resync(): Promise<ApplyReport> {
    return this.#serialized(async (calls) => {
      const expected = this.#expected;
      if (expected === undefined) return reportOf(planChanges(EMPTY_STATE, EMPTY_STATE), calls);
      const kernel = await this.#readKernel(calls);
      const plan = planChanges(expected, kernel);
      if (!isPlanEmpty(plan)) this.#log.warn({ repair: summary(plan) }, 'policy resync repairs kernel state');
      return this.#execute(plan, kernel, expected, calls);
    });
  }

  /** Removes every hook, chain and set of ours from the kernel; a no-op when there are none. */
  flush(): Promise<ApplyReport> {
    return this.#serialized(async (calls) => {
      const kernel = await this.#readKernel(calls);
      const report = await this.#execute(planFlush(kernel), kernel, EMPTY_STATE, calls);
      this.#expected = undefined;
      this.#lastApplied = undefined;
      return report;
    });
  }

  #serialized(work: (calls: { count: number }) => Promise<ApplyReport>): Promise<ApplyReport> {
    const next = this.#queue.then(() => work({ count: 0 }));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #run(
    calls: { count: number },
    step: ApplyStep,
    command: string,
    args: readonly string[],
    input?: string,
  ): Promise<
    | { ok: true; stdout: string }
    | { ok: false; detail: string; step: ApplyStep; command: string; line: number | undefined }
  > {
    calls.count++;
    const r = await this.#runner(command, args, input);
    if (r.exitCode === 0) return { ok: true, stdout: r.stdout };
    return {
      ok: false,
      detail: describeToolFailure(r.stderr, r.exitCode, input),
      step,
      command,
      line: failedLineOf(r.stderr),
    };
  }

  async #readKernel(calls: { count: number }): Promise<OwnedState> {
    const reads = await Promise.all([
      this.#run(calls, 'read', 'iptables-save', ['-t', 'filter']),
      this.#run(calls, 'read', 'ip6tables-save', ['-t', 'filter']),
      this.#run(calls, 'read', 'ipset', ['save']),
    ]);
    const texts = reads.map((r) => {
      if (!r.ok) throw new PolicyApplyError('read', r.command, r.detail, true);
      return r.stdout;
    });
    const state = stateOfKernel({ filter4: texts[0]!, filter6: texts[1]!, ipset: texts[2]! });
    this.#inKernel = state;
    return state;
  }

  /** Runs a plan; on success the kernel holds `desired`, on failure see PolicyApplyError. */
  async #execute(
    plan: ApplyPlan,
    current: OwnedState,
    desired: OwnedState,
    calls: { count: number },
  ): Promise<ApplyReport> {
    if (isPlanEmpty(plan)) return reportOf(plan, calls);
    this.#log.debug({ plan: summary(plan) }, 'applying policy changes');
    const staged = stagedSetNames(plan);
    const fail = async (
      failure: { detail: string; step: ApplyStep; command: string },
      undoRules: () => Promise<boolean>,
    ): Promise<never> => {
      const undone = (await undoRules()) && (await this.#destroyExisting(staged, calls));
      // A rejected change may mean the kernel drifted from what we believe: read it next time.
      this.#inKernel = undefined;
      throw new PolicyApplyError(failure.step, failure.command, failure.detail, undone);
    };

    const stage = renderStageScript(plan);
    const commit = renderCommitScript(plan);
    const families = [
      { family: 4 as const, script: renderFamilyScript(plan.v4), from: current.v4, to: desired.v4 },
      { family: 6 as const, script: renderFamilyScript(plan.v6), from: current.v6, to: desired.v6 },
    ].filter((f) => f.script !== '');

    if (families.length === 0) {
      // Members only (a label change): staging and swapping in one `ipset restore`, which stops
      // at its first bad line, so a failure among the staging lines has touched nothing in use.
      const r = await this.#run(calls, 'ipset-stage', 'ipset', ['restore'], stage + commit);
      if (!r.ok) {
        const stageLines = stage.split('\n').length - 1;
        if (r.line !== undefined && r.line <= stageLines) await fail(r, async () => true);
        this.#inKernel = undefined;
        throw new PolicyApplyError('ipset-commit', r.command, r.detail, false);
      }
    } else {
      if (stage !== '') {
        const r = await this.#run(calls, 'ipset-stage', 'ipset', ['restore'], stage);
        if (!r.ok) await fail(r, async () => true);
      }
      // The two tables are independent: their restores run side by side.
      const results = await Promise.all(
        families.map((f) =>
          this.#run(
            calls,
            f.family === 4 ? 'iptables' : 'ip6tables',
            IPTABLES_RESTORE[f.family],
            ['--noflush', '--wait'],
            f.script,
          ),
        ),
      );
      const failed = results.find((r) => !r.ok);
      if (failed !== undefined && !failed.ok) {
        await fail(failed, () =>
          this.#rollBack(
            families.filter((_, i) => results[i]!.ok),
            calls,
          ),
        );
      }
      if (commit !== '') {
        const r = await this.#run(calls, 'ipset-commit', 'ipset', ['restore'], commit);
        if (!r.ok) {
          this.#inKernel = undefined;
          throw new PolicyApplyError(r.step, r.command, r.detail, false);
        }
      }
    }
    this.#inKernel = desired;
    return reportOf(plan, calls);
  }

  /** Puts back the chains and hooks of families whose transaction already went through. */
  async #rollBack(
    done: readonly { family: 4 | 6; from: FamilyState; to: FamilyState }[],
    calls: { count: number },
  ): Promise<boolean> {
    let ok = true;
    for (const f of done) {
      const script = renderFamilyScript(planFamily(f.from, f.to));
      const r = await this.#run(
        calls,
        'iptables',
        IPTABLES_RESTORE[f.family],
        ['--noflush', '--wait'],
        script,
      );
      if (!r.ok) {
        this.#log.error({ detail: r.detail }, 'policy rollback failed');
        ok = false;
      }
    }
    return ok;
  }

  /** Destroys those of `names` that exist (a failed restore stops at its bad line). */
  async #destroyExisting(names: readonly string[], calls: { count: number }): Promise<boolean> {
    if (names.length === 0) return true;
    const list = await this.#run(calls, 'ipset-stage', 'ipset', ['list', '-n']);
    if (!list.ok) return false;
    const present = new Set(list.stdout.split('\n'));
    const script = names.filter((n) => present.has(n)).map((n) => `destroy ${n}\n`);
    if (script.length === 0) return true;
    return (await this.#run(calls, 'ipset-stage', 'ipset', ['restore'], script.join(''))).ok;
  }
}

/** The kernel's chains with any missing base chain added, and the base hooks. */
function withBase(kernel: FamilyState, base: FamilyState): FamilyState {
  const present = new Set(kernel.chains.map((c) => c.name));
  const missing = base.chains.filter((c) => !present.has(c.name));
  return { chains: [...kernel.chains, ...missing].sort(byName), hooks: base.hooks };
}

function reportOf(plan: ApplyPlan, calls: { count: number }): ApplyReport {
  const families = [plan.v4, plan.v6];
  return {
    setsCreated: plan.createSets.map((s) => s.name),
    setsRefilled: plan.refillSets.map((s) => s.name),
    setsDestroyed: [...plan.destroyScratch, ...plan.destroySets],
    chainsWritten: families.flatMap((f) => f.writeChains.map((c) => c.name)),
    chainsDeleted: families.flatMap((f) => f.deleteChains),
    hooksInserted: families.reduce((n, f) => n + f.insertHooks.length, 0),
    hooksDeleted: families.reduce((n, f) => n + f.deleteHooks.length, 0),
    commands: calls.count,
  };
}

function summary(plan: ApplyPlan): Record<string, number> {
  const r = reportOf(plan, { count: 0 });
  return {
    setsCreated: r.setsCreated.length,
    setsRefilled: r.setsRefilled.length,
    setsDestroyed: r.setsDestroyed.length,
    chainsWritten: r.chainsWritten.length,
    chainsDeleted: r.chainsDeleted.length,
    hooksInserted: r.hooksInserted,
    hooksDeleted: r.hooksDeleted,
  };
}
