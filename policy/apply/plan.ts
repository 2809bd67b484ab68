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
  /** Chains absent from the kernel: declared and filled. */
  createChains: ChainState[];
  /**
   * Chains present with other rules. The apply inserts the new rules on top, ahead of a RETURN
   * that leaves the old ones unreachable; the follow-up rewrites the chain without them. (A
   * RETURN ends a user chain exactly as its end does, so the chain means its new rules.)
   */
  rewriteChains: ChainState[];
  /** Our rules in built-in chains that must go: stale, altered or duplicated hooks. */
  deleteHooks: BuiltinRule[];
  /** Hook rules missing from their built-in chain; inserted at the top. */
  insertHooks: BuiltinRule[];
  /** Our chains that are no longer wanted: deleted by the follow-up, when nothing jumps to them. */
  deleteChains: string[];
  /** Sets matched by rules this change retires: the kernel's versions of rewritten and deleted chains. */
  retiredSetRefs: string[];
}

export interface ApplyPlan {
  /** Leftover scratch sets of an interrupted apply; unreferenced, so destroyed first. */
  destroyScratch: string[];
  /** Sets absent from the kernel: created and filled before any rule references them. */
  createSets: SetState[];
  /**
   * Sets whose members differ and that no retired rule matches: filled into a scratch copy and
   * swapped in before the rule transactions. Every chain that matches such a set either stays
   * as it is (to it the swap is what a label change is) or is created by this change (it sees
   * the new members from its first packet on).
   */
  refillSets: SetState[];
  /**
   * Sets whose members differ and that a retired rule matches: swapped in after the rule
   * transactions, so a retired rule never judges with members it was not written for.
   */
  refillAfterRules: SetState[];
  v4: FamilyPlan;
  v6: FamilyPlan;
  /** Sets no longer wanted: destroyed by the follow-up, when no rule of ours references them. */
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
  const refills: SetState[] = [];
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
      refills.push(set);
    }
  });
  const v4 = planFamily(desired.v4, current.v4);
  const v6 = planFamily(desired.v6, current.v6);
  const retired = new Set([...v4.retiredSetRefs, ...v6.retiredSetRefs]);
  return {
    destroyScratch,
    createSets,
    refillSets: refills.filter((s) => !retired.has(s.name)),
    refillAfterRules: refills.filter((s) => retired.has(s.name)),
    v4,
    v6,
    destroySets,
  };
}

export function planFamily(desired: FamilyState, current: FamilyState): FamilyPlan {
  const createChains: ChainState[] = [];
  const rewriteChains: ChainState[] = [];
  const deleteChains: string[] = [];
  const retiredSetRefs = new Set<string>();
  const retire = (chain: ChainState) => {
    for (const rule of chain.rules) for (const m of rule.matchAll(MATCH_SET)) retiredSetRefs.add(m[1]!);
  };
  diffByName(desired.chains, current.chains, (want, have) => {
    if (want === undefined) {
      deleteChains.push(have!.name);
      retire(have!);
    } else if (have === undefined) {
      createChains.push(want);
    } else if (!sameList(have.rules, want.rules)) {
      rewriteChains.push(want);
      retire(have);
    }
  });
  // Hooks are a multiset: each wanted hook keeps one identical kernel rule, the rest go.
  const unmatched = [...desired.hooks];
  const deleteHooks: BuiltinRule[] = [];
  for (const hook of current.hooks) {
    const at = unmatched.findIndex((h) => h.chain === hook.chain && h.rule === hook.rule);
    if (at >= 0) unmatched.splice(at, 1);
    else deleteHooks.push(hook);
  }
  return {
    createChains,
    rewriteChains,
    deleteHooks,
    insertHooks: unmatched,
    deleteChains,
    retiredSetRefs: [...retiredSetRefs].sort(),
  };
}

const MATCH_SET = /--match-set (\S+)/g;

/** Resync's decision: what repairs the kernel back to the last applied ruleset. */
export function planRepair(expected: RenderedPolicy, kernelSave: KernelSave): ApplyPlan {
  return planChanges(stateOfRendered(expected), stateOfKernel(kernelSave));
}

/** Everything of ours goes: hooks, chains, sets. */
export function planFlush(current: OwnedState): ApplyPlan {
  return planChanges(EMPTY_STATE, current);
}

/** Every set whose members this plan changes, swapped early or late: each gets a scratch copy. */
export function changedSets(plan: ApplyPlan): SetState[] {
  return [...plan.refillSets, ...plan.refillAfterRules];
}

export function isFamilyPlanEmpty(p: FamilyPlan): boolean {
  return (
    p.createChains.length +
      p.rewriteChains.length +
      p.deleteHooks.length +
      p.insertHooks.length +
      p.deleteChains.length ===
    0
  );
}

