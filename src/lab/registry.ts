// Process-wide bookkeeping: the labs this process has open (so exit and signal handlers can tear
// them down, and cleanupByPrefix can defer to the owning object) and a record of every run this
// process created (so the test harness can prove that nothing it made was left behind).
import type { ProcessIdentity } from './proc.js';

export interface OpenLab {
  readonly prefix: string;
  readonly statePath: string;
  /** Detached labs outlive the process, so exit handlers leave them alone. */
  readonly detached: boolean;
  teardown(): Promise<void>;
  teardownSync(): void;
}

export interface RunRecord {
  readonly prefix: string;
  readonly statePath: string;
  /** Every process the run spawned, running or not. */
  readonly processes: ProcessIdentity[];
}

const open = new Map<string, OpenLab>();
const history: RunRecord[] = [];
const EXIT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let handlersInstalled = false;

export function registerOpenLab(lab: OpenLab): RunRecord {
  installExitHandlers();
  open.set(lab.statePath, lab);
  const record: RunRecord = { prefix: lab.prefix, statePath: lab.statePath, processes: [] };
  history.push(record);
  return record;
}

export function unregisterOpenLab(lab: OpenLab): void {
  if (open.get(lab.statePath) === lab) open.delete(lab.statePath);
}

export function findOpenLab(statePath: string): OpenLab | undefined {
  return open.get(statePath);
}

/** Every lab run created by this process, torn down or not. */
export function runsOfThisProcess(): readonly RunRecord[] {
  return history;
}

function tearDownAttachedSync(): void {
  for (const lab of [...open.values()]) {
    if (lab.detached) continue;
    try {
      lab.teardownSync();
    } catch (err) {
      // Keep going: one lab's stuck namespace must not leave the others behind.
      process.stderr.write(`lab ${lab.prefix}: ${(err as Error).message}\n`);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  tearDownAttachedSync();
  // If nobody else handles the signal, restore the default action and re-raise it, so the
  // process dies of the signal as it would have without us. Otherwise the other handler decides.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' also runs after an uncaught exception or unhandled rejection kills the process. We
  // deliberately add no 'uncaughtException' listener: having one would keep the process alive.
  process.on('exit', tearDownAttachedSync);
  for (const signal of EXIT_SIGNALS) process.on(signal, onSignal);
}
