// Pure builders and decoders for route (RTM_*ROUTE) messages, including ECMP (RTA_MULTIPATH).
import { familyBytes, formatAddressBytes, hasHostBitsAt } from '../net/index.js';
import { type IpFamily, parseCidr, parseIp, scanCanonicalIPv4Cidr } from './address.js';
import { familyValue } from './address-messages.js';
import {
  align4,
  attrBytes,
  attrMap,
  decodeNextHops,
  decodeRtMsg,
  encodeNextHops,
  encodeRtMsg,
  forEachAttr,
  type NlMessage,
  type RtMsg,
  writeAttrBytes,
  writeAttrIPv4,
  writeAttrU32,
  writeRtMsg,
} from './codec.js';
import {
  AF_INET,
  AF_INET6,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLMSG_HDRLEN,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
  RTA_DST,
  RTA_GATEWAY,
  RTA_HDRLEN,
  RTA_MULTIPATH,
  RTA_NH_ID,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTMSG_LEN,
  RTN_BLACKHOLE,
  RTN_LOCAL,
  RTN_PROHIBIT,
  RTN_UNICAST,
  RTN_UNSPEC,
  RTNH_F_ONLINK,
  RTPROT_UNSPEC,
  TRELLIS_RT_PROTO,
} from './constants.js';
import { NetlinkDecodeError, NetlinkInputError } from './errors.js';
import { type Scope, scopeName, scopeValue } from './scope.js';
import { makeRequest, type NetlinkRequest, RequestBatch } from './socket.js';

/** rtm_type names (linux/rtnetlink.h RTN_*), in numeric order from RTN_UNSPEC = 0. */
const ROUTE_TYPES = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
] as const;

export type RouteType = (typeof ROUTE_TYPES)[number];

export interface NextHopSpec {
  /** At least one of gateway and oif. */
  readonly gateway?: string;
  readonly oif?: number;
  /** ECMP weight 1..256, default 1. */
  readonly weight?: number;
}

export interface RouteSpec {
  readonly family: IpFamily;
  /** Destination prefix; a bare address means /32 or /128. Host bits must be zero. */
  readonly dst: string;
  /** Default 'unicast'. */
  readonly type?: RouteType;
  /** rtm_protocol. Default on add: TRELLIS_RT_PROTO; on delete: unset (matches any). */
  readonly protocol?: number;
  /** Routing table id. Default main (254). */
  readonly table?: number;
  /** Default as iproute2: 'host' for local, 'link' for gateway-less unicast, else 'universe'. */
  readonly scope?: Scope;
  readonly gateway?: string;
  readonly oif?: number;
  /** RTA_PRIORITY. */
  readonly metric?: number;
  /** Preferred source address (RTA_PREFSRC). */
  readonly src?: string;
  /** Gateway is on-link even if no address covers it (RTNH_F_ONLINK). */
  readonly onlink?: boolean;
  readonly multipath?: readonly NextHopSpec[];
  /** A nexthop object (RTA_NH_ID) instead of gateway, oif and multipath. */
  readonly nhid?: number;
}

/** A route as the kernel reports it: the always-present fields are filled in. */
export interface RouteInfo extends RouteSpec {
  readonly type: RouteType;
  readonly protocol: number;
  readonly table: number;
  readonly scope: Scope;
}

export type RouteOp = 'add' | 'replace' | 'delete';

function routeTypeValue(type: RouteType): number {
  const value = ROUTE_TYPES.indexOf(type);
  if (value === -1) throw new NetlinkInputError(`unknown route type "${type}"`);
  return value;
}

function checkU32(value: number, what: string, min = 0): void {
  if (!Number.isInteger(value) || value < min || value > 0xffffffff) {
    throw new NetlinkInputError(`invalid ${what} ${value}`);
  }
}

/**
 * The last gateway parsed: a batch of a full table names one or a few gateways 100k times.
 * Its bytes are only ever read (copied into messages), so sharing them is safe.
 */
let lastGateway: { readonly text: string; readonly family: IpFamily; readonly bytes: Uint8Array } | undefined;

function gatewayBytes(gateway: string, family: IpFamily, dst: string): Uint8Array {
  if (lastGateway !== undefined && lastGateway.text === gateway && lastGateway.family === family) {
    return lastGateway.bytes;
  }
  let bytes: Uint8Array;
  try {
    bytes = parseIp(gateway, family).bytes;
  } catch {
    throw new NetlinkInputError(`route ${dst}: gateway "${gateway}" is not an IPv${family} address`);
  }
  lastGateway = { text: gateway, family, bytes };
  return bytes;
}

