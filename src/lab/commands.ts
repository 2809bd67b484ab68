// Running iproute2 and other tools from the host, with failures turned into LabCommandError.
import { execa } from 'execa';
import { LabCommandError } from './errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Text written to the command's stdin. */
  input?: string;
  timeoutMs?: number;
  /** Resolve with the non-zero exit code instead of rejecting. */
  allowFailure?: boolean;
  env?: Readonly<Record<string, string>>;
  /** Namespace named in error messages. */
  ns?: string;
}

export async function runCommand(
  file: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  const r = await execa(file, args, {
    input: opts.input ?? '',
    reject: false,
    ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  if (r.exitCode === 0 || (opts.allowFailure === true && r.exitCode !== undefined && !r.timedOut)) {
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? 0 };
  }
  const startFailure = r.exitCode === undefined && r.signal === undefined ? r.shortMessage : '';
  throw new LabCommandError({
    ns: opts.ns,
    command: [file, ...args],
    exitCode: r.exitCode,
    signal: r.timedOut ? `${r.signal ?? 'SIGTERM'} after ${opts.timeoutMs} ms timeout` : r.signal,
    stderr: startFailure || r.stderr,
    stdout: r.stdout,
  });
}

/**
 * Runs `ip [-n ns] -batch -`: one process for many iproute2 commands (process start is slow).
 * On failure the error names the failing command and its index (`batchLine`).
 */
export async function ipBatch(ns: string | undefined, commands: readonly string[]): Promise<void> {
  if (commands.length === 0) return;
  const args = ns === undefined ? ['-batch', '-'] : ['-n', ns, '-batch', '-'];
  try {
    await runCommand('ip', args, { input: `${commands.join('\n')}\n`, ns });
  } catch (err) {
    if (!(err instanceof LabCommandError)) throw err;
    // ip reports only "Command failed -:<line>"; name the command so the error stands alone.
    const line = /Command failed -:(\d+)/.exec(err.stderr)?.[1];
    const batchLine = line === undefined ? undefined : Number(line) - 1;
    const failed = batchLine === undefined ? undefined : commands[batchLine];
    if (failed === undefined) throw err;
    throw new LabCommandError({
      ns: err.ns,
      command: err.command,
      exitCode: err.exitCode,
      signal: err.signal,
      stdout: err.stdout,
      stderr: `${err.stderr.trim()} [ip ${failed}]`,
      batchLine,
    });
  }
}
