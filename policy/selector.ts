// Kubernetes LabelSelector: matching, a canonical string (two selectors that select the same
// label sets in the same way get the same string, so it can name ipsets), and validation.
import { type IssueList, isRecord, readList, readStringMap, show } from './issues.js';
import {
  LABEL_SELECTOR_OPERATORS,
  type LabelSelector,
  type LabelSelectorOperator,
  type LabelSelectorRequirement,
  type Labels,
} from './model.js';

/** An empty selector matches every label set; requirements are ANDed. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  return compileSelector(selector).matches(labels);
}

/** A selector prepared for matching many label sets: requirements with their values as sets. */
export interface CompiledSelector {
  matches(labels: Labels): boolean;
  /** `In` requirements (matchLabels included): a pod must carry one of `values` under `key`. */
  readonly required: readonly { key: string; values: ReadonlySet<string> }[];
}

interface PreparedRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values: ReadonlySet<string>;
}

// Policies are matched against every pod; preparing a selector once per object saves the
// requirement list and value lookups on each match. Selector objects are not mutated.
const compiled = new WeakMap<LabelSelector, CompiledSelector>();

export function compileSelector(selector: LabelSelector): CompiledSelector {
  const cached = compiled.get(selector);
  if (cached !== undefined) return cached;
  const prepared: PreparedRequirement[] = requirementsOf(selector).map((r) => ({
    key: r.key,
    operator: r.operator,
    values: new Set(r.values ?? []),
  }));
  const result: CompiledSelector = {
    matches: (labels) => {
      // A plain loop: called for every candidate pod, often before the JIT has optimized it.
      for (let i = 0; i < prepared.length; i++) if (!requirementMatches(prepared[i]!, labels)) return false;
      return true;
    },
    required: prepared.filter((r) => r.operator === 'In'),
  };
  compiled.set(selector, result);
  return result;
}

function requirementMatches(req: PreparedRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && req.values.has(labels[req.key]!);
    case 'NotIn':
      // An absent key satisfies NotIn, as in the API machinery.
      return !has || !req.values.has(labels[req.key]!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/** matchLabels become `In` with one value; all requirements, with sorted unique values. */
function requirementsOf(selector: LabelSelector): LabelSelectorRequirement[] {
  const fromLabels = Object.entries(selector.matchLabels ?? {}).map(
    ([key, value]): LabelSelectorRequirement => ({ key, operator: 'In', values: [value] }),
  );
  return [...fromLabels, ...(selector.matchExpressions ?? [])];
}

/**
 * Canonical text in the API machinery's selector syntax (`a=b,c in (x,y),d notin (z),e,!f`),
 * requirements sorted and deduplicated; the empty selector is the empty string.
 */
export function canonicalSelector(selector: LabelSelector): string {
  let text = canonical.get(selector);
  if (text === undefined) {
    const texts = requirementsOf(selector).map(requirementText);
    text = [...new Set(texts)].sort(compareRequirementTexts).join(',');
    canonical.set(selector, text);
  }
  return text;
}

// Set keys name each selector once per family, direction and peer; selectors are not mutated.
const canonical = new WeakMap<LabelSelector, string>();

function requirementText(r: LabelSelectorRequirement): string {
  const values = [...new Set(r.values ?? [])].sort();
  switch (r.operator) {
    case 'In':
      return values.length === 1 ? `${r.key}=${values[0]}` : `${r.key} in (${values.join(',')})`;
    case 'NotIn':
      return `${r.key} notin (${values.join(',')})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
  }
}

/** Sort by key first (ignoring the `!` of DoesNotExist) so related requirements stay together. */
function compareRequirementTexts(a: string, b: string): number {
  const ka = a.replace(/^!/, '');
  const kb = b.replace(/^!/, '');
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a qualified label name (`[prefix/]name`), or undefined if it is one. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a qualified name must have at most one "/"';
  const name = parts[parts.length - 1]!;
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return 'name part must be 1-63 alphanumerics, "-", "_" or ".", starting and ending alphanumeric';
  }
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
      return 'prefix part must be a lowercase DNS-1123 subdomain';
    }
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return 'must be at most 63 alphanumerics, "-", "_" or ".", starting and ending alphanumeric';
  }
  return undefined;
}

/** Parses and validates a LabelSelector from untyped input, adding issues under `path`. */
export function parseSelector(value: unknown, path: string, issues: IssueList): LabelSelector {
  if (!isRecord(value)) {
    issues.add(path, 'TypeInvalid', 'must be a label selector object');
    return {};
  }
  const selector: LabelSelector = {};
  const matchLabels = readStringMap(value['matchLabels'], `${path}.matchLabels`, issues);
  if (matchLabels !== undefined) {
    for (const [k, v] of Object.entries(matchLabels)) {
      const keyProblem = labelKeyProblem(k);
      if (keyProblem) issues.add(`${path}.matchLabels`, 'Invalid', `${k}: ${keyProblem}`);
      const valueProblem = labelValueProblem(v);
      if (valueProblem) issues.add(`${path}.matchLabels.${k}`, 'Invalid', `${v}: ${valueProblem}`);
    }
    selector.matchLabels = matchLabels;
  }
  const expressions = readList(value['matchExpressions'], `${path}.matchExpressions`, issues);
  if (expressions !== undefined) {
    selector.matchExpressions = expressions.flatMap((e, i) => {
      const req = parseRequirement(e, `${path}.matchExpressions[${i}]`, issues);
      return req === undefined ? [] : [req];
    });
  }
  return selector;
}

function parseRequirement(
  value: unknown,
  path: string,
  issues: IssueList,
): LabelSelectorRequirement | undefined {
  if (!isRecord(value)) {
    issues.add(path, 'TypeInvalid', 'must be a label selector requirement object');
    return undefined;
  }
  const { key, operator } = value;
  let ok = true;
  if (typeof key !== 'string') {
    issues.add(`${path}.key`, 'Required', 'must be a label key');
    ok = false;
  } else {
    const problem = labelKeyProblem(key);
    if (problem) {
      issues.add(`${path}.key`, 'Invalid', `${key}: ${problem}`);
      ok = false;
    }
  }
  if (!(LABEL_SELECTOR_OPERATORS as readonly unknown[]).includes(operator)) {
    issues.add(
      `${path}.operator`,
      'NotSupported',
      `${show(operator)}: must be one of ${LABEL_SELECTOR_OPERATORS.join(', ')}`,
    );
    return undefined;
  }
  const op = operator as LabelSelectorOperator;
  const rawValues = readList(value['values'], `${path}.values`, issues) ?? [];
  const values: string[] = [];
  rawValues.forEach((v, i) => {
    if (typeof v !== 'string') {
      issues.add(`${path}.values[${i}]`, 'TypeInvalid', `${show(v)} must be a string`);
      ok = false;
      return;
    }
    const problem = labelValueProblem(v);
    if (problem) {
      issues.add(`${path}.values[${i}]`, 'Invalid', `${v}: ${problem}`);
      ok = false;
    }
    values.push(v);
  });
  if ((op === 'In' || op === 'NotIn') && rawValues.length === 0) {
    issues.add(`${path}.values`, 'Required', `must be specified when operator is ${op}`);
    ok = false;
  }
  if ((op === 'Exists' || op === 'DoesNotExist') && rawValues.length > 0) {
    issues.add(`${path}.values`, 'Forbidden', `may not be specified when operator is ${op}`);
    ok = false;
  }
  if (!ok) return undefined;
  return op === 'In' || op === 'NotIn'
    ? { key: key as string, operator: op, values }
    : { key: key as string, operator: op };
}