function defaultScope(op: RouteOp, typeValue: number, hasNextHop: boolean): number {
  if (op === 'delete') return RT_SCOPE_NOWHERE; // "any scope" for the kernel's delete match
  if (typeValue === RTN_LOCAL) return RT_SCOPE_HOST;
  if (typeValue === RTN_UNICAST && !hasNextHop) return RT_SCOPE_LINK;
  return RT_SCOPE_UNIVERSE;
}

/** How errors name a route: 'route 10.0.0.0/24 type blackhole table 254'. */
export function describeRoute(spec: RouteSpec): string {
  const type = spec.type === undefined ? '' : ` type ${spec.type}`;
  return `route ${spec.dst}${type} table ${spec.table ?? RT_TABLE_MAIN}`;
}

/** Everything a route message carries, validated and in wire form. */
interface RouteWire {
  readonly header: RtMsg;
  readonly table: number;
  readonly dst: Uint8Array | undefined;
  /** An IPv4 dst as a number (host order), instead of `dst`'s bytes; -1 when unused. */
  readonly dst4: number;
  readonly gateway: Uint8Array | undefined;
  readonly oif: number | undefined;
  readonly metric: number | undefined;
  readonly prefsrc: Uint8Array | undefined;
  /** The encoded RTA_MULTIPATH value. */
  readonly multipath: Buffer | undefined;
  readonly nhid: number | undefined;
}

function optionalAttrLength(value: Uint8Array | number | undefined): number {
  if (value === undefined) return 0;
  return RTA_HDRLEN + (typeof value === 'number' ? 4 : align4(value.length));
}

/**
 * A route request that writes itself straight into the socket's send buffer: route batches
 * carry 100k of these, and building attribute objects for each costs more than the kernel does.
 */
class RouteRequest implements NetlinkRequest {
  readonly type: number;
  readonly flags: number;
  readonly payloadLength: number;
  readonly #spec: RouteSpec;
  readonly #wire: RouteWire;

  constructor(type: number, flags: number, spec: RouteSpec, wire: RouteWire) {
    this.type = type;
    this.flags = flags;
    this.#spec = spec;
    this.#wire = wire;
    this.payloadLength =
      RTMSG_LEN +
      optionalAttrLength(wire.table) +
      optionalAttrLength(wire.dst) +
      (wire.dst4 < 0 ? 0 : RTA_HDRLEN + 4) +
      optionalAttrLength(wire.gateway) +
      optionalAttrLength(wire.oif) +
      optionalAttrLength(wire.metric) +
      optionalAttrLength(wire.prefsrc) +
      optionalAttrLength(wire.multipath) +
      optionalAttrLength(wire.nhid);
  }

  /** Built only if the kernel refuses the route. */
  get what(): string {
    return describeRoute(this.#spec);
  }

  writePayload(buf: Buffer, offset: number): void {
    const w = this.#wire;
    // encodeRouteBatch rewrites copies at fixed offsets: keep rtmsg, RTA_TABLE, RTA_DST first.
    let at = writeRtMsg(buf, offset, w.header);
    at = writeAttrU32(buf, at, RTA_TABLE, w.table);
    if (w.dst4 >= 0) at = writeAttrIPv4(buf, at, RTA_DST, w.dst4);
    else if (w.dst !== undefined) at = writeAttrBytes(buf, at, RTA_DST, w.dst);
    if (w.gateway !== undefined) at = writeAttrBytes(buf, at, RTA_GATEWAY, w.gateway);
    if (w.oif !== undefined) at = writeAttrU32(buf, at, RTA_OIF, w.oif);
    if (w.metric !== undefined) at = writeAttrU32(buf, at, RTA_PRIORITY, w.metric);
    if (w.prefsrc !== undefined) at = writeAttrBytes(buf, at, RTA_PREFSRC, w.prefsrc);
    if (w.multipath !== undefined) at = writeAttrBytes(buf, at, RTA_MULTIPATH, w.multipath);
    if (w.nhid !== undefined) writeAttrU32(buf, at, RTA_NH_ID, w.nhid);
  }
}

function encodeMultipath(spec: RouteSpec, hops: readonly NextHopSpec[], flags: number): Buffer {
  return encodeNextHops(
    hops.map((hop) => {
      const weight = hop.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1 || weight > 256) {
        throw new NetlinkInputError(`route ${spec.dst}: ECMP weight ${weight} out of 1..256`);
      }
      if (hop.oif !== undefined) checkU32(hop.oif, 'next-hop interface', 1);
      if (hop.gateway === undefined && hop.oif === undefined) {
        throw new NetlinkInputError(`route ${spec.dst}: a next hop needs a gateway or an oif`);
      }
      return {
        flags,
        hops: weight - 1,
        ifindex: hop.oif ?? 0,
        attrs:
          hop.gateway === undefined
            ? []
            : [attrBytes(RTA_GATEWAY, gatewayBytes(hop.gateway, spec.family, spec.dst))],
      };
    }),
  );
}

