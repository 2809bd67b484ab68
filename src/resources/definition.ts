// What the registry, validator, CRD generator and CLI know about a kind.
import type { Resource } from '../datastore/types.js';
import { IssueList } from './checks.js';
import type { ValidationIssue } from './errors.js';
import { API_VERSION, applySchemaDefaults, type JsonSchema, resourceSchema } from './schema.js';

/** A column for `trellis get` tables and CRD additionalPrinterColumns. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** Simple dotted path from the object root, e.g. `.spec.cidr`. */
  jsonPath: string;
  description?: string;
}

/** Naming and scope of any kind the datastore holds, ours or Kubernetes'. */
export interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
  printerColumns: readonly PrinterColumn[];
}

/** One of our kinds (trellis.network/v1): the single schema source plus what it cannot say. */
export interface ResourceDefinition extends KindInfo {
  namespaced: false;
  description: string;
  /** The whole object's schema (see resourceSchema); `spec` is the kind's own part. */
  schema: JsonSchema;
  /**
   * Returns a copy with schema defaults and those that depend on other fields filled in.
   * Tolerates malformed input: validation reports it afterwards.
   */
  applyDefaults(obj: Resource): Resource;
  /**
   * Rules JSON Schema cannot express (canonical CIDRs, family-dependent ranges, cross-field
   * rules). Runs on defaulted objects even when the schema failed, so it reads fields
   * defensively; an issue here replaces schema issues at the same path, being more precise.
   */
  semanticChecks(obj: Resource): ValidationIssue[];
}

export const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
};

export interface ResourceDefinitionInput {
  kind: string;
  plural: string;
  singular: string;
  shortNames?: readonly string[];
  description: string;
  spec: JsonSchema;
  printerColumns: readonly PrinterColumn[];
  /** Defaults that depend on other fields (schema defaults are applied first). */
  dependentDefaults?: (spec: Record<string, unknown>) => void;
  checks: (obj: Resource, issues: IssueList) => void;
}

/** Builds a definition so every kind gets the same envelope, defaulting and check wiring. */
export function defineResource(input: ResourceDefinitionInput): ResourceDefinition {
  const schema = resourceSchema(input.description, input.spec);
  return {
    apiVersion: API_VERSION,
    kind: input.kind,
    plural: input.plural,
    singular: input.singular,
    shortNames: input.shortNames ?? [],
    namespaced: false,
    description: input.description,
    schema,
    printerColumns: [...input.printerColumns, AGE_COLUMN],
    applyDefaults(obj: Resource): Resource {
      const copy = structuredClone(obj);
      applySchemaDefaults(schema, copy);
      const spec = copy.spec;
      if (input.dependentDefaults && typeof spec === 'object' && spec !== null && !Array.isArray(spec)) {
        input.dependentDefaults(spec as Record<string, unknown>);
      }
      return copy;
    },
    semanticChecks(obj: Resource): ValidationIssue[] {
      const issues = new IssueList();
      input.checks(obj, issues);
      return issues.issues;
    },
  };
}
