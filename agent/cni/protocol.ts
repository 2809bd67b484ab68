// The CNI execution protocol (spec 1.1.0, sections 2 and 5), pure: turns the runtime's CNI_*
// environment and stdin into a typed request, and results/errors into the JSON the runtime
// reads on stdout. Checks run in the order the reference skeleton uses (environment, decoding,
// version, configuration) so a runtime sees the same code for the same mistake.
import { type ConfigIssues, checkNetConfig, resultIssues } from './config-schema.js';
import {
  CNI_ERR_DECODING_FAILURE,
  CNI_ERR_INCOMPATIBLE_VERSION,
  CNI_ERR_INVALID_ENVIRONMENT,
  CNI_ERR_INVALID_NETWORK_CONFIG,
  CNI_ERR_UNSUPPORTED_FIELD,
  CniError,
} from './errors.js';
import {
  CNI_COMMANDS,
  type CniCommand,
  type CniDns,
  type CniInterface,
  type CniIpConfig,
  type CniRequest,
  type CniResult,
  type CniRoute,
  type CniVersion,
  SUPPORTED_CNI_VERSIONS,
  type TrellisNetConfig,
} from './types.js';

/** Used in replies when the request carries no usable cniVersion. */
export const DEFAULT_CNI_VERSION: CniVersion = '1.1.0';

export interface CniVersionRequest {
  command: 'VERSION';
  /** Echoed in the reply, whatever it is: VERSION is how a runtime finds out what we support. */
  cniVersion: string;
}

export type ParsedCniRequest = CniRequest | CniVersionRequest;

type Env = Readonly<Record<string, string | undefined>>;

// Spec section 2 "CNI operations": required environment per command. CNI_COMMAND is always required.
const REQUIRED_ENV: Readonly<Record<CniCommand, readonly string[]>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  GC: ['CNI_PATH'],
  STATUS: [],
  VERSION: [],
};

// Commands newer than the oldest version we accept.
const MIN_VERSION_FOR_COMMAND: Partial<Record<CniCommand, CniVersion>> = { STATUS: '1.1.0', GC: '1.1.0' };

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_IFNAME_LENGTH = 15;

const isCniCommand = (s: string): s is CniCommand => (CNI_COMMANDS as readonly string[]).includes(s);
const isSupportedVersion = (s: string): s is CniVersion =>
  (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(s);
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and validates one plugin invocation. Throws CniError with the spec's code. */
export function parseCniRequest(env: Env, stdin: Uint8Array): ParsedCniRequest {
  const command = parseCommand(env['CNI_COMMAND']);
  if (command === 'VERSION') return { command, cniVersion: requestedCniVersion(stdin) };
  const vars = checkEnvironment(command, env);
  const document = decodeConfig(stdin);
  const cniVersion = checkVersion(command, document);
  const { config, issues } = checkNetConfig(document);
  throwOnIssues(issues);
  const netConfig = toNetConfig(config, cniVersion);
  const path = (vars['CNI_PATH'] ?? '').split(':').filter((p) => p !== '');
  if (command === 'STATUS') return { command, config: netConfig, path };
  if (command === 'GC') {
    const attachments = config['cni.dev/valid-attachments'] as
      | { containerID: string; ifname: string }[]
      | undefined;
    if (attachments === undefined) {
      throw new CniError(
        CNI_ERR_INVALID_NETWORK_CONFIG,
        'invalid network configuration',
        'cni.dev/valid-attachments: is required for GC',
      );
    }
    return {
      command,
      config: netConfig,
      path,
      validAttachments: attachments.map((a) => ({ containerId: a.containerID, ifName: a.ifname })),
    };
  }
  const attachment = {
    config: netConfig,
    path,
    containerId: vars['CNI_CONTAINERID']!,
    ifName: vars['CNI_IFNAME']!,
    args: parseCniArgs(vars['CNI_ARGS'] ?? ''),
  };
  const prevResult =
    config['prevResult'] === undefined ? undefined : parseResult(config['prevResult'], 'prevResult');
  const netns = vars['CNI_NETNS'];
  switch (command) {
    case 'ADD':
      return { command, ...attachment, netns: netns!, ...(prevResult ? { prevResult } : {}) };
    case 'DEL':
      return { command, ...attachment, ...(netns ? { netns } : {}), ...(prevResult ? { prevResult } : {}) };
    case 'CHECK':
      if (prevResult === undefined) {
        throw new CniError(
          CNI_ERR_INVALID_NETWORK_CONFIG,
          'invalid network configuration',
          'prevResult: is required for CHECK',
        );
      }
      return { command, ...attachment, netns: netns!, prevResult };
  }
}

function parseCommand(value: string | undefined): CniCommand {
  if (value === undefined || value === '') {
    throw new CniError(CNI_ERR_INVALID_ENVIRONMENT, 'required environment variables missing', 'CNI_COMMAND');
  }
  if (!isCniCommand(value)) {
    throw new CniError(
      CNI_ERR_INVALID_ENVIRONMENT,
      'invalid environment variable CNI_COMMAND',
      `CNI_COMMAND=${JSON.stringify(value)}: expected one of ${CNI_COMMANDS.join(', ')}`,
    );
  }
  return value;
}

/** Required variables present and well-formed; returns the non-empty CNI_* values. */
function checkEnvironment(command: CniCommand, env: Env): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('CNI_') && v !== undefined && v !== '') vars[k] = v;
  const missing = REQUIRED_ENV[command].filter((name) => vars[name] === undefined);
  if (missing.length > 0) {
    throw new CniError(
      CNI_ERR_INVALID_ENVIRONMENT,
      'required environment variables missing',
      missing.join(', '),
    );
  }
  const problems = Object.entries(ENV_CHECKS).flatMap(([name, check]) => {
    const value = vars[name];
    const problem = value === undefined ? undefined : check(value);
    return problem === undefined ? [] : [{ name, text: `${name}=${JSON.stringify(value)}: ${problem}` }];
  });
  if (problems.length > 0) {
    throw new CniError(
      CNI_ERR_INVALID_ENVIRONMENT,
      `invalid environment variables ${problems.map((p) => p.name).join(', ')}`,
      problems.map((p) => p.text).join('; '),
    );
  }
  return vars;
}

