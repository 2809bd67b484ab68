// validateResource: the one entry point every writer (CLI, datastore hook, agent) uses.
import type { Resource } from '../datastore/types.js';
import { schemaIssues } from './ajv.js';
import { fields } from './checks.js';
import { describeValue, ValidationError, type ValidationIssue } from './errors.js';
import { metadataIssues } from './metadata.js';
import { allKinds, kindInfo, resourceDefinition } from './registry.js';

/**
 * Checks any object the datastore may hold and returns it with defaults applied (a copy; the
 * input is not modified). Our kinds get schema + semantic checks; Kubernetes kinds only the
 * envelope and metadata. Throws ValidationError listing every problem found.
 */
export function validateResource(obj: unknown): Resource {
  const top = fields(obj);
  const kind = typeof top['kind'] === 'string' ? top['kind'] : undefined;
  const name =
    typeof fields(top['metadata'])['name'] === 'string'
      ? (fields(top['metadata'])['name'] as string)
      : undefined;
  const fail = (issues: ValidationIssue[]): never => {
    throw new ValidationError(kind, name, issues);
  };
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    fail([{ path: '', message: 'must be an object' }]);
  if (kind === undefined) fail([{ path: 'kind', message: 'is required' }]);
  const info = kindInfo(kind!);
  if (info === undefined) {
    fail([{ path: 'kind', message: `unknown kind (known: ${allKinds.map((k) => k.kind).join(', ')})` }]);
  }
  if (top['apiVersion'] !== info!.apiVersion) {
    fail([
      {
        path: 'apiVersion',
        message: `must be ${info!.apiVersion} for ${kind} (got ${describeValue(top['apiVersion'])})`,
      },
    ]);
  }
  const definition = resourceDefinition(kind!);
  if (definition === undefined) {
    const issues = metadataIssues(info!, top['metadata']);
    return issues.length > 0 ? fail(issues) : (structuredClone(obj) as Resource);
  }
  const defaulted = definition.applyDefaults(obj as Resource);
  const semantic = [...metadataIssues(info!, defaulted.metadata), ...definition.semanticChecks(defaulted)];
  const overridden = new Set(semantic.map((i) => i.path));
  const issues = [
    ...schemaIssues(definition.schema, defaulted).filter((i) => !overridden.has(i.path)),
    ...semantic,
  ];
  return issues.length > 0 ? fail(issues) : defaulted;
}

/** validateResource plus a check that the object is of the expected kind. */
export function validateAs<R extends Resource>(kind: string, obj: unknown): R {
  const valid = validateResource(obj);
  if (valid.kind !== kind) {
    throw new ValidationError(valid.kind, valid.metadata.name, [
      { path: 'kind', message: `must be ${kind} (got ${describeValue(valid.kind)})` },
    ]);
  }
  return valid as R;
}
