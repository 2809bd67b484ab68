// Resource identity: kind + optional namespace + name. Names are validated to the Kubernetes
// rules because they become file names; the API server enforces the same rules, so code that
// works against the file store also works against Kubernetes.
import { DatastoreError, type Resource } from './types.js';

export interface ResourceKey {
  kind: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
  name: string;
}

const KIND = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const invalid = (message: string): DatastoreError => new DatastoreError('Invalid', message);

export function checkKind(kind: unknown): string {
  if (typeof kind !== 'string' || !KIND.test(kind)) {
    throw invalid(`kind ${JSON.stringify(kind)} must be alphanumeric, start with a letter, at most 63 chars`);
  }
  return kind;
}

/** '' and undefined both mean "no namespace" (cluster scope, or all namespaces in a filter). */
export function checkNamespace(namespace: unknown): string | undefined {
  if (namespace === undefined || namespace === '') return undefined;
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace)) {
    throw invalid(`namespace ${JSON.stringify(namespace)} must be a DNS-1123 label`);
  }
  return namespace;
}

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name)) {
    throw invalid(`name ${JSON.stringify(name)} must be a DNS-1123 subdomain`);
  }
  return name;
}

export function makeKey(kind: unknown, name: unknown, namespace?: unknown): ResourceKey {
  const ns = checkNamespace(namespace);
  const key: ResourceKey = { kind: checkKind(kind), name: checkName(name) };
  if (ns !== undefined) key.namespace = ns;
  return key;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the envelope every stored object needs and returns its key. */
export function keyOf(obj: unknown): ResourceKey {
  if (!isPlainObject(obj)) throw invalid('resource must be an object');
  if (typeof obj['apiVersion'] !== 'string' || obj['apiVersion'] === '') {
    throw invalid('resource.apiVersion must be a non-empty string');
  }
  const metadata = obj['metadata'];
  if (!isPlainObject(metadata)) throw invalid('resource.metadata must be an object');
  return makeKey(obj['kind'], metadata['name'], metadata['namespace']);
}

export function describeKey(key: ResourceKey): string {
  const path = key.namespace === undefined ? key.name : `${key.namespace}/${key.name}`;
  return `${key.kind} "${path}"`;
}

export function sameKey(a: ResourceKey, b: ResourceKey): boolean {
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}

/** Parses a resourceVersion as the store writes it: a decimal counter. */
export function parseResourceVersion(rv: unknown): number {
  if (typeof rv !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(rv) || !Number.isSafeInteger(Number(rv))) {
    throw invalid(`resourceVersion ${JSON.stringify(rv)} is not a decimal counter`);
  }
  return Number(rv);
}

export type { Resource };
