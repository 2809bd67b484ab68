// One ajv instance for all kinds, each kind's schema compiled once, and ajv's errors rewritten
// into field paths and sentences that name the rule (`must be between 1 and 65535 (got 0)`).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isPrefix } from '../net/index.js';
import { describeValue, formatPath, type ValidationIssue } from './errors.js';
import { type JsonSchema, strictFields } from './schema.js';

// ajv-formats is CommonJS; under NodeNext the default import is module.exports, whose
// `default` property is the plugin.
const addFormats = addFormatsModule.default;

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true });
  addFormats(ajv, ['ipv4', 'ipv6']);
  // Same acceptance as the API server's 'cidr' format (Go net.ParseCIDR): host bits allowed;
  // canonical form is a semantic check with a precise message.
  ajv.addFormat('cidr', (s: string) => isPrefix(s, { hostBits: 'mask', v4Mapped: 'keep' }));
  return ajv;
}

const ajv = createAjv();
const compiled = new Map<JsonSchema, ValidateFunction>();

/**
 * The validator of the runtime (strict-fields) form of schema, compiled on first use. Every
 * schema of the project (resources, CNI config) goes through this one ajv instance.
 */
export function compileStrict(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(strictFields(schema));
    compiled.set(schema, validate);
  }
  return validate;
}

export function schemaIssues(schema: JsonSchema, value: unknown): ValidationIssue[] {
  const validate = compileStrict(schema);
  return validate(value) ? [] : rewriteErrors(validate.errors ?? []);
}

const COMBINATORS = new Set(['anyOf', 'oneOf', 'not']);

export function rewriteErrors(errors: readonly ErrorObject[]): ValidationIssue[] {
  // A failed anyOf/oneOf also reports why each branch failed; the combinator's own sentence
  // covers them.
  const combinatorPaths = errors.filter((e) => COMBINATORS.has(e.keyword)).map((e) => `${e.schemaPath}/`);
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (combinatorPaths.some((p) => e.schemaPath.startsWith(p))) continue;
    const issue = rewriteError(e);
    const key = `${issue.path}\n${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues;
}

function pathOf(e: ErrorObject, child?: string): string {
  const segments = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) segments.push(child);
  return formatPath(segments);
}

const article = (type: string): string => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
const got = (e: ErrorObject): string => ` (got ${describeValue(e.data)})`;

function rewriteError(e: ErrorObject): ValidationIssue {
  const parent = (e.parentSchema ?? {}) as JsonSchema;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: pathOf(e, String(params['missingProperty'])), message: 'is required' };
    case 'additionalProperties':
      return { path: pathOf(e, String(params['additionalProperty'])), message: 'is not a known field' };
    case 'type':
      return { path: pathOf(e), message: `must be ${article(String(params['type']))}${got(e)}` };
    case 'minimum':
    case 'maximum':
      return { path: pathOf(e), message: `must be ${describeRange(parent)}${got(e)}` };
    case 'enum':
      return { path: pathOf(e), message: `must be one of ${(parent.enum ?? []).join(', ')}${got(e)}` };
    case 'format':
      return { path: pathOf(e), message: `must be ${describeFormat(String(params['format']))}${got(e)}` };
    case 'pattern':
      return { path: pathOf(e), message: `must match ${parent.pattern}${got(e)}` };
    case 'minLength':
      return {
        path: pathOf(e),
        message: parent.minLength === 1 ? 'must not be empty' : `${e.message}${got(e)}`,
      };
    case 'anyOf':
    case 'oneOf':
      return { path: pathOf(e), message: describeAlternatives(e.keyword, parent[e.keyword] ?? [], e.data) };
    case 'not':
      return { path: pathOf(e), message: describeNot(parent.not ?? {}) };
    default:
      return { path: pathOf(e), message: `${e.message ?? 'is invalid'}${got(e)}` };
  }
}

function describeRange(s: JsonSchema): string {
  if (s.minimum !== undefined && s.maximum !== undefined) return `between ${s.minimum} and ${s.maximum}`;
  if (s.minimum !== undefined) return `>= ${s.minimum}`;
  return `<= ${s.maximum}`;
}

function describeFormat(format: string): string {
  switch (format) {
    case 'ipv4':
      return 'an IPv4 address';
    case 'ipv6':
      return 'an IPv6 address';
    case 'cidr':
      return 'a CIDR such as 10.0.0.0/16 or fd00::/48';
    default:
      return `a valid ${format}`;
  }
}

/** One branch of an anyOf/oneOf in words: `0`, `between 3 and 65535`, `an IPv4 address`. */
function describeBranch(s: JsonSchema): string {
  if (s.enum) return s.enum.join(' or ');
  if (s.format) return describeFormat(s.format);
  if (s.minimum !== undefined || s.maximum !== undefined) return describeRange(s);
  return JSON.stringify(s);
}

function describeAlternatives(
  keyword: 'anyOf' | 'oneOf',
  branches: readonly JsonSchema[],
  data: unknown,
): string {
  const requiredOnly = branches.every((b) => b.required?.length === 1 && Object.keys(b).length === 1);
  if (requiredOnly) {
    const fields = branches.map((b) => b.required![0]).join(', ');
    return keyword === 'oneOf' ? `must set exactly one of ${fields}` : `must set at least one of ${fields}`;
  }
  return `must be ${branches.map(describeBranch).join(' or ')} (got ${describeValue(data)})`;
}

function describeNot(s: JsonSchema): string {
  if (s.required) return `must not set ${s.required.join(' and ')} together`;
  return `must not be ${describeBranch(s)}`;
}
