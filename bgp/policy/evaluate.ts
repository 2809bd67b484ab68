// Evaluating a RoutePolicy on one route. Pure; results for the same (attributes, statement,
// context) are memoised, so 100k prefixes sharing one attribute set cost one rewrite.
import type { AsPathSegment, LargeCommunity, Prefix } from '../codec/index.js';
import { internAttrs } from '../rib/intern.js';
import type { PathAttrs } from '../rib/path.js';
import type { PolicyStatement, RouteAction, RouteMatch, RoutePolicy } from './model.js';
import { entryMatches } from './prefix-match.js';

export interface PolicyContext {
  /** The AS `prepend` uses when the action names none: ours on export, the peer's on import. */
  readonly prependAs: number;
}

export type PolicyVerdict =
  | {
      readonly accepted: false /** Index of the rejecting statement; -1: the default. */;
      readonly statement: number;
    }
  | {
      readonly accepted: true;
      readonly statement: number;
      /** Interned: identical to the input when no action changed anything. */
      readonly attrs: PathAttrs;
      readonly nextHopSelf: boolean;
    };

const sameLarge = (a: LargeCommunity, b: LargeCommunity): boolean =>
  a.globalAdmin === b.globalAdmin && a.localData1 === b.localData1 && a.localData2 === b.localData2;

/** `have` followed by the elements of `add` not already present (RFC 1997 lists are sets). */
function union<T>(have: readonly T[], add: readonly T[], same: (a: T, b: T) => boolean): T[] {
  const out = [...have];
  for (const x of add) if (!out.some((y) => same(x, y))) out.push(x);
  return out;
}

function matches(m: RouteMatch, prefix: Prefix, attrs: PathAttrs): boolean {
  if (m.prefixes !== undefined && !m.prefixes.some((e) => entryMatches(e, prefix))) return false;
  if (m.communities !== undefined && !m.communities.some((c) => attrs.communities.includes(c))) return false;
  if (
    m.largeCommunities !== undefined &&
    !m.largeCommunities.some((c) => attrs.largeCommunities.some((have) => sameLarge(c, have)))
  ) {
    return false;
  }
  return true;
}

/** Prepends `count` copies of asn to the leading AS_SEQUENCE (a new one if the path starts otherwise). */
export function prependAs(path: readonly AsPathSegment[], asn: number, count: number): AsPathSegment[] {
  const added = new Array<number>(count).fill(asn);
  const [first, ...rest] = path;
  if (first?.type === 'sequence' && first.asns.length + count <= 255) {
    return [{ type: 'sequence', asns: [...added, ...first.asns] }, ...rest];
  }
  return [{ type: 'sequence', asns: added }, ...path];
}

function apply(a: PathAttrs, action: RouteAction, ctx: PolicyContext): PathAttrs {
  switch (action.type) {
    case 'set-communities':
      return { ...a, communities: [...action.communities] };
    case 'add-communities':
      return { ...a, communities: union(a.communities, action.communities, (x, y) => x === y) };
    case 'remove-communities':
      return { ...a, communities: a.communities.filter((c) => !action.communities.includes(c)) };
    case 'add-large-communities':
      return { ...a, largeCommunities: union(a.largeCommunities, action.communities, sameLarge) };
    case 'remove-large-communities':
      return {
        ...a,
        largeCommunities: a.largeCommunities.filter((c) => !action.communities.some((r) => sameLarge(c, r))),
      };
    case 'set-local-pref':
      return { ...a, localPref: action.localPref };
    case 'set-med':
      return { ...a, med: action.med };
    case 'prepend':
      return { ...a, asPath: prependAs(a.asPath, action.asn ?? ctx.prependAs, action.count) };
    case 'next-hop-self':
      return a;
  }
}

const memo = new WeakMap<PolicyStatement, WeakMap<PathAttrs, Map<number, PathAttrs>>>();

function rewrite(statement: PolicyStatement, attrs: PathAttrs, ctx: PolicyContext): PathAttrs {
  if (statement.actions.every((a) => a.type === 'next-hop-self')) return attrs;
  let byAttrs = memo.get(statement);
  if (byAttrs === undefined) {
    byAttrs = new WeakMap();
    memo.set(statement, byAttrs);
  }
  let byContext = byAttrs.get(attrs);
  if (byContext === undefined) {
    byContext = new Map();
    byAttrs.set(attrs, byContext);
  }
  const known = byContext.get(ctx.prependAs);
  if (known !== undefined) return known;
  const out = internAttrs(statement.actions.reduce((a, action) => apply(a, action, ctx), attrs));
  byContext.set(ctx.prependAs, out);
  return out;
}

/** First matching statement decides; its actions rewrite the attributes of an accepted route. */
export function evaluatePolicy(
  policy: RoutePolicy,
  prefix: Prefix,
  attrs: PathAttrs,
  ctx: PolicyContext,
): PolicyVerdict {
  const index = policy.statements.findIndex((s) => matches(s.match, prefix, attrs));
  const statement = policy.statements[index];
  if (statement === undefined) {
    return policy.defaultResult === 'accept'
      ? { accepted: true, statement: -1, attrs, nextHopSelf: false }
      : { accepted: false, statement: -1 };
  }
  if (statement.result === 'reject') return { accepted: false, statement: index };
  return {
    accepted: true,
    statement: index,
    attrs: rewrite(statement, attrs, ctx),
    nextHopSelf: statement.actions.some((a) => a.type === 'next-hop-self'),
  };
}
