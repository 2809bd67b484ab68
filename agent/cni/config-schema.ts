// The Trellis plugin configuration (what the runtime pipes to the plugin on stdin) as ONE JSON
// Schema: the protocol layer validates every request with it and the manifests validate the
// conflist they ship with it. Also the schema of a CNI result, for `prevResult`.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { compileStrict, rewriteErrors } from '../../src/resources/ajv.js';
import { describeValue, formatPath, type ValidationIssue } from '../../src/resources/errors.js';
import { applySchemaDefaults, type JsonSchema } from '../../src/resources/schema.js';

// The spec's rule for network names and container IDs.
const CNI_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$';
// A unix socket path must fit sockaddr_un.sun_path (108 bytes with the terminating NUL).
const MAX_SOCKET_PATH_LENGTH = 107;

const anySchema: JsonSchema = {};
const openObject = (description: string): JsonSchema => ({
  type: 'object',
  description,
  additionalProperties: anySchema,
});
const ipSchema = (description: string): JsonSchema => ({
  type: 'string',
  description,
  anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }],
});
const cidrSchema = (description: string): JsonSchema => ({ type: 'string', format: 'cidr', description });
const uintSchema = (description: string): JsonSchema => ({ type: 'integer', minimum: 0, description });
const stringList = (description: string): JsonSchema => ({
  type: 'array',
  items: { type: 'string' },
  description,
});

const poolListSchema = (family: string): JsonSchema => ({
  type: 'array',
  description: `IPPool names (or pool CIDRs) to take ${family} addresses from; absent: every pool eligible for the node.`,
  items: {
    type: 'string',
    anyOf: [
      { pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' },
      { format: 'cidr' },
    ],
  },
});

const dnsSchema: JsonSchema = {
  type: 'object',
  description: 'DNS settings passed through to the result.',
  properties: {
    nameservers: { type: 'array', items: ipSchema('A nameserver address.') },
    domain: { type: 'string' },
    search: stringList('Search domains, in priority order.'),
    options: stringList('Resolver options.'),
  },
};

/** The plugin configuration object, including the keys the runtime injects at execution time. */
export const trellisNetConfigSchema: JsonSchema = {
  type: 'object',
  description:
    'Trellis CNI plugin configuration (one entry of a conflist "plugins" array, as the plugin receives it).',
  required: ['cniVersion', 'name', 'type'],
  properties: {
    cniVersion: { type: 'string', description: 'CNI spec version: 0.4.0, 1.0.0 or 1.1.0.' },
    name: { type: 'string', description: 'Network name.', minLength: 1, pattern: CNI_NAME_PATTERN },
    type: { type: 'string', enum: ['trellis-cni'], description: 'Plugin binary name.' },
    mtu: { type: 'integer', minimum: 576, maximum: 9000, default: 1500, description: 'Pod interface MTU.' },
    agentSocket: {
      type: 'string',
      description: 'Unix socket of the node agent; default /run/trellis/cni.sock.',
      pattern: '^/',
      maxLength: MAX_SOCKET_PATH_LENGTH,
    },
    ipam: {
      type: 'object',
      description: 'Address assignment; handled inside the agent, not by a delegated plugin.',
      default: {},
      properties: {
        type: { type: 'string', enum: ['trellis-ipam'], default: 'trellis-ipam' },
        ipv4Pools: poolListSchema('IPv4'),
        ipv6Pools: poolListSchema('IPv6'),
        assignIPv4: { type: 'boolean', default: true },
        assignIPv6: { type: 'boolean', default: false },
      },
    },
    logLevel: { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error'] },
    dns: dnsSchema,
    capabilities: {
      type: 'object',
      description: 'Capabilities the plugin accepts in runtimeConfig (conflist only).',
      additionalProperties: { type: 'boolean' },
    },
    runtimeConfig: openObject('Injected by the runtime: capability arguments.'),
    args: openObject('Injected by the runtime: free-form arguments.'),
    prevResult: openObject('Injected by the runtime for CHECK and DEL: the result of ADD.'),
    'cni.dev/valid-attachments': {
      type: 'array',
      description: 'Injected by the runtime for GC: attachments that are still in use.',
      items: {
        type: 'object',
        required: ['containerID', 'ifname'],
        properties: {
          containerID: { type: 'string', minLength: 1 },
          ifname: { type: 'string', minLength: 1 },
        },
      },
    },
  },
};

/** A CNI result of any supported version; lenient about keys other plugins in a chain may add. */
export const cniResultSchema: JsonSchema = {
  type: 'object',
  additionalProperties: anySchema,
  properties: {
    cniVersion: { type: 'string' },
    interfaces: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: anySchema,
        properties: {
          name: { type: 'string', minLength: 1 },
          mac: { type: 'string' },
          mtu: uintSchema('Interface MTU.'),
          sandbox: { type: 'string' },
          socketPath: { type: 'string' },
          pciID: { type: 'string' },
        },
      },
    },
    ips: {
      type: 'array',
      items: {
        type: 'object',
        required: ['address'],
        additionalProperties: anySchema,
        properties: {
          version: { type: 'string', enum: ['4', '6'], description: 'Spec 0.3.x/0.4.0 only.' },
          address: cidrSchema('Address with its prefix length.'),
          gateway: ipSchema('Gateway for this subnet.'),
          interface: uintSchema('Index into interfaces.'),
        },
      },
    },
    routes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['dst'],
        additionalProperties: anySchema,
        properties: {
          dst: cidrSchema('Destination.'),
          gw: ipSchema('Next hop.'),
          mtu: uintSchema('Path MTU.'),
          advmss: uintSchema('Advertised MSS.'),
          priority: uintSchema('Route priority.'),
          table: uintSchema('Routing table.'),
          scope: uintSchema('Route scope.'),
        },
      },
    },
    dns: { ...dnsSchema, additionalProperties: anySchema },
  },
};

