// From the speaker configuration's policies (bgp/config: YAML or BGPConfiguration/BGPPeer) to
// RoutePolicy. The config model is validated already; text forms are parsed here, and anything
// unparseable is still a PolicyError rather than a silently different policy.
import { type LargeCommunity, parsePrefix } from '../codec/index.js';
import type { PolicyStatement as ConfigStatement, Policy } from '../config/index.js';
import { definePolicy } from './define.js';
import { PolicyError } from './errors.js';
import type { PolicyStatement, RouteAction, RoutePolicy } from './model.js';

const DECIMAL = /^(0|[1-9][0-9]{0,9})$/;

function parts(text: string, count: number, max: number, field: string): number[] {
  const fields = text.split(':');
  if (fields.length !== count || !fields.every((f) => DECIMAL.test(f) && Number(f) <= max)) {
    throw new PolicyError(field, `"${text}" is not ${count} colon-separated decimals 0..${max}`);
  }
  return fields.map(Number);
}

export function parseCommunity(text: string, field: string): number {
  const [asn, value] = parts(text, 2, 0xffff, field);
  return asn! * 0x10000 + value!;
}

export function parseLargeCommunity(text: string, field: string): LargeCommunity {
  const [globalAdmin, localData1, localData2] = parts(text, 3, 0xffffffff, field);
  return { globalAdmin: globalAdmin!, localData1: localData1!, localData2: localData2! };
}

function statementOf(s: ConfigStatement, field: string): PolicyStatement {
  const prefixes = s.match.prefixes?.map((p, i) => {
    const at = `${field}.match.prefixes[${i}]`;
    let prefix: ReturnType<typeof parsePrefix>;
    try {
      prefix = parsePrefix(p.prefix);
    } catch (err) {
      throw new PolicyError(`${at}.prefix`, (err as Error).message);
    }
    return {
      prefix,
      ...(p.ge === undefined ? {} : { ge: p.ge }),
      ...(p.le === undefined ? {} : { le: p.le }),
    };
  });
  const communities = s.match.communities?.map((c, i) =>
    parseCommunity(c, `${field}.match.communities[${i}]`),
  );
  const set = s.set ?? {};
  const actions: RouteAction[] = [];
  if (set.addCommunities !== undefined) {
    const list = set.addCommunities.map((c, i) => parseCommunity(c, `${field}.set.addCommunities[${i}]`));
    actions.push({ type: 'add-communities', communities: list });
  }
  if (set.addLargeCommunities !== undefined) {
    const list = set.addLargeCommunities.map((c, i) =>
      parseLargeCommunity(c, `${field}.set.addLargeCommunities[${i}]`),
    );
    actions.push({ type: 'add-large-communities', communities: list });
  }
  if (set.localPref !== undefined) actions.push({ type: 'set-local-pref', localPref: set.localPref });
  if (set.med !== undefined) actions.push({ type: 'set-med', med: set.med });
  return {
    match: {
      ...(prefixes === undefined ? {} : { prefixes }),
      ...(communities === undefined ? {} : { communities }),
    },
    result: s.action,
    actions,
  };
}

/** The RoutePolicy for the config's policy `name`; PolicyError names the offending field. */
export function fromConfigPolicy(name: string, policy: Policy): RoutePolicy {
  return definePolicy({
    name,
    statements: policy.statements.map((s, i) => statementOf(s, `${name}.statements[${i}]`)),
    defaultResult: policy.defaultAction,
  });
}

/** Every policy of a speaker configuration (`SpeakerConfig.policies`). */
export function fromConfigPolicies(
  policies: Readonly<Record<string, Policy>>,
): ReadonlyMap<string, RoutePolicy> {
  return new Map(Object.entries(policies).map(([name, p]) => [name, fromConfigPolicy(name, p)]));
}