/**
 * Builds RTM_NEWROUTE (add: NLM_F_EXCL, replace: NLM_F_REPLACE) or RTM_DELROUTE. Every field is
 * validated here, before anything is sent, so bad input never leaves a half-applied batch.
 * On delete only the fields the caller gave are matched (as `ip route del` does).
 */
export function routeRequest(op: RouteOp, spec: RouteSpec): NetlinkRequest {
  const af = familyValue(spec.family);
  // A full table's dsts are canonical IPv4 text: read without building bytes and a CIDR object.
  const scanned = spec.family === 4 ? scanCanonicalIPv4Cidr(spec.dst) : -1;
  const dst = scanned >= 0 ? undefined : parseCidr(spec.dst, spec.family);
  if (dst !== undefined && hasHostBitsAt(dst.bytes, 0, dst.family, dst.prefixLen)) {
    throw new NetlinkInputError(`route ${spec.dst}: host bits set beyond /${dst.prefixLen}`);
  }
  const dstLen = dst === undefined ? scanned % 64 : dst.prefixLen;
  const table = spec.table ?? RT_TABLE_MAIN;
  checkU32(table, 'routing table', 1);
  const isDelete = op === 'delete';
  const typeValue =
    spec.type === undefined ? (isDelete ? RTN_UNSPEC : RTN_UNICAST) : routeTypeValue(spec.type);
  const protocol = spec.protocol ?? (isDelete ? RTPROT_UNSPEC : TRELLIS_RT_PROTO);
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) {
    throw new NetlinkInputError(`invalid route protocol ${protocol} (0..255)`);
  }
  const multipath = spec.multipath ?? [];
  if (spec.nhid !== undefined) {
    checkU32(spec.nhid, 'nexthop id', 1);
    if (spec.gateway !== undefined || spec.oif !== undefined || spec.multipath !== undefined) {
      throw new NetlinkInputError(`route ${spec.dst}: give either nhid or gateway/oif/multipath, not both`);
    }
  }
  const hasNextHop = spec.gateway !== undefined || multipath.length > 0 || spec.nhid !== undefined;
  if (typeValue >= RTN_BLACKHOLE && typeValue <= RTN_PROHIBIT && (hasNextHop || spec.oif !== undefined)) {
    throw new NetlinkInputError(`route ${spec.dst}: a ${spec.type} route takes no gateway or interface`);
  }
  if (multipath.length > 0 && (spec.gateway !== undefined || spec.oif !== undefined)) {
    throw new NetlinkInputError(`route ${spec.dst}: give either gateway/oif or multipath, not both`);
  }
  if (spec.multipath !== undefined && multipath.length === 0) {
    throw new NetlinkInputError(`route ${spec.dst}: multipath needs at least one next hop`);
  }
  if (spec.oif !== undefined) checkU32(spec.oif, 'output interface', 1);
  if (spec.metric !== undefined) checkU32(spec.metric, 'metric');
  const onlink = spec.onlink === true ? RTNH_F_ONLINK : 0;
  const header: RtMsg = {
    family: af,
    dstLen,
    srcLen: 0,
    tos: 0,
    // Tables above 255 only fit in RTA_TABLE; rtm_table then says "look at the attribute".
    table: table < 256 ? table : RT_TABLE_UNSPEC,
    protocol,
    scope: spec.scope === undefined ? defaultScope(op, typeValue, hasNextHop) : scopeValue(spec.scope),
    type: typeValue,
    flags: multipath.length > 0 ? 0 : onlink,
  };
  const wire: RouteWire = {
    header,
    table,
    dst: dst !== undefined && dstLen > 0 ? dst.bytes : undefined,
    dst4: dst === undefined && dstLen > 0 ? (scanned - dstLen) / 64 : -1,
    gateway: spec.gateway === undefined ? undefined : gatewayBytes(spec.gateway, spec.family, spec.dst),
    oif: spec.oif,
    metric: spec.metric,
    prefsrc: spec.src === undefined ? undefined : parseIp(spec.src, spec.family).bytes,
    multipath: multipath.length > 0 ? encodeMultipath(spec, multipath, onlink) : undefined,
    nhid: spec.nhid,
  };
  const flags =
    op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : op === 'replace' ? NLM_F_CREATE | NLM_F_REPLACE : 0;
  return new RouteRequest(isDelete ? RTM_DELROUTE : RTM_NEWROUTE, flags, spec, wire);
}

