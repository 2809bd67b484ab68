// Removing lab runs whose owner cannot do it any more: the owner was SIGKILLed, the machine ran
// a lab detached (`trellis lab up`), or a state file went missing and only namespaces remain.
import { existsSync } from 'node:fs';
import { runCommand } from './commands.js';
import { performAsync } from './effects.js';
import { LabStateError } from './errors.js';
import { parseMarker, prefixOfNamespace, validatePrefix } from './names.js';
import { isRunning } from './proc.js';
import { findOpenLab } from './registry.js';
import {
  DEFAULT_STATE_DIR,
  type LabState,
  listStatePaths,
  readState,
  removeState,
  statePath,
  validateStateDir,
} from './state.js';
import { DEFAULT_GRACE_MS, isClean, listNamespaces, removeRun } from './teardown.js';

export interface CleanupOptions {
  /** Default /run/trellis-lab. */
  stateDir?: string;
  /** SIGTERM-to-SIGKILL grace for tracked processes; default 1000 ms. */
  graceMs?: number;
}

export interface CleanupReport {
  /** Prefixes of the runs removed. */
  removed: string[];
  /** Namespaces removed that no state file accounted for. */
  orphans: string[];
  /** Runs left alone, with the reason (owner alive, detached, unreadable state). */
  kept: Array<{ path: string; reason: string }>;
  /** Runs whose removal left something behind; their state files are kept for a retry. */
  incomplete: Array<{ prefix: string; namespaces: string[]; pids: number[] }>;
}

function emptyReport(): CleanupReport {
  return { removed: [], orphans: [], kept: [], incomplete: [] };
}

type Selection = 'stale' | 'all';

/** Removes every run whose owner process is dead, plus orphaned lab namespaces. */
export function cleanupStale(opts: CleanupOptions = {}): Promise<CleanupReport> {
  return cleanupRuns('stale', opts);
}

/**
 * Removes every run that no live process owns: stale runs, detached labs and orphaned lab
 * namespaces. Runs owned by a live process (another test run, say) are left alone.
 */
export function cleanupAll(opts: CleanupOptions = {}): Promise<CleanupReport> {
  return cleanupRuns('all', opts);
}

/**
 * Removes one run by prefix, whoever owns it: its state file's processes and namespaces, and
 * any namespace named `<prefix>-*` even when no state file exists.
 */
export async function cleanupByPrefix(prefix: string, opts: CleanupOptions = {}): Promise<CleanupReport> {
  validatePrefix(prefix);
  const stateDir = validateStateDir(opts.stateDir ?? DEFAULT_STATE_DIR);
  const path = statePath(stateDir, prefix);
  const report = emptyReport();
  const open = findOpenLab(path);
  if (open !== undefined) {
    await open.teardown();
    report.removed.push(prefix);
    return report;
  }
  let state: LabState | undefined;
  try {
    state = existsSync(path) ? readState(path) : undefined;
  } catch (err) {
    // An unreadable state file cannot name processes, but the namespaces are found by name.
    if (!(err instanceof LabStateError)) throw err;
  }
  await removeOne(prefix, path, state, opts, report);
  return report;
}

/** `trellis lab down [prefix]`: one run by prefix, or every run no live process owns. */
export function labDown(prefix?: string, opts: CleanupOptions = {}): Promise<CleanupReport> {
  return prefix === undefined ? cleanupAll(opts) : cleanupByPrefix(prefix, opts);
}

async function cleanupRuns(selection: Selection, opts: CleanupOptions): Promise<CleanupReport> {
  const stateDir = validateStateDir(opts.stateDir ?? DEFAULT_STATE_DIR);
  const report = emptyReport();
  // Namespaces are listed BEFORE state files: a lab writes its state file before creating a
  // namespace and removes it after deleting them all, so any namespace seen here whose state
  // file is missing below really is an orphan (or already gone).
  const namespaces = listNamespaces();
  for (const path of listStatePaths(stateDir)) {
    let state: LabState;
    try {
      state = readState(path);
    } catch (err) {
      if (!(err instanceof LabStateError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (err instanceof LabStateError) report.kept.push({ path, reason: err.message });
      continue;
    }
    const reason = keepReason(state, selection);
    if (reason !== undefined) {
      report.kept.push({ path, reason });
      continue;
    }
    await removeOne(state.prefix, path, state, opts, report);
  }
  report.orphans = await removeOrphans(namespaces, stateDir, opts);
  return report;
}

function keepReason(state: LabState, selection: Selection): string | undefined {
  if (state.owner === null) return selection === 'all' ? undefined : 'detached lab';
  return isRunning(state.owner) ? `owner pid ${state.owner.pid} is alive` : undefined;
}

/**
 * Removes one run (state file, its processes, its namespaces and any `<prefix>-*` namespace)
 * and records the outcome; a run with nothing left to remove is not reported.
 */
async function removeOne(
  prefix: string,
  path: string,
  state: LabState | undefined,
  opts: CleanupOptions,
  report: CleanupReport,
): Promise<void> {
  const byName = listNamespaces().filter((ns) => prefixOfNamespace(ns) === prefix);
  const namespaces = [...new Set([...(state?.namespaces ?? []), ...byName])];
  const processes = state?.processes ?? [];
  if (namespaces.length === 0 && processes.length === 0 && !existsSync(path)) return;
  const removal = await performAsync(removeRun(namespaces, processes, opts.graceMs ?? DEFAULT_GRACE_MS));
  if (isClean(removal)) {
    removeState(path);
    report.removed.push(prefix);
  } else {
    report.incomplete.push({
      prefix,
      namespaces: removal.namespaces,
      pids: removal.processes.map((p) => p.pid),
    });
  }
}

/**
 * Deletes lab namespaces whose state file no longer exists. A namespace counts as a lab's only
 * if its name fits the prefix scheme AND its loopback alias names a state file: names alone
 * could match namespaces that other tools created.
 */
async function removeOrphans(
  namespaces: readonly string[],
  stateDir: string,
  opts: CleanupOptions,
): Promise<string[]> {
  // A namespace whose prefix has a state file here is accounted for; reading markers costs an
  // ip process per namespace, so only the rest are read (in parallel).
  const candidates = namespaces.filter((ns) => {
    const prefix = prefixOfNamespace(ns);
    return prefix !== undefined && !existsSync(statePath(stateDir, prefix));
  });
  const markers = await Promise.all(candidates.map(readMarker));
  const orphans = candidates.filter((_, i) => {
    const marker = markers[i];
    return marker !== undefined && !existsSync(marker);
  });
  if (orphans.length === 0) return [];
  const removal = await performAsync(removeRun(orphans, [], opts.graceMs ?? DEFAULT_GRACE_MS));
  return orphans.filter((ns) => !removal.namespaces.includes(ns));
}

/** The state file named by the namespace's loopback alias, if it carries a lab marker. */
async function readMarker(ns: string): Promise<string | undefined> {
  const r = await runCommand('ip', ['-n', ns, '-j', 'link', 'show', 'dev', 'lo'], { allowFailure: true, ns });
  if (r.exitCode !== 0) return undefined;
  try {
    const links = JSON.parse(r.stdout) as Array<{ ifalias?: unknown }>;
    const alias = links[0]?.ifalias;
    return typeof alias === 'string' ? parseMarker(alias) : undefined;
  } catch {
    return undefined;
  }
}
