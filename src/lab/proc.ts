// Process identity from /proc. A pid alone is not an identity: pids are reused, so every pid the
// lab records is paired with the process start time, and a pid whose start time differs is
// someone else's process and is never signalled.
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot, as text (it can exceed 2^53). */
  startTime: string;
}

export interface ProcStat {
  /** One-letter state: R, S, D, Z (zombie), T, ... */
  state: string;
  startTime: string;
}

/** Parses /proc/<pid>/stat. The comm field may hold spaces and parentheses, so split after the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") " come fields 3 (state) onward; start time is field 22, i.e. index 19 here.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = fields[0];
  const startTime = fields[19];
  if (
    state === undefined ||
    startTime === undefined ||
    !/^[A-Za-z]$/.test(state) ||
    !/^\d+$/.test(startTime)
  ) {
    return undefined;
  }
  return { state, startTime };
}

/** The stat of a process, zombies included; undefined once it has been reaped. */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The identity of a running process, or undefined when it has gone (or is a zombie). */
export function identify(pid: number): ProcessIdentity | undefined {
  const stat = readProcStat(pid);
  return stat === undefined || stat.state === 'Z' ? undefined : { pid, startTime: stat.startTime };
}

/**
 * True while this exact process runs. Zombies count as gone: inside a synchronous exit handler
 * nobody reaps our children, yet they are dead.
 */
export function isRunning(proc: ProcessIdentity): boolean {
  return identify(proc.pid)?.startTime === proc.startTime;
}

/** Sends a signal to the process group led by `proc` (the lab starts every process as a group leader). */
export function signalGroup(proc: ProcessIdentity, signal: NodeJS.Signals): void {
  if (!isRunning(proc)) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // Not a group leader (or the group emptied meanwhile): signal the process itself.
    signalPid(proc.pid, signal);
  }
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone, which is what we wanted.
  }
}