// Each returns what is wrong with a present value, or undefined.
const ENV_CHECKS: Readonly<Record<string, (value: string) => string | undefined>> = {
  CNI_CONTAINERID: (v) => (CONTAINER_ID.test(v) ? undefined : `must match ${CONTAINER_ID.source}`),
  CNI_IFNAME: interfaceNameProblem,
  CNI_NETNS: (v) => (v.startsWith('/') ? undefined : 'must be an absolute path to a network namespace'),
  CNI_ARGS: (v) => {
    const bad = v.split(';').find((pair) => pair !== '' && !/^[^=]+=/.test(pair));
    return bad === undefined ? undefined : `${JSON.stringify(bad)} is not KEY=VALUE`;
  },
};

// The kernel's dev_valid_name(): what `ip link` would refuse anyway, reported before any work.
function interfaceNameProblem(name: string): string | undefined {
  if (Buffer.byteLength(name) > MAX_IFNAME_LENGTH) return `must be at most ${MAX_IFNAME_LENGTH} bytes`;
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  if (/[/:\s]/.test(name)) return 'must not contain "/", ":" or whitespace';
  return undefined;
}

/** CNI_ARGS ("K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0") as key/value pairs; checked earlier. */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function decodeConfig(stdin: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(stdin));
  } catch (e) {
    throw new CniError(
      CNI_ERR_DECODING_FAILURE,
      'failed to decode network configuration',
      (e as Error).message,
    );
  }
  if (!isPlainObject(value)) {
    throw new CniError(
      CNI_ERR_DECODING_FAILURE,
      'failed to decode network configuration',
      'expected a JSON object',
    );
  }
  return value;
}