export interface RouteBatchOp {
  readonly op: 'replace' | 'delete';
  readonly route: RouteSpec;
}

/** An IPv4 route with a gateway and a metric: nlmsghdr, rtmsg and four attributes. */
const TYPICAL_ROUTE_MESSAGE_BYTES = 64;

/**
 * Encodes a batch, validating every op first (NetlinkInputError before anything is sent). An
 * IPv4 op that differs from the previously encoded one only in its destination is encoded as a
 * copy of that message with the destination rewritten: a full table's routes share everything
 * but the prefix, and this skips a request object and an encode per route.
 */
export function encodeRouteBatch(ops: readonly RouteBatchOp[]): RequestBatch {
  const batch = new RequestBatch((index) => describeRoute(ops[index]!.route), {
    messages: ops.length,
    bytes: ops.length * TYPICAL_ROUTE_MESSAGE_BYTES,
  });
  // The last op encoded in full whose message has an IPv4 RTA_DST, the template for copies.
  let template = -1;
  for (let index = 0; index < ops.length; index++) {
    const o = ops[index]!;
    if (o.op !== 'replace' && o.op !== 'delete') {
      throw new NetlinkInputError(`route batch op ${index}: unknown op "${String(o.op)}"`);
    }
    // address * 64 + length of a canonical IPv4 prefix of length > 0 (one that has RTA_DST).
    const scanned = o.route.family === 4 ? scanCanonicalIPv4Cidr(o.route.dst) : -1;
    const hasIPv4Dst = scanned % 64 > 0;
    if (template >= 0 && hasIPv4Dst) {
      const t = ops[template]!;
      if (t.op === o.op && sameButDestination(t.route, o.route)) {
        batch.repeat(template, writeIPv4Destination, scanned);
        continue;
      }
    }
    batch.add(routeRequest(o.op, o.route));
    if (hasIPv4Dst) template = index;
  }
  return batch;
}

/** Two specs that encode to the same message apart from the destination (same layout too). */
function sameButDestination(a: RouteSpec, b: RouteSpec): boolean {
  return (
    a.family === b.family &&
    a.type === b.type &&
    a.protocol === b.protocol &&
    a.table === b.table &&
    a.scope === b.scope &&
    a.gateway === b.gateway &&
    a.oif === b.oif &&
    a.metric === b.metric &&
    a.src === b.src &&
    a.onlink === b.onlink &&
    a.multipath === b.multipath &&
    a.nhid === b.nhid
  );
}

/** Offsets in an IPv4 route message as RouteRequest writes it: rtmsg, RTA_TABLE, then RTA_DST. */
const DST_LEN_AT = NLMSG_HDRLEN + 1;
const IPV4_DST_AT = NLMSG_HDRLEN + RTMSG_LEN + RTA_HDRLEN + 4 + RTA_HDRLEN;

/** Rewrites the destination of a copied IPv4 route message; `scanned` is address * 64 + length. */
function writeIPv4Destination(buf: Buffer, at: number, scanned: number): void {
  const length = scanned % 64;
  const address = (scanned - length) / 64;
  buf[at + DST_LEN_AT] = length;
  buf.writeUInt32BE(address, at + IPV4_DST_AT);
}

