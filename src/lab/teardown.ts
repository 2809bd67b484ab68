// The steps that remove a lab run, written once as effect procedures (see effects.ts) so the
// same code serves Lab.teardown, the synchronous exit handler and stale-run cleanup.
import { existsSync, readdirSync } from 'node:fs';
import { type Procedure, run, sleep } from './effects.js';
import { identify, isRunning, type ProcessIdentity, signalGroup, signalPid } from './proc.js';

const NETNS_DIR = '/run/netns';
const POLL_MS = 20;
/** How long to wait for SIGKILLed processes to disappear before reporting them. */
const KILL_WAIT_MS = 2000;
/** Processes inside a namespace can fork while we kill them; a few sweeps settle it. */
const NETNS_KILL_ROUNDS = 3;

export const DEFAULT_GRACE_MS = 1000;

/** Names of all named network namespaces (`ip netns list` without spawning ip). */
export function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function namespaceExists(ns: string): boolean {
  return existsSync(`${NETNS_DIR}/${ns}`);
}

function* waitUntilGone(procs: readonly ProcessIdentity[], ms: number): Procedure<ProcessIdentity[]> {
  const deadline = Date.now() + ms;
  let alive = procs.filter(isRunning);
  while (alive.length > 0 && Date.now() < deadline) {
    yield* sleep(POLL_MS);
    alive = alive.filter(isRunning);
  }
  return alive;
}

/**
 * SIGTERM to each process group, SIGKILL to whatever is left after `graceMs`.
 * Returns the processes that survived even SIGKILL (e.g. stuck in uninterruptible sleep).
 */
export function* stopProcesses(
  procs: readonly ProcessIdentity[],
  graceMs: number,
): Procedure<ProcessIdentity[]> {
  const running = procs.filter(isRunning);
  if (running.length === 0) return [];
  for (const p of running) signalGroup(p, 'SIGTERM');
  const stubborn = yield* waitUntilGone(running, graceMs);
  for (const p of stubborn) signalGroup(p, 'SIGKILL');
  return yield* waitUntilGone(stubborn, KILL_WAIT_MS);
}

export function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

/** SIGKILLs every process inside the namespaces, tracked or not. Returns the survivors. */
export function* killNamespaceProcesses(namespaces: readonly string[]): Procedure<ProcessIdentity[]> {
  let survivors: ProcessIdentity[] = [];
  for (let round = 0; round < NETNS_KILL_ROUNDS; round++) {
    const present = namespaces.filter(namespaceExists);
    if (present.length === 0) return [];
    const listed = yield* run(
      'ip',
      ['-force', '-batch', '-'],
      present.map((ns) => `netns pids ${ns}\n`).join(''),
    );
    const procs = parsePids(listed.stdout)
      .map(identify)
      .filter((p): p is ProcessIdentity => p !== undefined && p.pid !== process.pid);
    if (procs.length === 0) return [];
    for (const p of procs) signalPid(p.pid, 'SIGKILL');
    survivors = yield* waitUntilGone(procs, KILL_WAIT_MS);
  }
  return survivors;
}

/** Deletes the namespaces that exist. Returns those still present afterwards. */
export function* deleteNamespaces(namespaces: readonly string[]): Procedure<string[]> {
  const present = namespaces.filter(namespaceExists);
  if (present.length > 0) {
    // -force: one missing namespace must not stop the deletion of the rest.
    yield* run('ip', ['-force', '-batch', '-'], present.map((ns) => `netns del ${ns}\n`).join(''));
  }
  return present.filter(namespaceExists);
}

export interface RunRemoval {
  /** Namespaces that could not be deleted. */
  namespaces: string[];
  /** Processes still running after SIGKILL. */
  processes: ProcessIdentity[];
}

/** Stops tracked processes, kills the rest inside the namespaces, deletes the namespaces. */
export function* removeRun(
  namespaces: readonly string[],
  processes: readonly ProcessIdentity[],
  graceMs: number,
): Procedure<RunRemoval> {
  const stuck = yield* stopProcesses(processes, graceMs);
  const stuckInside = yield* killNamespaceProcesses(namespaces);
  const remaining = yield* deleteNamespaces(namespaces);
  return { namespaces: remaining, processes: [...stuck, ...stuckInside] };
}

export function isClean(removal: RunRemoval): boolean {
  return removal.namespaces.length === 0 && removal.processes.length === 0;
}