function checkVersion(command: CniCommand, config: Record<string, unknown>): CniVersion {
  const version = config['cniVersion'];
  if (version === undefined) {
    throw new CniError(
      CNI_ERR_INVALID_NETWORK_CONFIG,
      'invalid network configuration',
      'cniVersion: is required',
    );
  }
  if (typeof version !== 'string') {
    throw new CniError(
      CNI_ERR_INVALID_NETWORK_CONFIG,
      'invalid network configuration',
      `cniVersion: must be a string (got ${JSON.stringify(version)})`,
    );
  }
  if (!isSupportedVersion(version)) {
    throw new CniError(
      CNI_ERR_INCOMPATIBLE_VERSION,
      'incompatible CNI version',
      `cniVersion ${JSON.stringify(version)} is not supported; supported: ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
    );
  }
  const min = MIN_VERSION_FOR_COMMAND[command];
  if (min !== undefined && compareVersions(version, min) < 0) {
    throw new CniError(
      CNI_ERR_INCOMPATIBLE_VERSION,
      'incompatible CNI version',
      `${command} needs cniVersion ${min} or later (got ${version})`,
    );
  }
  return version;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

function throwOnIssues(issues: ConfigIssues): void {
  if (issues.unsupported.length > 0) {
    throw new CniError(
      CNI_ERR_UNSUPPORTED_FIELD,
      'unsupported field in network configuration',
      issues.unsupported.join('; '),
    );
  }
  if (issues.invalid.length > 0) {
    throw new CniError(
      CNI_ERR_INVALID_NETWORK_CONFIG,
      'invalid network configuration',
      issues.invalid.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; '),
    );
  }
}

// `config` has passed the schema with defaults applied, so the casts only restate it.
function toNetConfig(config: Record<string, unknown>, cniVersion: CniVersion): TrellisNetConfig {
  const pick = <K extends keyof TrellisNetConfig>(key: K): Partial<Pick<TrellisNetConfig, K>> =>
    config[key] === undefined ? {} : ({ [key]: config[key] } as Pick<TrellisNetConfig, K>);
  return {
    cniVersion,
    name: config['name'] as string,
    type: 'trellis-cni',
    mtu: config['mtu'] as number,
    ipam: config['ipam'] as TrellisNetConfig['ipam'],
    ...pick('agentSocket'),
    ...pick('logLevel'),
    ...pick('dns'),
    ...pick('runtimeConfig'),
    ...pick('args'),
  };
}

/** A result of any supported version (e.g. a `prevResult`) in the version-neutral shape. */
export function parseResult(value: unknown, path: string): CniResult {
  const issues = resultIssues(value, path);
  if (issues.length > 0) {
    throw new CniError(
      CNI_ERR_INVALID_NETWORK_CONFIG,
      'invalid network configuration',
      issues.map((i) => `${i.path}: ${i.message}`).join('; '),
    );
  }
  const r = value as Record<string, unknown>;
  const result: CniResult = {
    interfaces: ((r['interfaces'] ?? []) as Record<string, unknown>[]).map((i) =>
      pickKeys<CniInterface>(i, ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID']),
    ),
    ips: ((r['ips'] ?? []) as Record<string, unknown>[]).map((i) =>
      pickKeys<CniIpConfig>(i, ['address', 'gateway', 'interface']),
    ),
    routes: ((r['routes'] ?? []) as Record<string, unknown>[]).map((i) =>
      pickKeys<CniRoute>(i, ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope']),
    ),
  };
  if (r['dns'] !== undefined)
    result.dns = pickKeys<CniDns>(r['dns'] as Record<string, unknown>, [
      'nameservers',
      'domain',
      'search',
      'options',
    ]);
  return result;
}

function pickKeys<T>(source: object, keys: readonly (keyof T & string)[]): T {
  const out: Record<string, unknown> = {};
  const s = source as Record<string, unknown>;
  for (const k of keys) if (s[k] !== undefined) out[k] = s[k];
  return out as T;
}

// Which result fields each version defines (spec 0.4.0 "Result"; 1.0.0 and 1.1.0 section 5).
const INTERFACE_KEYS: Readonly<Record<CniVersion, readonly (keyof CniInterface)[]>> = {
  '0.4.0': ['name', 'mac', 'sandbox'],
  '1.0.0': ['name', 'mac', 'sandbox'],
  '1.1.0': ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID'],
};
const ROUTE_KEYS: Readonly<Record<CniVersion, readonly (keyof CniRoute)[]>> = {
  '0.4.0': ['dst', 'gw'],
  '1.0.0': ['dst', 'gw'],
  '1.1.0': ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'],
};

/** The ADD result as the given spec version writes it; fields the version lacks are dropped. */
export function formatResult(result: CniResult, version: CniVersion): Record<string, unknown> {
  const ips = result.ips.map((ip) => {
    const fields = pickKeys<Record<string, unknown>>(ip, ['address', 'gateway', 'interface']);
    // 0.3.x/0.4.0 carry the family explicitly; 1.0.0 removed it.
    return version === '0.4.0' ? { version: ip.address.includes(':') ? '6' : '4', ...fields } : fields;
  });
  return {
    cniVersion: version,
    interfaces: result.interfaces.map((i) => pickKeys<Record<string, unknown>>(i, INTERFACE_KEYS[version])),
    ips,
    routes: result.routes.map((r) => pickKeys<Record<string, unknown>>(r, ROUTE_KEYS[version])),
    ...(result.dns !== undefined ? { dns: result.dns } : {}),
  };
}

/** The VERSION reply. */
export function formatVersionReply(cniVersion: string): Record<string, unknown> {
  return { cniVersion, supportedVersions: [...SUPPORTED_CNI_VERSIONS] };
}

/** The error result; `cniVersion` is what the request asked for (see requestedCniVersion). */
export function formatError(error: CniError, cniVersion: string): Record<string, unknown> {
  return { cniVersion, code: error.code, msg: error.msg, details: error.details };
}

/**
 * The cniVersion to answer with, read leniently from stdin: replies echo the caller's version even
 * when the rest of the request is unusable; the default when there is none.
 */
export function requestedCniVersion(stdin: Uint8Array): string {
  try {
    const value: unknown = JSON.parse(
      Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength).toString('utf8'),
    );
    if (isPlainObject(value) && typeof value['cniVersion'] === 'string' && value['cniVersion'] !== '') {
      return value['cniVersion'];
    }
  } catch {
    // Not JSON: fall through to the default.
  }
  return DEFAULT_CNI_VERSION;
}