/** RTM_GETROUTE for one address: the kernel answers with the route it would use (`ip route get`). */
export function lookupRouteRequest(family: IpFamily, address: string): NetlinkRequest {
  let bytes: Uint8Array;
  try {
    bytes = parseIp(address, family).bytes;
  } catch {
    throw new NetlinkInputError(`"${address}" is not an IPv${family} address`);
  }
  const body = getRouteHeader(family, bytes.length * 8);
  return makeRequest(RTM_GETROUTE, 0, body, [attrBytes(RTA_DST, bytes)], `route to ${address}`);
}

/** The rtmsg of an RTM_GETROUTE: only the family and the length of a looked-up address. */
function getRouteHeader(family: IpFamily, dstLen: number): Buffer {
  return encodeRtMsg({
    family: familyValue(family),
    dstLen,
    srcLen: 0,
    tos: 0,
    table: 0,
    protocol: 0,
    scope: 0,
    type: 0,
    flags: 0,
  });
}

export function dumpRoutesRequest(family: IpFamily): NetlinkRequest {
  const body = getRouteHeader(family, 0);
  return makeRequest(RTM_GETROUTE, 0, body, [], `IPv${family} routes`);
}

/** The rtmsg header of a route message, for cheap filtering before a full decode. */
export function routeHeader(msg: NlMessage): RtMsg {
  return decodeRtMsg(msg.payload);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function decodeRoute(msg: NlMessage): RouteInfo {
  const p = msg.payload;
  const hdr = decodeRtMsg(p);
  const family: IpFamily | undefined = hdr.family === AF_INET ? 4 : hdr.family === AF_INET6 ? 6 : undefined;
  if (family === undefined) throw new NetlinkDecodeError(`route of address family ${hdr.family}`, 16);
  const type = ROUTE_TYPES[hdr.type];
  if (type === undefined) throw new NetlinkDecodeError(`unknown route type ${hdr.type}`, 16);
  const width = familyBytes(family);
  const addrAt = (at: number, length: number): string => {
    if (length !== width) throw new NetlinkDecodeError(`IPv${family} address of ${length} bytes`, at);
    // Straight from the buffer: a subarray per address costs more than formatting an IPv4 one.
    return formatAddressBytes(p, at, family);
  };
  const addr = (bytes: Uint8Array): string => {
    if (bytes.length !== width)
      throw new NetlinkDecodeError(`IPv${family} address of ${bytes.length} bytes`, 0);
    return formatAddressBytes(bytes, 0, family);
  };
  const u32 = (at: number, length: number, what: string): number => {
    if (length < 4) throw new NetlinkDecodeError(`${what}: need 4 bytes, have ${length}`, at);
    return p.readUInt32LE(at);
  };
  const route: Mutable<RouteInfo> = {
    family,
    dst: `${family === 4 ? '0.0.0.0' : '::'}/${hdr.dstLen}`,
    type,
    protocol: hdr.protocol,
    table: hdr.table,
    scope: scopeName(hdr.scope),
  };
  let onlink = (hdr.flags & RTNH_F_ONLINK) !== 0;
  forEachAttr(p, align4(RTMSG_LEN), p.length, (attr, at, length) => {
    switch (attr) {
      case RTA_DST:
        route.dst = `${addrAt(at, length)}/${hdr.dstLen}`;
        break;
      case RTA_TABLE:
        route.table = u32(at, length, 'RTA_TABLE');
        break;
      case RTA_GATEWAY:
        route.gateway = addrAt(at, length);
        break;
      case RTA_OIF:
        route.oif = u32(at, length, 'RTA_OIF');
        break;
      case RTA_NH_ID:
        route.nhid = u32(at, length, 'RTA_NH_ID');
        break;
      case RTA_PRIORITY:
        route.metric = u32(at, length, 'RTA_PRIORITY');
        break;
      case RTA_PREFSRC:
        route.src = addrAt(at, length);
        break;
      case RTA_MULTIPATH: {
        const hops = decodeNextHops(p.subarray(at, at + length));
        onlink = hops.length > 0 && hops.every((h) => (h.flags & RTNH_F_ONLINK) !== 0);
        route.multipath = hops.map((h) => {
          const gw = attrMap(h.attrs).get(RTA_GATEWAY);
          return {
            ...(gw === undefined ? {} : { gateway: addr(gw) }),
            ...(h.ifindex === 0 ? {} : { oif: h.ifindex }),
            weight: h.hops + 1,
          };
        });
        break;
      }
    }
  });
  if (onlink) route.onlink = true;
  return route;
}
