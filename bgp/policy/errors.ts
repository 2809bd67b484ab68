// A policy that cannot be evaluated as written; nothing was applied.

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    /** Where: `from-tor.statements[2].match.prefixes[0].le`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
