// Pure builders and decoders for nexthop objects (RTM_*NEXTHOP, Linux 5.3+): a gateway on an
// interface, kept once in the kernel, that routes name by id (RTA_NH_ID). A route that names one
// skips the kernel's per-route next-hop setup and checks (see docs/netlink.md).
import { familyOfBytes, formatIp, type IpFamily, parseIp } from './address.js';
import { familyValue } from './address-messages.js';
import { attrBytes, attrMap, attrU32, messageAttrs, type NlMessage, readU32 } from './codec.js';
import {
  AF_UNSPEC,
  NHA_GATEWAY,
  NHA_ID,
  NHA_OIF,
  NHMSG_LEN,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELNEXTHOP,
  RTM_GETNEXTHOP,
  RTM_NEWNEXTHOP,
  TRELLIS_RT_PROTO,
} from './constants.js';
import { NetlinkDecodeError, NetlinkInputError } from './errors.js';
import { makeRequest, type NetlinkRequest } from './socket.js';

export interface NextHopObjectSpec {
  /** 1..2^32-1, chosen by the caller (the kernel refuses an id in use: EEXIST). */
  readonly id: number;
  readonly family: IpFamily;
  readonly gateway: string;
  /** The interface the gateway is reached on: the kernel requires one. */
  readonly oif: number;
  /** nh_protocol. Default TRELLIS_RT_PROTO. */
  readonly protocol?: number;
}

/** A nexthop object as the kernel reports it (groups and blackholes have no gateway or oif). */
export interface NextHopObjectInfo {
  readonly id: number;
  readonly family: IpFamily | undefined;
  readonly protocol: number;
  readonly gateway?: string;
  readonly oif?: number;
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) {
    throw new NetlinkInputError(`invalid nexthop id ${id} (1..4294967295)`);
  }
}

/** struct nhmsg; scope and flags stay 0 (the kernel refuses anything else in a request). */
function nhmsg(family: number, protocol: number): Buffer {
  const b = Buffer.alloc(NHMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt8(protocol, 2);
  return b;
}

/** Creates a nexthop object; NetlinkError EEXIST when the id is taken. */
export function newNextHopRequest(spec: NextHopObjectSpec): NetlinkRequest {
  checkId(spec.id);
  if (!Number.isInteger(spec.oif) || spec.oif < 1 || spec.oif > 0x7fffffff) {
    throw new NetlinkInputError(`nexthop ${spec.id}: invalid interface index ${spec.oif}`);
  }
  const protocol = spec.protocol ?? TRELLIS_RT_PROTO;
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) {
    throw new NetlinkInputError(`nexthop ${spec.id}: invalid protocol ${protocol} (0..255)`);
  }
  let gateway: Uint8Array;
  try {
    gateway = parseIp(spec.gateway, spec.family).bytes;
  } catch {
    throw new NetlinkInputError(
      `nexthop ${spec.id}: gateway "${spec.gateway}" is not an IPv${spec.family} address`,
    );
  }
  return makeRequest(
    RTM_NEWNEXTHOP,
    NLM_F_CREATE | NLM_F_EXCL,
    nhmsg(familyValue(spec.family), protocol),
    [attrU32(NHA_ID, spec.id), attrU32(NHA_OIF, spec.oif), attrBytes(NHA_GATEWAY, gateway)],
    `nexthop ${spec.id} via ${spec.gateway} dev ${spec.oif}`,
  );
}

/** Deletes a nexthop object, and with it every route that names it; ENOENT when absent. */
export function deleteNextHopRequest(id: number): NetlinkRequest {
  checkId(id);
  return makeRequest(RTM_DELNEXTHOP, 0, nhmsg(AF_UNSPEC, 0), [attrU32(NHA_ID, id)], `nexthop ${id}`);
}

export function dumpNextHopsRequest(): NetlinkRequest {
  return makeRequest(RTM_GETNEXTHOP, 0, nhmsg(AF_UNSPEC, 0), [], 'nexthops');
}

export function decodeNextHop(msg: NlMessage): NextHopObjectInfo {
  if (msg.payload.length < NHMSG_LEN) throw new NetlinkDecodeError('truncated nhmsg', 0);
  const protocol = msg.payload.readUInt8(2);
  const attrs = attrMap(messageAttrs(msg, NHMSG_LEN));
  const id = attrs.get(NHA_ID);
  if (id === undefined) throw new NetlinkDecodeError('nexthop message without NHA_ID', 0);
  const gateway = attrs.get(NHA_GATEWAY);
  const oif = attrs.get(NHA_OIF);
  return {
    id: readU32(id, 'NHA_ID'),
    family: gateway === undefined ? undefined : familyOfBytes(gateway),
    protocol,
    ...(gateway === undefined ? {} : { gateway: formatIp(gateway) }),
    ...(oif === undefined ? {} : { oif: readU32(oif, 'NHA_OIF') }),
  };
}
