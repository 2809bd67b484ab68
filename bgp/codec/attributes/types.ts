// Path attributes as the rest of Trellis sees them: one interface per attribute, AS numbers
// always four-octet. AS4_PATH and AS4_AGGREGATOR never appear here: they are how a four-octet
// path travels through a two-octet session, so the UPDATE codec adds and removes them (RFC 6793).
import type { IpFamily, Prefix } from '../prefix.js';

export type Origin = 'igp' | 'egp' | 'incomplete';

export type AsPathSegmentType = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';

export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  /** 1..255 AS numbers, each 1..4294967295. */
  readonly asns: readonly number[];
}

export interface OriginAttribute {
  readonly type: 'origin';
  readonly origin: Origin;
}

export interface AsPathAttribute {
  readonly type: 'as-path';
  readonly segments: readonly AsPathSegment[];
}

export interface NextHopAttribute {
  readonly type: 'next-hop';
  readonly nextHop: string;
}

export interface MultiExitDiscAttribute {
  readonly type: 'med';
  readonly med: number;
}

export interface LocalPrefAttribute {
  readonly type: 'local-pref';
  readonly localPref: number;
}

export interface AtomicAggregateAttribute {
  readonly type: 'atomic-aggregate';
}

export interface AggregatorAttribute {
  readonly type: 'aggregator';
  readonly asn: number;
  readonly address: string;
}

export interface CommunitiesAttribute {
  readonly type: 'communities';
  /** RFC 1997 values as unsigned 32-bit numbers: (AS << 16) | value. */
  readonly communities: readonly number[];
}

export interface OriginatorIdAttribute {
  readonly type: 'originator-id';
  readonly originatorId: string;
}

export interface ClusterListAttribute {
  readonly type: 'cluster-list';
  readonly clusterIds: readonly string[];
}

export interface MpReachNlriAttribute {
  readonly type: 'mp-reach-nlri';
  /** AFI with SAFI unicast; other families are kept as UnknownAttribute. */
  readonly family: IpFamily;
  readonly nextHop: string;
  /** IPv6 only: the link-local half of a 32-octet next hop (RFC 2545). */
  readonly linkLocalNextHop?: string;
  readonly nlri: readonly Prefix[];
}

export interface MpUnreachNlriAttribute {
  readonly type: 'mp-unreach-nlri';
  readonly family: IpFamily;
  readonly withdrawn: readonly Prefix[];
}

/** RFC 4360: an 8-octet community; unrecognised types are not errors, so all are kept raw. */
export interface ExtendedCommunity {
  /** High type octet (bit 0x40 set means non-transitive across ASes). */
  readonly typeHigh: number;
  /** Low type octet (sub-type); for single-octet types it is the first value octet. */
  readonly typeLow: number;
  /** The remaining 6 octets. */
  readonly value: Buffer;
}

export interface ExtendedCommunitiesAttribute {
  readonly type: 'extended-communities';
  readonly communities: readonly ExtendedCommunity[];
}

export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

export interface LargeCommunitiesAttribute {
  readonly type: 'large-communities';
  readonly communities: readonly LargeCommunity[];
}

/** An attribute this codec does not interpret, kept byte for byte. Always optional (see decode). */
export interface UnknownAttribute {
  readonly type: 'unknown';
  readonly typeCode: number;
  /** Optional, Transitive and Partial bits; Extended Length is chosen on encode. */
  readonly flags: number;
  readonly value: Buffer;
}

export type PathAttribute =
  | OriginAttribute
  | AsPathAttribute
  | NextHopAttribute
  | MultiExitDiscAttribute
  | LocalPrefAttribute
  | AtomicAggregateAttribute
  | AggregatorAttribute
  | CommunitiesAttribute
  | OriginatorIdAttribute
  | ClusterListAttribute
  | MpReachNlriAttribute
  | MpUnreachNlriAttribute
  | ExtendedCommunitiesAttribute
  | LargeCommunitiesAttribute
  | UnknownAttribute;

export type PathAttributeOf<T extends PathAttribute['type']> = Extract<PathAttribute, { type: T }>;