export function isPlanEmpty(p: ApplyPlan): boolean {
  return (
    p.destroyScratch.length +
      p.createSets.length +
      p.refillSets.length +
      p.refillAfterRules.length +
      p.destroySets.length ===
      0 &&
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
 * Wave 1 (`ipset restore`): destroys leftover scratch sets, creates and fills new sets and the
 * scratch copies of every changed set, then swaps in the `refillSets` (see there). The staging
 * lines (`stagingLineCount`) touch nothing a rule uses; after a failure there, destroying what
 * they created undoes them, and a swap is undone by swapping back with the scratch copy, which
 * holds the old members until the follow-up destroys it.
 */
export function renderStageScript(plan: ApplyPlan): string {
  const lines = plan.destroyScratch.map((name) => `destroy ${name}`);
  for (const set of plan.createSets) {
    lines.push(createLine(set, set.name));
    for (const entry of set.entries) lines.push(`add ${set.name} ${entry}`);
  }
  for (const set of changedSets(plan)) {
    const scratch = scratchNameOf(set.name);
    lines.push(createLine(set, scratch));
    for (const entry of set.entries) lines.push(`add ${scratch} ${entry}`);
  }
  lines.push(...swapLines(plan.refillSets));
  return scriptOf(lines);
}

/** How many lines of `renderStageScript` come before its swaps. */
export function stagingLineCount(plan: ApplyPlan): number {
  const members = (sets: readonly SetState[]) => sets.reduce((n, s) => n + 1 + s.entries.length, 0);
  return plan.destroyScratch.length + members(plan.createSets) + members(changedSets(plan));
}

/** Names `renderStageScript` creates, for undoing a failed apply. */
export function stagedSetNames(plan: ApplyPlan): string[] {
  return [...plan.createSets.map((s) => s.name), ...changedSets(plan).map((s) => scratchNameOf(s.name))];
}

/** Swapping the scratch copies back in restores the old members of swapped sets. */
export function renderUnswapScript(swapped: readonly SetState[]): string {
  return scriptOf(swapLines(swapped));
}

/**
 * Wave 2 (`iptables-restore --noflush`), one transaction per family, additions only: new
 * chains, the new rules of rewritten chains on top of a RETURN that shadows their old rules,
 * hook changes. Nothing our rules use is deleted here: on nft every rule or chain deletion
 * makes the restoring process wait for an RCU grace period when it closes its netlink socket
 * (~10 ms here, measured), so deletions go to the follow-up (`renderFollowUpFamilyScript`).
 */
export function renderFamilyScript(p: FamilyPlan): string {
  if (p.createChains.length + p.rewriteChains.length + p.deleteHooks.length + p.insertHooks.length === 0)
    return '';
  const lines = ['*filter'];
  for (const c of p.createChains) lines.push(`:${c.name} - [0:0]`);
  for (const c of p.createChains) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
  for (const c of p.rewriteChains) {
    c.rules.forEach((r, i) => {
      lines.push(`-I ${c.name} ${i + 1} ${r}`);
    });
    lines.push(`-I ${c.name} ${c.rules.length + 1} ${SHADOW_RETURN}`);
  }
  pushHookLines(lines, p);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Ends the new rules of a rewritten chain until the follow-up removes the old ones below it. */
export const SHADOW_RETURN = '-m comment --comment trl-superseded-below -j RETURN';

/** Wave 3 (`ipset restore`), after the rule transactions: swaps in the `refillAfterRules`. */
export function renderLateSwapScript(plan: ApplyPlan): string {
  return scriptOf(swapLines(plan.refillAfterRules));
}

/**
 * The follow-up's rule transaction per family: rewrites each rewritten chain as exactly its
 * new rules (dropping the shadowed ones; the same chain meaning, so no packet sees a change),
 * then flushes and deletes stale chains, which no rule of ours reaches any more.
 */
export function renderFollowUpFamilyScript(p: FamilyPlan): string {
  return renderReplaceScript({ ...p, createChains: [], deleteHooks: [], insertHooks: [] });
}

/** The follow-up's `ipset restore`: scratch copies and stale sets, which nothing references now. */
export function renderFollowUpSetScript(plan: ApplyPlan): string {
  return scriptOf([
    ...changedSets(plan).map((s) => `destroy ${scratchNameOf(s.name)}`),
    ...plan.destroySets.map((name) => `destroy ${name}`),
  ]);
}

/**
 * One transaction that makes a family's chains and hooks exactly as planned, chains rewritten
 * by flushing them: undoing a family whose transaction went through (with the reverse plan),
 * and the follow-up.
 */
export function renderReplaceScript(p: FamilyPlan): string {
  if (isFamilyPlanEmpty(p)) return '';
  const writes = [...p.createChains, ...p.rewriteChains];
  const lines = ['*filter'];
  // Declaring a chain creates it or flushes it; stale chains are flushed so -X finds them empty.
  for (const c of writes) lines.push(`:${c.name} - [0:0]`);
  for (const name of p.deleteChains) lines.push(`:${name} - [0:0]`);
  for (const c of writes) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
  pushHookLines(lines, p);
  for (const name of p.deleteChains) lines.push(`-X ${name}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

function pushHookLines(lines: string[], p: FamilyPlan): void {
  for (const h of p.deleteHooks) lines.push(`-D ${h.chain} ${h.rule}`);
  // Inserted in reverse so several hooks of one chain end up in their rendered order.
  for (const h of [...p.insertHooks].reverse()) lines.push(`-I ${h.chain} 1 ${h.rule}`);
}

function swapLines(sets: readonly SetState[]): string[] {
  return sets.map((s) => `swap ${scratchNameOf(s.name)} ${s.name}`);
}

function scriptOf(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
