// The I/O edge of policy: puts a RenderedPolicy into the kernel of the current (or a given)
// network namespace, atomically and incrementally, and keeps it there.
//
// An apply waits for as few process waves as the ordering rules allow: (1) `ipset restore`
// creating new sets and scratch copies of changed sets, then swapping in those no retired rule
// matches; (2) one `iptables-restore --noflush --wait` transaction per family, side by side,
// that only adds (new chains, new rules shadowing the old ones of a rewritten chain, hooks);
// (3) only if a retired rule matches a changed set, `ipset restore` swapping that one in. When
// (2) has nothing to do, (1) is the whole apply. The call resolves then: the new ruleset is in
// force. A follow-up step, queued so that the next call waits for it, removes what nothing
// uses any more (shadowed rules, stale chains, then scratch and stale sets): deletions make an
// nft commit wait for an RCU grace period, and no ordering needs them before the new rules.
// A set is thus never referenced before it exists (1 before 2) nor destroyed while a rule of
// ours references it (the follow-up's rule transaction before its destroys).
//
// A failure at (1) or (2) is undone (swaps swapped back, staged sets destroyed, a family whose
// transaction went through rolled back when the other fails) and leaves the previous ruleset
// in force. A failed follow-up is logged; the new ruleset stays in force and the next call
// reads the kernel and repairs it. resync, flush and ensureFailClosed run their follow-up
// before they resolve, so they leave nothing behind. Calls are serialized: a resync timer
// cannot interleave with an apply.
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
  changedSets,
  isPlanEmpty,
  planChanges,
  planFamily,
  planFlush,
  renderFamilyScript,
  renderFollowUpFamilyScript,
  renderFollowUpSetScript,
  renderLateSwapScript,
  renderReplaceScript,
  renderStageScript,
  renderUnswapScript,
  stagedSetNames,
  stagingLineCount,
} from './plan.js';
import { type CommandRunner, execaRunner, inNetns } from './runner.js';
import {
  byName,
  EMPTY_STATE,
  type FamilyState,
  isScratchSet,
  type OwnedState,
  type SetState,
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

/**
 * What one call changed, by name, and how many processes it started. After an apply, the
 * chains and sets it lists as deleted or destroyed go in its follow-up, whose processes are
 * not counted (see `settled`).
 */
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

type Calls = { count: number };

/** What a call's waves leave for afterwards; throws a PolicyApplyError (step `follow-up`). */
type FollowUp = () => Promise<void>;

interface Executed {
  plan: ApplyPlan;
  followUp: FollowUp | undefined;
}

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
      const report = await this.#executeFully(planChanges(wanted, kernel), kernel, wanted, calls);
      this.#expected = wanted;
      return { report };
    });
  }

  /**
   * Makes the kernel hold exactly `rendered` (of ours); only what differs is written. Resolves
   * when the new ruleset is in force; its follow-up (removing what it no longer uses) runs
   * right after, and the next call starts when that is done.
   */
  apply(rendered: RenderedPolicy): Promise<ApplyReport> {
    return this.#serialized(async (calls) => {
      const current = this.#inKernel ?? (await this.#readKernel(calls));
      const desired = stateOfRendered(rendered);
      const { plan, followUp } = await this.#execute(planChanges(desired, current), current, desired, calls);
      this.#expected = desired;
      this.#lastApplied = rendered;
      return { report: reportOf(plan, calls), followUp };
    });
  }

  /**
   * Reads the kernel and repairs whatever differs from the last applied ruleset: clobbered,
   * missing or extra rules in our chains, missing hooks, set members, stray sets and chains.
   */
  resync(): Promise<ApplyReport> {
    return this.#serialized(async (calls) => {
      const expected = this.#expected;
      if (expected === undefined) return { report: reportOf(planChanges(EMPTY_STATE, EMPTY_STATE), calls) };
      const kernel = await this.#readKernel(calls);
      const plan = planChanges(expected, kernel);
      if (!isPlanEmpty(plan)) this.#log.warn({ repair: summary(plan) }, 'policy resync repairs kernel state');
      return { report: await this.#executeFully(plan, kernel, expected, calls) };
    });
  }

  /** Removes every hook, chain and set of ours from the kernel; a no-op when there are none. */
  flush(): Promise<ApplyReport> {
    return this.#serialized(async (calls) => {
      const kernel = await this.#readKernel(calls);
      const report = await this.#executeFully(planFlush(kernel), kernel, EMPTY_STATE, calls);
      this.#expected = undefined;
      this.#lastApplied = undefined;
      return { report };
    });
  }

  /** Resolves when every call so far and the follow-up of the last apply are done. */
  async settled(): Promise<void> {
    await this.#queue;
  }

  #serialized(work: (calls: Calls) => Promise<{ report: ApplyReport; followUp?: FollowUp | undefined }>) {
    const outcome = this.#queue.then(() => work({ count: 0 }));
    this.#queue = outcome.then(
      async ({ followUp }) => {
        if (followUp === undefined) return;
        // Started once the caller has taken its report: spawning costs this thread a few ms.
        await new Promise((resolve) => setImmediate(resolve));
        try {
          await followUp();
        } catch (err) {
          this.#log.error(
            { err: err instanceof Error ? err.message : String(err) },
            'policy follow-up failed; the new ruleset is in force, the next call re-reads the kernel',
          );
        }
      },
      () => undefined,
    );
    return outcome.then(({ report }) => report);
  }

  async #run(
    calls: Calls,
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

  /** One `iptables-restore` transaction; its step is the family's unless it is the follow-up's. */
  #restore(calls: Calls, family: 4 | 6, script: string, step?: 'follow-up') {
    const named = step ?? (family === 4 ? 'iptables' : 'ip6tables');
    return this.#run(calls, named, IPTABLES_RESTORE[family], ['--noflush', '--wait'], script);
  }

  async #readKernel(calls: Calls): Promise<OwnedState> {
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

  /** Runs a plan and its follow-up; the report counts the processes of both. */
  async #executeFully(plan: ApplyPlan, current: OwnedState, desired: OwnedState, calls: Calls) {
    const { followUp } = await this.#execute(plan, current, desired, calls);
    await followUp?.();
    return reportOf(plan, calls);
  }

  /**
   * Runs a plan's waves; when it resolves, the kernel enforces `desired`, and what is left to
   * remove is in the returned follow-up. On failure see PolicyApplyError.
   */
  async #execute(plan: ApplyPlan, current: OwnedState, desired: OwnedState, calls: Calls): Promise<Executed> {
    if (isPlanEmpty(plan)) return { plan, followUp: undefined };
    this.#log.debug({ plan: summary(plan) }, 'applying policy changes');
    // Unknown until the waves and the follow-up are through; a failure leaves it unknown.
    this.#inKernel = undefined;
    const failed = async (
      failure: { detail: string; step: ApplyStep; command: string },
      undo: () => Promise<boolean>,
    ): Promise<never> => {
      throw new PolicyApplyError(failure.step, failure.command, failure.detail, await undo());
    };

    const stage = renderStageScript(plan);
    const staging = stagingLineCount(plan);
    const families = [
      { family: 4 as const, script: renderFamilyScript(plan.v4), from: current.v4, to: desired.v4 },
      { family: 6 as const, script: renderFamilyScript(plan.v6), from: current.v6, to: desired.v6 },
    ].filter((f) => f.script !== '');
    const cleanups = [
      { family: 4 as const, script: renderFollowUpFamilyScript(plan.v4) },
      { family: 6 as const, script: renderFollowUpFamilyScript(plan.v6) },
    ].filter((f) => f.script !== '');
    const setCleanup = renderFollowUpSetScript(plan);

    if (families.length === 0) {
      // No rule transaction: the retired rules (of chains only the follow-up deletes) are as
      // live before the swaps as after, so all swaps go in this one process; and with no chain
      // to delete first, so do the follow-up's destroys. `ipset restore` stops at its first bad
      // line, so the line it names says how far it got.
      const swaps = changedSets(plan);
      const inline = cleanups.length === 0 ? setCleanup : '';
      const r = await this.#run(
        calls,
        'ipset-stage',
        'ipset',
        ['restore'],
        stage + renderLateSwapScript(plan) + inline,
      );
      if (!r.ok) {
        if (r.line === undefined) throw new PolicyApplyError('ipset-stage', r.command, r.detail, false);
        if (r.line <= staging + swaps.length) {
          const swapped = swaps.slice(0, Math.max(0, r.line - staging - 1));
          await failed(r, () => this.#undoStage(plan, swapped, calls));
        }
        // Only the follow-up's destroys failed: the new ruleset is in force; report it as the
        // follow-up's failure (logged after an apply, thrown by resync and flush).
        const failure = new PolicyApplyError('follow-up', r.command, r.detail, false);
        return {
          plan,
          followUp: () => Promise.reject(failure),
        };
      }
      if (cleanups.length === 0) {
        this.#inKernel = desired;
        return { plan, followUp: undefined };
      }
    } else {
      if (stage !== '') {
        const r = await this.#run(calls, 'ipset-stage', 'ipset', ['restore'], stage);
        if (!r.ok) {
          if (r.line === undefined) throw new PolicyApplyError(r.step, r.command, r.detail, false);
          const swapped = plan.refillSets.slice(0, Math.max(0, r.line - staging - 1));
          await failed(r, () => this.#undoStage(plan, swapped, calls));
        }
      }
      // The two tables are independent: their restores run side by side.
      const results = await Promise.all(families.map((f) => this.#restore(calls, f.family, f.script)));
      const failure = results.find((r) => !r.ok);
      if (failure !== undefined && !failure.ok) {
        await failed(failure, async () => {
          const rolledBack = await this.#rollBack(
            families.filter((_, i) => results[i]!.ok),
            calls,
          );
          return (await this.#undoStage(plan, plan.refillSets, calls)) && rolledBack;
        });
      }
      const late = renderLateSwapScript(plan);
      if (late !== '') {
        const r = await this.#run(calls, 'ipset-commit', 'ipset', ['restore'], late);
        if (!r.ok) throw new PolicyApplyError(r.step, r.command, r.detail, false);
      }
    }
    const followUp = async () => {
      const results = await Promise.all(
        cleanups.map((f) => this.#restore(calls, f.family, f.script, 'follow-up')),
      );
      for (const r of results) if (!r.ok) throw new PolicyApplyError('follow-up', r.command, r.detail, false);
      if (setCleanup !== '') {
        const r = await this.#run(calls, 'follow-up', 'ipset', ['restore'], setCleanup);
        if (!r.ok) throw new PolicyApplyError('follow-up', r.command, r.detail, false);
      }
      this.#inKernel = desired;
    };
    return { plan, followUp };
  }

  /** Puts back the chains and hooks of families whose transaction already went through. */
  async #rollBack(done: readonly { family: 4 | 6; from: FamilyState; to: FamilyState }[], calls: Calls) {
    let ok = true;
    for (const f of done) {
      const r = await this.#restore(calls, f.family, renderReplaceScript(planFamily(f.from, f.to)));
      if (!r.ok) {
        this.#log.error({ detail: r.detail }, 'policy rollback failed');
        ok = false;
      }
    }
    return ok;
  }

  /**
   * Undoes wave 1 once no new rule uses what it made: swaps `swapped` back, destroys those
   * staged sets that exist (a failed restore stops at its bad line).
   */
  async #undoStage(plan: ApplyPlan, swapped: readonly SetState[], calls: Calls): Promise<boolean> {
    const list = await this.#run(calls, 'ipset-stage', 'ipset', ['list', '-n']);
    if (!list.ok) return false;
    const present = new Set(list.stdout.split('\n'));
    const destroy = stagedSetNames(plan)
      .filter((n) => present.has(n))
      .map((n) => `destroy ${n}\n`);
    const script = renderUnswapScript(swapped) + destroy.join('');
    return script === '' || (await this.#run(calls, 'ipset-stage', 'ipset', ['restore'], script)).ok;
  }
}

/** The kernel's chains with any missing base chain added, and the base hooks. */
function withBase(kernel: FamilyState, base: FamilyState): FamilyState {
  const present = new Set(kernel.chains.map((c) => c.name));
  const missing = base.chains.filter((c) => !present.has(c.name));
  return { chains: [...kernel.chains, ...missing].sort(byName), hooks: base.hooks };
}

function reportOf(plan: ApplyPlan, calls: Calls): ApplyReport {
  const families = [plan.v4, plan.v6];
  return {
    setsCreated: plan.createSets.map((s) => s.name),
    setsRefilled: changedSets(plan)
      .map((s) => s.name)
      .sort(),
    setsDestroyed: [...plan.destroyScratch, ...plan.destroySets],
    chainsWritten: families.flatMap((f) => [...f.createChains, ...f.rewriteChains].map((c) => c.name).sort()),
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
