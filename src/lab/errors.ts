// Typed errors for the namespace lab. Callers tell bad input (fix the call) from a failed
// kernel command (inspect the environment) from a damaged state file (inspect /run/trellis-lab).

export class LabError extends Error {
  override readonly name: string = 'LabError';
}

/** The caller asked for something invalid; nothing was created. */
export class LabInputError extends LabError {
  override readonly name = 'LabInputError';
}

/** The lab was already torn down; it cannot be used again. */
export class LabTornDownError extends LabError {
  override readonly name = 'LabTornDownError';
  constructor(readonly prefix: string) {
    super(`lab ${prefix} has been torn down`);
  }
}

/** A lab state file is unreadable or does not describe a lab run. */
export class LabStateError extends LabError {
  override readonly name = 'LabStateError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`lab state ${path}: ${reason}`);
  }
}

export interface CommandFailure {
  /** The namespace the command ran in; undefined for the host namespace. */
  ns: string | undefined;
  command: readonly string[];
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
  stdout: string;
  /** For `ip -batch`: index of the command that failed; the ones before it took effect. */
  batchLine?: number;
}

/** An external command (iproute2, a tool inside a namespace) failed. */
export class LabCommandError extends LabError {
  override readonly name = 'LabCommandError';
  readonly ns: string | undefined;
  readonly command: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: string;
  readonly stdout: string;
  readonly batchLine: number | undefined;

  constructor(failure: CommandFailure) {
    super(describeFailure(failure));
    this.ns = failure.ns;
    this.command = failure.command;
    this.exitCode = failure.exitCode;
    this.signal = failure.signal;
    this.stderr = failure.stderr;
    this.stdout = failure.stdout;
    this.batchLine = failure.batchLine;
  }
}

function describeFailure(f: CommandFailure): string {
  const where = f.ns === undefined ? 'host namespace' : `namespace ${f.ns}`;
  const how = f.signal !== undefined ? `killed by ${f.signal}` : `exit code ${f.exitCode ?? 'unknown'}`;
  const detail = f.stderr.trim() || f.stdout.trim();
  return `\`${f.command.join(' ')}\` in ${where} failed (${how})${detail ? `: ${detail}` : ''}`;
}
