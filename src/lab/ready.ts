// Waiting for a daemon the lab started to serve on its Unix socket. Accepting a connection is
// the test: the file alone may be one a killed predecessor left, or bound but not listening yet.
import { readFileSync } from 'node:fs';
import { socketAccepts } from '../net/unix-socket.js';
import { LabError } from './errors.js';
import type { LabProcess, ProcessExit } from './lab.js';

export interface ListenerWait {
  /** The daemon, for the error ("bgpd", "agent of node-1"). */
  readonly what: string;
  readonly timeoutMs: number;
  /** The daemon's output: the error quotes its last lines. */
  readonly logFile?: string;
}

/** Resolves once `proc` accepts on `path`; rejects with a LabError if it exits first or time runs out. */
export async function waitForListener(proc: LabProcess, path: string, opts: ListenerWait): Promise<void> {
  let exited: ProcessExit | undefined;
  void proc.exited.then((exit) => {
    exited = exit;
  });
  const deadline = Date.now() + opts.timeoutMs;
  const fail = (what: string): never => {
    throw new LabError(`${opts.what} ${what}${opts.logFile === undefined ? '' : logTail(opts.logFile)}`);
  };
  for (;;) {
    if (await socketAccepts(path)) return;
    if (exited !== undefined) {
      const how = exited.signal === null ? `with code ${exited.exitCode}` : `on ${exited.signal}`;
      fail(`exited ${how} before listening on ${path}`);
    }
    if (Date.now() > deadline) fail(`did not listen on ${path} within ${opts.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function logTail(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return `; no output in ${file}`;
  }
  return `; last lines of ${file}:\n${text.trimEnd().split('\n').slice(-8).join('\n')}`;
}
