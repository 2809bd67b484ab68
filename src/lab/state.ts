// The per-run state file, /run/trellis-lab/<prefix>.json. It is written BEFORE the lab creates
// anything and rewritten (atomically, by rename) as things are added, so a run killed at any
// moment leaves a file listing everything it may have created. /run is tmpfs: a reboot, which
// also drops every namespace, drops the state with it.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabInputError, LabStateError } from './errors.js';
import { validatePrefix } from './names.js';
import type { ProcessIdentity } from './proc.js';

export const DEFAULT_STATE_DIR = '/run/trellis-lab';
const STATE_VERSION = 1;
const STATE_SUFFIX = '.json';

export interface TrackedProcess extends ProcessIdentity {
  /** Full namespace name the process was started in. */
  ns: string;
  command: readonly string[];
}

export interface LabState {
  prefix: string;
  /** The process whose exit ends the run; null for a detached lab, which lives until `labDown`. */
  owner: ProcessIdentity | null;
  /** ISO-8601 time the run registered. */
  createdAt: string;
  /** Full names of namespaces the run created or was about to create. */
  namespaces: readonly string[];
  processes: readonly TrackedProcess[];
}

export function encodeLabState(state: LabState): string {
  return `${JSON.stringify({ version: STATE_VERSION, ...state }, null, 2)}\n`;
}

/** Parses and checks a state file's text; `path` only names the file in errors. */
export function decodeLabState(text: string, path: string): LabState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LabStateError(path, `not JSON (${(err as Error).message})`);
  }
  const fail = (what: string): never => {
    throw new LabStateError(path, what);
  };
  if (!isRecord(raw)) return fail('not an object');
  if (raw['version'] !== STATE_VERSION) fail(`unsupported version ${JSON.stringify(raw['version'])}`);
  const prefix = raw['prefix'];
  if (typeof prefix !== 'string' || !isValidPrefix(prefix)) fail('missing or invalid "prefix"');
  const createdAt = raw['createdAt'];
  if (typeof createdAt !== 'string') fail('missing "createdAt"');
  const owner = raw['owner'] === null ? null : decodeIdentity(raw['owner']);
  if (owner === undefined) fail('"owner" must be null or {pid, startTime}');
  const namespaces = raw['namespaces'];
  if (!Array.isArray(namespaces) || !namespaces.every((n) => typeof n === 'string' && n.length > 0)) {
    fail('"namespaces" must be an array of names');
  }
  const rawProcesses = raw['processes'];
  if (!Array.isArray(rawProcesses)) return fail('"processes" must be an array');
  const processes = rawProcesses.map((p) => decodeTrackedProcess(p) ?? fail('invalid entry in "processes"'));
  return {
    prefix: prefix as string,
    owner: owner as ProcessIdentity | null,
    createdAt: createdAt as string,
    namespaces: namespaces as string[],
    processes,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isValidPrefix(prefix: string): boolean {
  try {
    validatePrefix(prefix);
    return true;
  } catch {
    return false;
  }
}

function decodeIdentity(v: unknown): ProcessIdentity | undefined {
  if (!isRecord(v)) return undefined;
  const { pid, startTime } = v;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof startTime !== 'string' || !/^\d+$/.test(startTime)) return undefined;
  return { pid, startTime };
}

function decodeTrackedProcess(v: unknown): TrackedProcess | undefined {
  const identity = decodeIdentity(v);
  if (identity === undefined || !isRecord(v)) return undefined;
  const { ns, command } = v;
  if (typeof ns !== 'string' || !Array.isArray(command) || !command.every((c) => typeof c === 'string')) {
    return undefined;
  }
  return { ...identity, ns, command };
}

export function validateStateDir(stateDir: string): string {
  // The path is embedded in a loopback alias through `ip -batch`, which splits on whitespace.
  if (!stateDir.startsWith('/') || /[\s"'\\]/.test(stateDir) || stateDir.length > 200) {
    throw new LabInputError(
      `invalid lab state dir "${stateDir}": expected an absolute path without spaces or quotes`,
    );
  }
  return stateDir;
}

export function statePath(stateDir: string, prefix: string): string {
  return join(stateDir, prefix + STATE_SUFFIX);
}

/**
 * Creates the state file, failing if it exists: the exclusive create is what claims a prefix,
 * so two runs can never share one.
 */
export function claimState(stateDir: string, state: LabState): string {
  const path = statePath(stateDir, state.prefix);
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  try {
    writeFileSync(path, encodeLabState(state), { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new LabInputError(`lab prefix ${state.prefix} is in use (${path} exists)`);
    }
    throw err;
  }
  return path;
}

/** Replaces the state file atomically: readers see the old or the new content, never half. */
export function writeState(path: string, state: LabState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, encodeLabState(state), { mode: 0o644 });
  renameSync(tmp, path);
}

export function readState(path: string): LabState {
  return decodeLabState(readFileSync(path, 'utf8'), path);
}

export function removeState(path: string): void {
  rmSync(path, { force: true });
}

/** Paths of every state file in `stateDir` (none when the directory does not exist). */
export function listStatePaths(stateDir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(stateDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.endsWith(STATE_SUFFIX) && isValidPrefix(e.slice(0, -STATE_SUFFIX.length)))
    .sort()
    .map((e) => join(stateDir, e));
}
