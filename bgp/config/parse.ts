// Standalone config: YAML text -> validated, fully defaulted SpeakerConfig.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { InvalidPrefixError, isAddress, Prefix } from '../../src/net/index.js';
import { schemaIssues } from '../../src/resources/ajv.js';
import { formatPath, type ValidationIssue } from '../../src/resources/errors.js';
import { applySchemaDefaults } from '../../src/resources/schema.js';
import { BgpConfigError } from './errors.js';
import type { AddressFamily, Policy, SpeakerConfig } from './model.js';
import { speakerConfigSchema } from './schema.js';

const UINT16 = 0xffff;
const UINT32 = 0xffffffff;

type Loose = Record<string, unknown>;
const asObject = (v: unknown): Loose =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Loose) : {};
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export const familyOf = (address: string): AddressFamily => (address.includes(':') ? 'ipv6' : 'ipv4');

/** Reads and validates a config file; BgpConfigError (naming each field) when it is invalid. */
export async function loadSpeakerConfig(path: string): Promise<SpeakerConfig> {
  return parseSpeakerConfig(await readFile(path, 'utf8'), path);
}

/** Parses YAML (or JSON) config text; `source` names it in errors. */
export function parseSpeakerConfig(text: string, source: string): SpeakerConfig {
  // Freshly parsed: ours to fill with defaults, no copy needed.
  return validateOwnedConfig(parseText(text, source), source);
}

/**
 * JSON text (what tools generate: the benchmark's 100k announcements, 2.9 s through the YAML
 * parser) goes through JSON.parse, ~20x faster; YAML 1.2 reads JSON to the same values. Text
 * JSON.parse refuses is YAML, or an error the YAML parser describes better.
 */
function parseText(text: string, source: string): unknown {
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON after all: YAML flow style, or a mistake for the YAML parser to explain.
    }
  }
  try {
    return parseYaml(text);
  } catch (err) {
    if (err instanceof YAMLParseError) throw new BgpConfigError(source, [{ path: '', message: err.message }]);
    throw err;
  }
}

/** Validates a config object (from YAML or the datastore translator) and fills in defaults. */
export function validateSpeakerConfig(raw: unknown, source: string): SpeakerConfig {
  return validateOwnedConfig(structuredClone(raw), source);
}

/** validateSpeakerConfig on a value nobody else holds: defaults are filled in in place. */
function validateOwnedConfig(value: unknown, source: string): SpeakerConfig {
  applySchemaDefaults(speakerConfigSchema, value);
  const policies = asObject(asObject(value)['policies']);
  for (const policy of Object.values(policies)) {
    applySchemaDefaults(speakerConfigSchema.properties!['policies']!.additionalProperties!, policy);
  }
  const issues = schemaIssues(speakerConfigSchema, value);
  if (issues.length > 0) throw new BgpConfigError(source, issues);
  const prefixes = semanticIssues(value as Loose, issues);
  if (issues.length > 0) throw new BgpConfigError(source, issues);
  return finish(value as Loose, prefixes);
}

/**
 * Fills per-peer defaults that depend on other fields (name, families) and puts each
 * announcement's prefix in canonical form (`prefixes`, parsed by the semantic checks).
 */
function finish(cfg: Loose, prefixes: readonly Prefix[]): SpeakerConfig {
  const peers = asArray(cfg['peers']).map((p) => {
    const peer = asObject(p);
    const address = String(peer['address']);
    return { ...peer, name: peer['name'] ?? address, families: peer['families'] ?? [familyOf(address)] };
  });
  const announcements = asArray(cfg['announcements']).map((a, i) => ({
    ...asObject(a),
    prefix: prefixes[i]!.toString(),
  }));
  return { ...cfg, peers, announcements } as unknown as SpeakerConfig;
}

