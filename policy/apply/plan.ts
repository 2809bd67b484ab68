// The applier's decisions, pure: which sets, chains and hook rules must change to turn one
// OwnedState into another, and the `ipset restore` / `iptables-restore --noflush` scripts that
// do it. The same planner serves a normal apply (desired vs last applied or kernel), a resync
// (last applied vs kernel: `planRepair`), a flush (nothing vs kernel) and a rollback (the old
// family state vs the new one).
import { compareText } from '../ir.js';
import { ipsetCreateOptions, type RenderedPolicy } from '../render.js';
import { PolicyApplyError } from './errors.js';
import {
  type BuiltinRule,
  type ChainState,
  EMPTY_STATE,
  type FamilyState,
  isScratchSet,
  type KernelSave,
  type OwnedState,
  type SetState,
  sameList,
  sameMembers,
  stateOfKernel,
  stateOfRendered,
} from './state.js';

export interface FamilyPlan {
  /** New or changed chains: declared (which flushes them) and filled in one transaction. */
  writeChains: ChainState[];
  /** Our rules in built-in chains that must go: stale, altered or duplicated hooks. */
  deleteHooks: BuiltinRule[];
  /** Hook rules missing from their built-in chain; inserted at the top. */
  insertHooks: BuiltinRule[];
  /** Our chains that are no longer wanted (after the rules that referenced them are gone). */
  deleteChains: string[];
}

export interface ApplyPlan {
  /** Leftover scratch sets of an interrupted apply; unreferenced, so destroyed first. */
  destroyScratch: string[];
  /** Sets absent from the kernel: created and filled before any rule references them. */
  createSets: SetState[];
  /** Sets whose members differ: a scratch copy is filled first and swapped in after the rules. */
  refillSets: SetState[];
  v4: FamilyPlan;
  v6: FamilyPlan;
  /** Sets no longer wanted: destroyed last, when no rule of ours references them. */
  destroySets: string[];
}

/**
 * Walks two name-sorted lists together and calls `visit` once per name with the entry of each
 * side (undefined where a side lacks it). Entries that are the same object (what the
 * incremental renderer reused since the last apply) are passed over without a call, so diffing
 * two renders costs a pointer comparison per unchanged chain or set.
 */
function diffByName<T extends { name: string }>(
  desired: readonly T[],
  current: readonly T[],
  visit: (want: T | undefined, have: T | undefined) => void,
): void {
  let i = 0;
  let j = 0;
  assertSortedByName(desired);
  while (i < desired.length || j < current.length) {
    const want = desired[i];
    const have = current[j];
    if (want !== undefined && want === have) {
      i++;
      j++;
      continue;
    }
    const order = want === undefined ? 1 : have === undefined ? -1 : compareText(want.name, have.name);
    if (order < 0) {
      visit(want, undefined);
      i++;
    } else if (order > 0) {
      visit(undefined, have);
      j++;
    } else {
      visit(want, have);
      i++;
      j++;
    }
  }
}

/** The walk relies on it; a hand-built RenderedPolicy might not be. */
function assertSortedByName(list: readonly { name: string }[]): void {
  for (let i = 1; i < list.length; i++) {
    if (compareText(list[i - 1]!.name, list[i]!.name) >= 0) {
      throw new PolicyApplyError(
        'plan',
        'plan',
        `${list[i]!.name} follows ${list[i - 1]!.name}: chains and sets must be sorted by name, once each`,
        true,
      );
    }
  }
}

/** The changes that turn `current` into `desired`; every list is sorted or in kernel order. */
export function planChanges(desired: OwnedState, current: OwnedState): ApplyPlan {
  const createSets: SetState[] = [];
  const refillSets: SetState[] = [];
  const destroyScratch: string[] = [];
  const destroySets: string[] = [];
  diffByName(desired.sets, current.sets, (set, existing) => {
    if (set === undefined) {
      if (isScratchSet(existing!.name)) destroyScratch.push(existing!.name);
      else destroySets.push(existing!.name);
    } else if (existing === undefined) {
      createSets.push(set);
    } else if (existing.type !== set.type || existing.family !== set.family) {
      // Sets of different types cannot be swapped, and a set cannot be destroyed while rules
      // reference it; the name is a hash of the definition, so only a foreign hand gets here.
      throw new PolicyApplyError(
        'plan',
        'ipset',
        `set ${set.name} exists as ${existing.type} family ${existing.family}, want ${set.type} family ${set.family}; run \`trellis policy flush\``,
        true,
      );
    } else if (!sameMembers(existing, set)) {
      refillSets.push(set);
    }
  });
  return {
    destroyScratch,
    createSets,
    refillSets,
    v4: planFamily(desired.v4, current.v4),
    v6: planFamily(desired.v6, current.v6),
    destroySets,
  };
}