const validateNetConfig: ValidateFunction = compileStrict(trellisNetConfigSchema);
const validateResult: ValidateFunction = compileStrict(cniResultSchema);

export interface ConfigIssues {
  /** Keys the schema does not know (CNI error 2), each as `path=value`. */
  unsupported: string[];
  /** Everything else (CNI error 7). */
  invalid: ValidationIssue[];
}

function splitIssues(errors: readonly ErrorObject[], pathPrefix: readonly string[]): ConfigIssues {
  const unsupported: string[] = [];
  const rest: ErrorObject[] = [];
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties') {
      rest.push(e);
      continue;
    }
    const key = String((e.params as { additionalProperty: unknown }).additionalProperty);
    const parent = e.data as Record<string, unknown>;
    const segments = [...pathPrefix, ...e.instancePath.split('/').slice(1), key];
    unsupported.push(`${formatPath(segments)}=${describeValue(parent[key])}`);
  }
  const invalid = rewriteErrors(rest).map((i) => ({
    path:
      pathPrefix.length === 0
        ? i.path
        : i.path === ''
          ? formatPath(pathPrefix)
          : `${formatPath(pathPrefix)}.${i.path}`,
    message: i.message,
  }));
  return { unsupported, invalid };
}

/**
 * Validates a plugin configuration object and fills in defaults (mtu, ipam). Returns a defaulted
 * clone; `value` itself is not modified.
 */
export function checkNetConfig(value: unknown): { config: Record<string, unknown>; issues: ConfigIssues } {
  const config = structuredClone(value) as Record<string, unknown>;
  applySchemaDefaults(trellisNetConfigSchema, config);
  const issues = validateNetConfig(config)
    ? { unsupported: [], invalid: [] }
    : splitIssues(validateNetConfig.errors ?? [], []);
  const ipam = config['ipam'] as { assignIPv4?: unknown; assignIPv6?: unknown } | undefined;
  if (ipam !== undefined && ipam.assignIPv4 === false && ipam.assignIPv6 === false) {
    issues.invalid.push({
      path: 'ipam',
      message: 'must assign at least one of IPv4 (assignIPv4) and IPv6 (assignIPv6)',
    });
  }
  return { config, issues };
}

/** Validation problems of a CNI result found at `path` (e.g. `prevResult`); empty when valid. */
export function resultIssues(value: unknown, path: string): ValidationIssue[] {
  if (validateResult(value)) return [];
  return splitIssues(validateResult.errors ?? [], [path]).invalid;
}
