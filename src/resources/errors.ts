// ValidationError: every problem of one object at once, each tied to a field path, so a user
// fixes a manifest in one round. It is a DatastoreError('Invalid') so a store's validate hook
// surfaces it unchanged to datastore callers.
import { DatastoreError } from '../datastore/types.js';

export interface ValidationIssue {
  /** Dotted path with brackets for array indices, e.g. `spec.communities[0].standard[1]`. */
  path: string;
  message: string;
}

export class ValidationError extends DatastoreError {
  override readonly name = 'ValidationError';
  constructor(
    /** The object's kind, or undefined when the kind itself is missing. */
    readonly kind: string | undefined,
    /** The object's name, or undefined when it has none. */
    readonly objectName: string | undefined,
    readonly issues: readonly ValidationIssue[],
  ) {
    super('Invalid', formatValidationMessage(kind, objectName, issues));
  }
}

export function formatValidationMessage(
  kind: string | undefined,
  name: string | undefined,
  issues: readonly ValidationIssue[],
): string {
  const subject = `${kind ?? 'resource'}${name !== undefined ? ` "${name}"` : ''}`;
  return `${subject}: ${issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; ')}`;
}

/** Renders path segments as `a.b[0]["k8s.io/x"]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number' || /^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Shows an offending value in a message: strings quoted, long values cut. */
export function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
