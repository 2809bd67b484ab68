// Exit-code classes: 1 for a failed operation, 2 for a command line that cannot be run.

export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly exitCode: number = 1;
}

export class UsageError extends CliError {
  override readonly name = 'UsageError';
  override readonly exitCode = 2;
}
