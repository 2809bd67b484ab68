// Typed validation errors that name the offending field, in the style of the API server's
// field.ErrorList, plus the small shape checks every parser of untyped input needs.

/** Mirrors the API server's field error types so messages read the same. */
export type PolicyIssueCode =
  | 'Required'
  | 'Invalid'
  | 'NotSupported'
  | 'Forbidden'
  | 'Duplicate'
  | 'TypeInvalid';

export interface PolicyIssue {
  /** Field path, e.g. `spec.ingress[0].from[1].ipBlock.except[0]`. */
  path: string;
  code: PolicyIssueCode;
  detail: string;
}

/** Every problem found in one input object; thrown before any output is produced. */
export class PolicyValidationError extends Error {
  override readonly name = 'PolicyValidationError';
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.detail}`).join('; '));
  }
}

/** Collects issues while a parser walks an object, so one error reports all of them. */
export class IssueList {
  readonly items: PolicyIssue[] = [];
  add(path: string, code: PolicyIssueCode, detail: string): void {
    this.items.push({ path, code, detail });
  }
  throwIfAny(): void {
    if (this.items.length > 0) throw new PolicyValidationError(this.items);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Renders an input value for a message: strings as is, anything else as JSON. */
export function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Reads an optional string-to-string map (labels, matchLabels, annotations). */
export function readStringMap(
  value: unknown,
  path: string,
  issues: IssueList,
): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    issues.add(path, 'TypeInvalid', 'must be a map of strings');
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') issues.add(`${path}.${k}`, 'TypeInvalid', `${show(v)} must be a string`);
    else out[k] = v;
  }
  return out;
}

/** Reads an optional list; `null` counts as absent, like a JSON null in the API server. */
export function readList(value: unknown, path: string, issues: IssueList): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    issues.add(path, 'TypeInvalid', 'must be a list');
    return undefined;
  }
  return value;
}
