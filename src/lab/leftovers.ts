// Proof that lab runs left nothing behind: used by the test harness and by tests that run labs
// in child processes.
import { existsSync } from 'node:fs';
import { prefixOfNamespace } from './names.js';
import { isRunning, type ProcessIdentity } from './proc.js';
import { listNamespaces } from './teardown.js';

export interface RunToCheck {
  prefix: string;
  statePath: string;
  processes: readonly ProcessIdentity[];
}

export interface Leftovers {
  namespaces: string[];
  stateFiles: string[];
  processes: ProcessIdentity[];
}

export function findLeftovers(runs: readonly RunToCheck[]): Leftovers {
  const prefixes = new Set(runs.map((r) => r.prefix));
  return {
    namespaces: listNamespaces().filter((ns) => prefixes.has(prefixOfNamespace(ns) ?? '')),
    stateFiles: runs.map((r) => r.statePath).filter((p) => existsSync(p)),
    processes: runs.flatMap((r) => r.processes.filter(isRunning)),
  };
}

export function hasLeftovers(l: Leftovers): boolean {
  return l.namespaces.length > 0 || l.stateFiles.length > 0 || l.processes.length > 0;
}

export function describeLeftovers(l: Leftovers): string {
  return [
    `namespaces: [${l.namespaces.join(', ')}]`,
    `state files: [${l.stateFiles.join(', ')}]`,
    `processes: [${l.processes.map((p) => p.pid).join(', ')}]`,
  ].join('; ');
}