/** Adds what the schema cannot check to `issues`; returns the announcements' parsed prefixes. */
function semanticIssues(cfg: Loose, issues: ValidationIssue[]): Prefix[] {
  const add = (path: string, message: string): void => {
    issues.push({ path, message });
  };
  const policies = asObject(cfg['policies']) as Record<string, Policy>;
  const names = new Set<string>();
  const addresses = new Set<string>();
  asArray(cfg['peers']).forEach((p, i) => {
    const peer = asObject(p);
    const path = `peers[${i}]`;
    const address = String(peer['address']);
    const name = String(peer['name'] ?? address);
    if (names.has(name)) add(`${path}.name`, `duplicates another peer's name "${name}"`);
    names.add(name);
    if (addresses.has(address)) add(`${path}.address`, `duplicates another peer's address ${address}`);
    addresses.add(address);
    const family = familyOf(address);
    const source = peer['sourceAddress'];
    if (typeof source === 'string' && familyOf(source) !== family) {
      add(`${path}.sourceAddress`, `must be an ${family} address like address (got "${source}")`);
    }
    for (const f of asArray(peer['families'])) {
      // Our next hop for a family is our address on the session; an IPv4 session has no IPv6 one.
      if (f !== family)
        add(`${path}.families`, `${String(f)} needs an ${String(f)} session (address is ${family})`);
    }
    timerIssues(path, Number(peer['holdTime']), Number(peer['keepaliveTime']), add);
    for (const key of ['importPolicy', 'exportPolicy']) {
      const ref = peer[key];
      if (typeof ref === 'string' && !Object.hasOwn(policies, ref))
        add(`${path}.${key}`, `no policy named "${ref}"`);
    }
  });
  const prefixes: Prefix[] = [];
  asArray(cfg['announcements']).forEach((a, i) => {
    const ann = asObject(a);
    const prefix = prefixIssue(`announcements[${i}].prefix`, ann['prefix'], add);
    if (prefix !== undefined) prefixes.push(prefix);
    communityIssues(`announcements[${i}].communities`, ann['communities'], 2, UINT16, add);
    communityIssues(`announcements[${i}].largeCommunities`, ann['largeCommunities'], 3, UINT32, add);
  });
  for (const [name, policy] of Object.entries(policies)) {
    asArray(asObject(policy)['statements']).forEach((s, i) => {
      const st = asObject(s);
      const path = formatPath(['policies', name, 'statements', i]);
      const match = asObject(st['match']);
      asArray(match['prefixes']).forEach((m, j) => {
        const pm = asObject(m);
        const prefix = prefixIssue(`${path}.match.prefixes[${j}].prefix`, pm['prefix'], add);
        if (prefix === undefined) return;
        const ge = typeof pm['ge'] === 'number' ? pm['ge'] : prefix.length;
        const le = typeof pm['le'] === 'number' ? pm['le'] : Math.max(ge, prefix.length);
        if (!(prefix.length <= ge && ge <= le && le <= prefix.bits)) {
          add(
            `${path}.match.prefixes[${j}]`,
            `needs ${prefix.length} <= ge <= le <= ${prefix.bits} (ge ${ge}, le ${le})`,
          );
        }
      });
      communityIssues(`${path}.match.communities`, match['communities'], 2, UINT16, add);
      const set = asObject(st['set']);
      communityIssues(`${path}.set.addCommunities`, set['addCommunities'], 2, UINT16, add);
      communityIssues(`${path}.set.addLargeCommunities`, set['addLargeCommunities'], 3, UINT32, add);
    });
  }
  const listen = asObject(cfg['listen']);
  if (typeof listen['address'] === 'string' && !isAddress(listen['address'])) {
    add('listen.address', `must be an IP address (got "${listen['address']}")`);
  }
  return prefixes;
}

export function timerIssues(
  path: string,
  holdTime: number,
  keepaliveTime: number,
  add: (path: string, message: string) => void,
): void {
  if (holdTime === 0 && keepaliveTime !== 0) {
    add(`${path}.keepaliveTime`, 'must be 0 when holdTime is 0 (no keepalives)');
  } else if (holdTime !== 0 && (keepaliveTime === 0 || keepaliveTime * 3 > holdTime)) {
    add(
      `${path}.keepaliveTime`,
      `must be between 1 and holdTime/3 = ${Math.floor(holdTime / 3)} (got ${keepaliveTime})`,
    );
  }
}

function prefixIssue(
  path: string,
  text: unknown,
  add: (path: string, message: string) => void,
): Prefix | undefined {
  try {
    return Prefix.parse(String(text));
  } catch (err) {
    if (!(err instanceof InvalidPrefixError)) throw err;
    add(path, err.message);
    return undefined;
  }
}

/** `65000:100` (RFC 1997, 16-bit fields) or `65000:1:2` (RFC 8092, 32-bit fields). */
export function communityIssues(
  path: string,
  list: unknown,
  parts: number,
  max: number,
  add: (path: string, message: string) => void,
): void {
  asArray(list).forEach((c, i) => {
    const fields = String(c).split(':');
    const ok =
      fields.length === parts && fields.every((f) => /^(0|[1-9][0-9]{0,9})$/.test(f) && Number(f) <= max);
    if (!ok)
      add(
        `${path}[${i}]`,
        `each of the ${parts} colon-separated fields must be a decimal 0..${max} (got "${String(c)}")`,
      );
  });
}
