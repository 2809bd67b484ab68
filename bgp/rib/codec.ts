// Conversion between the codec's attribute lists and the RIB's PathAttrs + next hops. AS
// numbers are four-octet on both sides: the codec adds/removes AS_TRANS and AS4_PATH per the
// session's CodecOptions (RFC 6793), so nothing here depends on the session kind.
import type { IpFamily, PathAttribute } from '../codec/index.js';
import { RibError } from './errors.js';
import { internAttrs } from './intern.js';
import type { PathAttrs } from './path.js';

export interface NextHops {
  readonly nextHop: string;
  /** IPv6 only (RFC 2545). */
  readonly linkLocalNextHop?: string;
}

export interface ReceivedAttributes {
  readonly attrs: PathAttrs;
  /** Per family: IPv4 from NEXT_HOP (or an IPv4 MP_REACH), IPv6 from MP_REACH_NLRI. */
  readonly nextHops: Partial<Record<IpFamily, NextHops>>;
}

/**
 * The RIB view of an UPDATE's attributes. `field` names the source in errors. Throws RibError
 * when ORIGIN or AS_PATH is missing (the codec's RFC 7606 handling withdraws such routes, so
 * only a caller bypassing it gets here).
 */
export function fromCodecAttributes(list: readonly PathAttribute[], field: string): ReceivedAttributes {
  let origin: PathAttrs['origin'] | undefined;
  let asPath: PathAttrs['asPath'] | undefined;
  const attrs: {
    -readonly [K in keyof PathAttrs]?: PathAttrs[K];
  } = {};
  const nextHops: Partial<Record<IpFamily, NextHops>> = {};
  const unknown: PathAttrs['unknown'][number][] = [];
  for (const a of list) {
    switch (a.type) {
      case 'origin':
        origin = a.origin;
        break;
      case 'as-path':
        asPath = a.segments;
        break;
      case 'next-hop':
        nextHops.ipv4 = { nextHop: a.nextHop };
        break;
      case 'med':
        attrs.med = a.med;
        break;
      case 'local-pref':
        attrs.localPref = a.localPref;
        break;
      case 'atomic-aggregate':
        attrs.atomicAggregate = true;
        break;
      case 'aggregator':
        attrs.aggregator = { asn: a.asn, address: a.address };
        break;
      case 'communities':
        attrs.communities = a.communities;
        break;
      case 'originator-id':
        attrs.originatorId = a.originatorId;
        break;
      case 'cluster-list':
        attrs.clusterList = a.clusterIds;
        break;
      case 'mp-reach-nlri':
        nextHops[a.family] =
          a.linkLocalNextHop === undefined
            ? { nextHop: a.nextHop }
            : { nextHop: a.nextHop, linkLocalNextHop: a.linkLocalNextHop };
        break;
      case 'mp-unreach-nlri':
        break;
      case 'extended-communities':
        attrs.extCommunities = a.communities;
        break;
      case 'large-communities':
        attrs.largeCommunities = a.communities;
        break;
      case 'unknown':
        unknown.push(a);
        break;
    }
  }
  if (origin === undefined) throw new RibError(field, 'no ORIGIN attribute');
  if (asPath === undefined) throw new RibError(field, 'no AS_PATH attribute');
  return {
    attrs: internAttrs({
      ...attrs,
      origin,
      asPath,
      atomicAggregate: attrs.atomicAggregate ?? false,
      communities: attrs.communities ?? [],
      largeCommunities: attrs.largeCommunities ?? [],
      extCommunities: attrs.extCommunities ?? [],
      clusterList: attrs.clusterList ?? [],
      unknown,
    }),
    nextHops,
  };
}

/**
 * The attribute list to announce `attrs` with, for `packUpdates`: IPv4 with a classic NEXT_HOP,
 * IPv6 with an empty MP_REACH_NLRI template carrying the next hop(s). Empty lists are left out
 * (the codec refuses empty COMMUNITIES and friends, as peers would).
 */
export function toCodecAttributes(attrs: PathAttrs, family: IpFamily, hops: NextHops): PathAttribute[] {
  const out: PathAttribute[] = [
    { type: 'origin', origin: attrs.origin },
    { type: 'as-path', segments: attrs.asPath },
  ];
  if (family === 'ipv4') out.push({ type: 'next-hop', nextHop: hops.nextHop });
  else {
    out.push(
      hops.linkLocalNextHop === undefined
        ? { type: 'mp-reach-nlri', family, nextHop: hops.nextHop, nlri: [] }
        : {
            type: 'mp-reach-nlri',
            family,
            nextHop: hops.nextHop,
            linkLocalNextHop: hops.linkLocalNextHop,
            nlri: [],
          },
    );
  }
  if (attrs.med !== undefined) out.push({ type: 'med', med: attrs.med });
  if (attrs.localPref !== undefined) out.push({ type: 'local-pref', localPref: attrs.localPref });
  if (attrs.atomicAggregate) out.push({ type: 'atomic-aggregate' });
  if (attrs.aggregator !== undefined) out.push({ type: 'aggregator', ...attrs.aggregator });
  if (attrs.communities.length > 0) out.push({ type: 'communities', communities: attrs.communities });
  if (attrs.originatorId !== undefined) out.push({ type: 'originator-id', originatorId: attrs.originatorId });
  if (attrs.clusterList.length > 0) out.push({ type: 'cluster-list', clusterIds: attrs.clusterList });
  if (attrs.extCommunities.length > 0) {
    out.push({ type: 'extended-communities', communities: attrs.extCommunities });
  }
  if (attrs.largeCommunities.length > 0) {
    out.push({ type: 'large-communities', communities: attrs.largeCommunities });
  }
  out.push(...attrs.unknown);
  return out;
}
