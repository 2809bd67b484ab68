// The JSON Schema subset our kinds are written in: draft-07 that is also a Kubernetes
// structural schema (a type on every node, no $ref, no type arrays, defaults only inside
// properties, anyOf/oneOf/not only for value constraints). ajv compiles it at runtime and
// the CRD generator embeds the very same objects.

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface JsonSchema {
  type?: SchemaType;
  description?: string;
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  /** A schema for map values (labels). Never `false`: Kubernetes forbids it, see strictFields. */
  additionalProperties?: JsonSchema;
  items?: JsonSchema;
  enum?: readonly (string | number | boolean)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  /** Only formats both ajv (with ajv-formats + our 'cidr') and the API server know. */
  format?: 'ipv4' | 'ipv6' | 'cidr';
  nullable?: boolean;
  anyOf?: readonly JsonSchema[];
  oneOf?: readonly JsonSchema[];
  not?: JsonSchema;
}

export const API_GROUP = 'trellis.network';
export const API_VERSION = `${API_GROUP}/v1`;

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** A Kubernetes object name (node names, pool names). */
export const objectNameSchema = (description: string): JsonSchema => ({
  type: 'string',
  description,
  minLength: 1,
  maxLength: 253,
  pattern: DNS_SUBDOMAIN,
});

export const cidrSchema = (description: string): JsonSchema => ({
  type: 'string',
  format: 'cidr',
  description,
});

export const ipAddressSchema = (description: string): JsonSchema => ({
  type: 'string',
  description,
  anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }],
});

export const asNumberSchema = (description: string, defaultValue?: number): JsonSchema => ({
  type: 'integer',
  description,
  minimum: 1,
  maximum: 4294967295,
  ...(defaultValue !== undefined ? { default: defaultValue } : {}),
});

/** BGP hold time: 0 (no keepalives) or 3..65535 seconds (RFC 4271 4.2). */
export const holdTimeSchema = (description: string, defaultValue?: number): JsonSchema => ({
  type: 'integer',
  description,
  anyOf: [{ enum: [0] }, { minimum: 3, maximum: 65535 }],
  ...(defaultValue !== undefined ? { default: defaultValue } : {}),
});

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** The Kubernetes LabelSelector; an absent selector selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export const labelSelectorSchema = (description: string): JsonSchema => ({
  type: 'object',
  description: `${description} A Kubernetes LabelSelector; absent selects all.`,
  properties: {
    matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', minLength: 1 },
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
});

/** The whole object's schema around a kind's spec: what ajv compiles and the CRD embeds. */
export function resourceSchema(description: string, spec: JsonSchema): JsonSchema {
  return {
    type: 'object',
    description,
    // apiVersion, kind and metadata are the API server's (and validateResource's envelope check).
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec,
    },
  };
}

/**
 * The runtime form: every object with declared properties rejects unknown ones. The API server
 * gets the same effect from pruning plus kubectl's strict field validation, and Kubernetes
 * forbids `additionalProperties: false` in a CRD, so the CRD carries the schema without it.
 */
export function strictFields(schema: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = { ...schema };
  if (schema.properties) {
    out['properties'] = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, strictFields(v)]),
    );
    if (schema.additionalProperties === undefined) out['additionalProperties'] = false;
  }
  if (schema.additionalProperties) out['additionalProperties'] = strictFields(schema.additionalProperties);
  if (schema.items) out['items'] = strictFields(schema.items);
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Fills absent properties from schema defaults, recursing into present objects and arrays, as
 * the API server does for a structural schema. Mutates `value` (callers pass a clone) and
 * tolerates values of the wrong shape: validation reports those afterwards.
 */
export function applySchemaDefaults(schema: JsonSchema, value: unknown): void {
  if (schema.properties && isPlainObject(value)) {
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (value[key] === undefined && sub.default !== undefined) value[key] = structuredClone(sub.default);
      if (value[key] !== undefined) applySchemaDefaults(sub, value[key]);
    }
  }
  if (schema.items && Array.isArray(value)) for (const item of value) applySchemaDefaults(schema.items, item);
}