export function planFamily(desired: FamilyState, current: FamilyState): FamilyPlan {
  const writeChains: ChainState[] = [];
  const deleteChains: string[] = [];
  diffByName(desired.chains, current.chains, (want, have) => {
    if (want === undefined) deleteChains.push(have!.name);
    else if (have === undefined || !sameList(have.rules, want.rules)) writeChains.push(want);
  });
  // Hooks are a multiset: each wanted hook keeps one identical kernel rule, the rest go.
  const unmatched = [...desired.hooks];
  const deleteHooks: BuiltinRule[] = [];
  for (const hook of current.hooks) {
    const at = unmatched.findIndex((h) => h.chain === hook.chain && h.rule === hook.rule);
    if (at >= 0) unmatched.splice(at, 1);
    else deleteHooks.push(hook);
  }
  return { writeChains, deleteHooks, insertHooks: unmatched, deleteChains };
}

/** Resync's decision: what repairs the kernel back to the last applied ruleset. */
export function planRepair(expected: RenderedPolicy, kernelSave: KernelSave): ApplyPlan {
  return planChanges(stateOfRendered(expected), stateOfKernel(kernelSave));
}

/** Everything of ours goes: hooks, chains, sets. */
export function planFlush(current: OwnedState): ApplyPlan {
  return planChanges(EMPTY_STATE, current);
}

export function isFamilyPlanEmpty(p: FamilyPlan): boolean {
  return p.writeChains.length + p.deleteHooks.length + p.insertHooks.length + p.deleteChains.length === 0;
}

export function isPlanEmpty(p: ApplyPlan): boolean {
  return (
    p.destroyScratch.length + p.createSets.length + p.refillSets.length + p.destroySets.length === 0 &&
    isFamilyPlanEmpty(p.v4) &&
    isFamilyPlanEmpty(p.v6)
  );
}

/** The scratch set a refill goes through: `trl4p-<hash>` -> `trl4t-<hash>` (as the renderer names it). */
export function scratchNameOf(name: string): string {
  return name.replace(/^(trl[46])[a-z]-/, '$1t-');
}

function createLine(set: SetState, name: string): string {
  return `create ${name} ${ipsetCreateOptions(set.type, set.family)}`;
}

/**
 * Step 1 (`ipset restore`): touches nothing a live rule uses. Creates and fills new sets and the
 * scratch copies of changed sets; if it fails midway, destroying what it created undoes it.
 */
export function renderStageScript(plan: ApplyPlan): string {
  const lines = plan.destroyScratch.map((name) => `destroy ${name}`);
  for (const set of plan.createSets) {
    lines.push(createLine(set, set.name));
    for (const entry of set.entries) lines.push(`add ${set.name} ${entry}`);
  }
  for (const set of plan.refillSets) {
    const scratch = scratchNameOf(set.name);
    lines.push(createLine(set, scratch));
    for (const entry of set.entries) lines.push(`add ${scratch} ${entry}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Names `renderStageScript` creates, for undoing a failed apply. */
export function stagedSetNames(plan: ApplyPlan): string[] {
  return [...plan.createSets.map((s) => s.name), ...plan.refillSets.map((s) => scratchNameOf(s.name))];
}

/**
 * Step 2 (`iptables-restore --noflush`), one transaction per family: chains, then hooks, then
 * stale chains, so either all of it is in force or none of it.
 */
export function renderFamilyScript(p: FamilyPlan): string {
  if (isFamilyPlanEmpty(p)) return '';
  const lines = ['*filter'];
  // Declaring a chain creates it or flushes it; stale chains are flushed so -X finds them empty.
  for (const c of p.writeChains) lines.push(`:${c.name} - [0:0]`);
  for (const name of p.deleteChains) lines.push(`:${name} - [0:0]`);
  for (const c of p.writeChains) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
  for (const h of p.deleteHooks) lines.push(`-D ${h.chain} ${h.rule}`);
  // Inserted in reverse so several hooks of one chain end up in their rendered order.
  for (const h of [...p.insertHooks].reverse()) lines.push(`-I ${h.chain} 1 ${h.rule}`);
  for (const name of p.deleteChains) lines.push(`-X ${name}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Step 3 (`ipset restore`), after the rules are in force: swap changed sets in, drop stale ones. */
export function renderCommitScript(plan: ApplyPlan): string {
  const lines: string[] = [];
  for (const set of plan.refillSets) {
    const scratch = scratchNameOf(set.name);
    lines.push(`swap ${scratch} ${set.name}`, `destroy ${scratch}`);
  }
  for (const name of plan.destroySets) lines.push(`destroy ${name}`);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
