// Validation of networking.k8s.io/v1 NetworkPolicy from untyped input (YAML, JSON, API
// objects), following the API server's ValidateNetworkPolicy, plus SetDefaults_NetworkPolicy.
// Unknown fields are rejected: a typo such as `form:` would otherwise silently allow all sources.
import { type Cidr, parseCidr } from './cidr.js';
import { IssueList, isRecord, readList, readStringMap, show } from './issues.js';
import {
  type IPBlock,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type NetworkPolicySpec,
  POLICY_TYPES,
  type PolicyType,
  PROTOCOLS,
  type Protocol,
} from './model.js';
import { parseSelector } from './selector.js';

/**
 * The policy types the API server stores: an explicit non-empty list is kept; otherwise
 * Ingress, plus Egress when there is at least one egress rule (so `egress: []` alone is an
 * ingress default-deny).
 */
export function defaultPolicyTypes(spec: Pick<NetworkPolicySpec, 'policyTypes' | 'egress'>): PolicyType[] {
  if (spec.policyTypes !== undefined && spec.policyTypes.length > 0) return [...spec.policyTypes];
  return (spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Throws PolicyValidationError listing every problem; returns the typed policy otherwise. */
export function parseNetworkPolicy(input: unknown, defaultNamespace = 'default'): NetworkPolicy {
  const issues = new IssueList();
  if (!isRecord(input)) {
    issues.add('', 'TypeInvalid', 'a NetworkPolicy must be an object');
    issues.throwIfAny();
  }
  const doc = input as Record<string, unknown>;
  const metadata = parseMetadata(doc['metadata'], defaultNamespace, issues);
  const spec = parseSpec(doc['spec'], 'spec', issues);
  issues.throwIfAny();
  const policy: NetworkPolicy = { metadata, spec };
  if (typeof doc['apiVersion'] === 'string') policy.apiVersion = doc['apiVersion'];
  if (typeof doc['kind'] === 'string') policy.kind = doc['kind'];
  return policy;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function parseMetadata(
  value: unknown,
  defaultNamespace: string,
  issues: IssueList,
): NetworkPolicy['metadata'] {
  if (!isRecord(value)) {
    issues.add('metadata', 'Required', 'must be an object with a name');
    return { name: '', namespace: defaultNamespace };
  }
  const name = value['name'];
  if (typeof name !== 'string' || name.length === 0)
    issues.add('metadata.name', 'Required', 'must be a non-empty string');
  else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    issues.add('metadata.name', 'Invalid', `${name}: must be a lowercase DNS-1123 subdomain`);
  }
  const namespace = value['namespace'] ?? defaultNamespace;
  if (typeof namespace !== 'string' || namespace.length > 63 || !DNS1123_LABEL.test(namespace)) {
    issues.add('metadata.namespace', 'Invalid', `${show(namespace)}: must be a lowercase DNS-1123 label`);
  }
  const metadata: NetworkPolicy['metadata'] = { name: String(name ?? ''), namespace: String(namespace) };
  const labels = readStringMap(value['labels'], 'metadata.labels', issues);
  if (labels !== undefined) metadata.labels = labels;
  return metadata;
}

function rejectUnknownFields(
  value: Record<string, unknown>,
  known: readonly string[],
  path: string,
  issues: IssueList,
) {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      issues.add(path === '' ? key : `${path}.${key}`, 'NotSupported', 'unknown field');
  }
}

function parseSpec(value: unknown, path: string, issues: IssueList): NetworkPolicySpec {
  if (!isRecord(value)) {
    issues.add(path, 'Required', 'must be an object');
    return { podSelector: {} };
  }
  rejectUnknownFields(value, ['podSelector', 'policyTypes', 'ingress', 'egress'], path, issues);
  if (value['podSelector'] === undefined || value['podSelector'] === null) {
    issues.add(`${path}.podSelector`, 'Required', 'must be specified (use {} to select all pods)');
  }
  const spec: NetworkPolicySpec = {
    podSelector: parseSelector(value['podSelector'] ?? {}, `${path}.podSelector`, issues),
  };

  const policyTypes = readList(value['policyTypes'], `${path}.policyTypes`, issues);
  if (policyTypes !== undefined) {
    if (policyTypes.length > POLICY_TYPES.length) {
      issues.add(`${path}.policyTypes`, 'Invalid', 'may not specify more than two policyTypes');
    }
    policyTypes.forEach((t, i) => {
      if (!(POLICY_TYPES as readonly unknown[]).includes(t)) {
        issues.add(
          `${path}.policyTypes[${i}]`,
          'NotSupported',
          `${show(t)}: must be one of ${POLICY_TYPES.join(', ')}`,
        );
      }
    });
    spec.policyTypes = policyTypes as PolicyType[];
  }

  const ingress = readList(value['ingress'], `${path}.ingress`, issues);
  if (ingress !== undefined) {
    spec.ingress = ingress.map((r, i) => {
      const rulePath = `${path}.ingress[${i}]`;
      const rule = parseRule(r, rulePath, 'from', issues);
      return { ...(rule.peers && { from: rule.peers }), ...(rule.ports && { ports: rule.ports }) };
    });
  }
  const egress = readList(value['egress'], `${path}.egress`, issues);
  if (egress !== undefined) {
    spec.egress = egress.map((r, i) => {
      const rule = parseRule(r, `${path}.egress[${i}]`, 'to', issues);
      return { ...(rule.peers && { to: rule.peers }), ...(rule.ports && { ports: rule.ports }) };
    });
  }
  return spec;
}

interface ParsedRule {
  peers?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

function parseRule(value: unknown, path: string, peersField: 'from' | 'to', issues: IssueList): ParsedRule {
  if (value === null) return {};
  if (!isRecord(value)) {
    issues.add(path, 'TypeInvalid', 'must be a rule object');
    return {};
  }
  rejectUnknownFields(value, [peersField, 'ports'], path, issues);
  const rule: ParsedRule = {};
  const peers = readList(value[peersField], `${path}.${peersField}`, issues);
  if (peers !== undefined)
    rule.peers = peers.map((p, i) => parsePeer(p, `${path}.${peersField}[${i}]`, issues));
  const ports = readList(value['ports'], `${path}.ports`, issues);
  if (ports !== undefined) rule.ports = ports.map((p, i) => parsePort(p, `${path}.ports[${i}]`, issues));
  return rule;
}

function parsePeer(value: unknown, path: string, issues: IssueList): NetworkPolicyPeer {
  if (!isRecord(value)) {
    issues.add(path, 'TypeInvalid', 'must be a peer object');
    return {};
  }
  rejectUnknownFields(value, ['podSelector', 'namespaceSelector', 'ipBlock'], path, issues);
  const peer: NetworkPolicyPeer = {};
  let count = 0;
  if (value['podSelector'] !== undefined && value['podSelector'] !== null) {
    peer.podSelector = parseSelector(value['podSelector'], `${path}.podSelector`, issues);
    count++;
  }
  if (value['namespaceSelector'] !== undefined && value['namespaceSelector'] !== null) {
    peer.namespaceSelector = parseSelector(value['namespaceSelector'], `${path}.namespaceSelector`, issues);
    count++;
  }
  if (value['ipBlock'] !== undefined && value['ipBlock'] !== null) {
    peer.ipBlock = parseIpBlock(value['ipBlock'], `${path}.ipBlock`, issues);
    count++;
  }
  if (count === 0)
    issues.add(path, 'Required', 'must specify a peer (podSelector, namespaceSelector or ipBlock)');
  else if (count > 1 && peer.ipBlock !== undefined) {
    issues.add(path, 'Forbidden', 'may not specify both ipBlock and another peer');
  }
  return peer;
}

function parseIpBlock(value: unknown, path: string, issues: IssueList): IPBlock {
  if (!isRecord(value)) {
    issues.add(path, 'TypeInvalid', 'must be an object with a cidr');
    return { cidr: '' };
  }
  rejectUnknownFields(value, ['cidr', 'except'], path, issues);
  const cidrText = value['cidr'];
  let cidr: Cidr | undefined;
  if (typeof cidrText !== 'string' || cidrText.length === 0) {
    issues.add(`${path}.cidr`, 'Required', 'must be a CIDR such as 10.0.0.0/16 or fd00::/64');
  } else {
    cidr = parseCidr(cidrText);
    if (cidr === undefined) issues.add(`${path}.cidr`, 'Invalid', `${cidrText} is not a valid CIDR`);
  }
  const block: IPBlock = { cidr: typeof cidrText === 'string' ? cidrText : '' };
  const except = readList(value['except'], `${path}.except`, issues);
  if (except !== undefined) {
    block.except = except.map((e, i) => {
      const ePath = `${path}.except[${i}]`;
      if (typeof e !== 'string') {
        issues.add(ePath, 'TypeInvalid', `${show(e)} must be a CIDR string`);
        return '';
      }
      const ex = parseCidr(e);
      if (ex === undefined) issues.add(ePath, 'Invalid', `${e} is not a valid CIDR`);
      else if (cidr !== undefined && (!cidr.contains(ex) || ex.length === cidr.length)) {
        issues.add(ePath, 'Invalid', `${e} is not inside cidr ${cidr} (must be a strict subset)`);
      }
      return e;
    });
  }
  return block;
}

const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Why `name` is not a valid port name (IANA_SVC_NAME), or undefined if it is one. */
export function portNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return 'a port name must be 1-15 characters';
  if (!IANA_SVC_NAME.test(name))
    return 'a port name must be lowercase alphanumerics or "-", not starting or ending with "-"';
  if (name.includes('--')) return 'a port name must not contain "--"';
  if (!/[a-z]/.test(name)) return 'a port name must contain at least one letter';
  return undefined;
}

function isPortNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function parsePort(value: unknown, path: string, issues: IssueList): NetworkPolicyPort {
  if (!isRecord(value)) {
    issues.add(path, 'TypeInvalid', 'must be a port object');
    return {};
  }
  rejectUnknownFields(value, ['protocol', 'port', 'endPort'], path, issues);
  const out: NetworkPolicyPort = {};
  const { protocol, port, endPort } = value;
  if (protocol !== undefined && protocol !== null) {
    if (!(PROTOCOLS as readonly unknown[]).includes(protocol)) {
      issues.add(
        `${path}.protocol`,
        'NotSupported',
        `${show(protocol)}: must be one of ${PROTOCOLS.join(', ')}`,
      );
    }
    out.protocol = protocol as Protocol;
  }
  const hasEndPort = endPort !== undefined && endPort !== null;
  if (port === undefined || port === null) {
    if (hasEndPort)
      issues.add(
        `${path}.endPort`,
        'Invalid',
        `${show(endPort)}: may not be specified when port is not specified`,
      );
  } else if (typeof port === 'number') {
    if (!isPortNumber(port))
      issues.add(`${path}.port`, 'Invalid', `${port}: must be between 1 and 65535, inclusive`);
    out.port = port;
    if (hasEndPort) {
      if (!isPortNumber(endPort)) {
        issues.add(`${path}.endPort`, 'Invalid', `${show(endPort)}: must be between 1 and 65535, inclusive`);
      } else if (endPort < port) {
        issues.add(`${path}.endPort`, 'Invalid', `${endPort}: must be greater than or equal to port ${port}`);
      }
      out.endPort = endPort as number;
    }
  } else if (typeof port === 'string') {
    const problem = portNameProblem(port);
    if (problem) issues.add(`${path}.port`, 'Invalid', `${port}: ${problem}`);
    if (hasEndPort)
      issues.add(
        `${path}.endPort`,
        'Invalid',
        `${show(endPort)}: may not be specified when port is a named port`,
      );
    out.port = port;
  } else {
    issues.add(`${path}.port`, 'TypeInvalid', `${show(port)} must be a port number or a port name`);
  }
  return out;
}
