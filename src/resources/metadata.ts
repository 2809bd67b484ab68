// Object metadata rules the API server enforces for every kind: name syntax, namespace only
// on namespaced kinds, label syntax.
import { fields } from './checks.js';
import type { KindInfo } from './definition.js';
import { describeValue, formatPath, type ValidationIssue } from './errors.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);
export const isDnsLabel = (s: string): boolean => s.length <= 63 && DNS_LABEL.test(s);

/** Kinds whose names must be single DNS labels (they become parts of other names). */
const LABEL_NAMED_KINDS = new Set(['Namespace']);

function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return 'key prefix must be a DNS subdomain';
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    return 'key name must be 1..63 alphanumerics, "-", "_" or "." and start and end alphanumeric';
  }
  return undefined;
}

const labelValueOk = (v: string): boolean => v === '' || (v.length <= 63 && LABEL_NAME.test(v));

export function metadataIssues(info: KindInfo, metadata: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    return [{ path: 'metadata', message: 'is required and must be an object' }];
  }
  const meta = fields(metadata);
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') {
    issues.push({ path: 'metadata.name', message: 'is required' });
  } else if (LABEL_NAMED_KINDS.has(info.kind) ? !isDnsLabel(name) : !isDnsSubdomain(name)) {
    const rule = LABEL_NAMED_KINDS.has(info.kind) ? 'a DNS label (<= 63' : 'a DNS subdomain (<= 253';
    issues.push({
      path: 'metadata.name',
      message: `must be ${rule} lowercase alphanumerics, "-"${LABEL_NAMED_KINDS.has(info.kind) ? '' : ' or "."'}, starting and ending alphanumeric) (got ${describeValue(name)})`,
    });
  }
  const namespace = meta['namespace'];
  if (info.namespaced && (typeof namespace !== 'string' || !isDnsLabel(namespace))) {
    issues.push({
      path: 'metadata.namespace',
      message: `is required for ${info.kind} and must be a DNS label`,
    });
  }
  if (!info.namespaced && namespace !== undefined) {
    issues.push({ path: 'metadata.namespace', message: `must not be set: ${info.kind} is cluster-scoped` });
  }
  for (const [key, value] of Object.entries(fields(meta['labels']))) {
    const path = formatPath(['metadata', 'labels', key]);
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) issues.push({ path, message: keyProblem });
    if (typeof value !== 'string' || !labelValueOk(value)) {
      issues.push({
        path,
        message: `value must be a label value (<= 63 chars) (got ${describeValue(value)})`,
      });
    }
  }
  return issues;
}
