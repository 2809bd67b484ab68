// Errors of the speaker configuration.
import type { ValidationIssue } from '../../src/resources/errors.js';

/** The configuration is invalid; `issues` names every offending field. Nothing was applied. */
export class BgpConfigError extends Error {
  override readonly name = 'BgpConfigError';
  constructor(
    readonly source: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(
      `${source}: ${issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; ')}`,
    );
  }
}
