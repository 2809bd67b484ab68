// Pure builders and decoders for link (RTM_*LINK) messages.

import {
  attrBytes,
  attrMap,
  attrNested,
  attrString,
  attrU32,
  decodeAttrs,
  decodeIfInfoMsg,
  encodeAttrs,
  encodeIfInfoMsg,
  messageAttrs,
  type NlMessage,
  type RtAttr,
  readS32,
  readString,
  readU8,
  readU32,
} from './codec.js';
import {
  AF_UNSPEC,
  IFF_LOWER_UP,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  VETH_INFO_PEER,
} from './constants.js';
import { NetlinkInputError } from './errors.js';
import { makeRequest, type NetlinkRequest } from './socket.js';

export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';

const OPER_STATES: readonly OperState[] = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
];

export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  readonly mtu: number;
  /** Hardware address as lower-case 'aa:bb:..', undefined for devices without one. */
  readonly mac: string | undefined;
  /** ifi_flags (IFF_*). */
  readonly flags: number;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  readonly lowerUp: boolean;
  readonly operState: OperState;
  /** IFLA_INFO_KIND: 'veth', 'bridge', 'vxlan'...; undefined for plain devices (lo, eth0). */
  readonly kind: string | undefined;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace, see linkNetnsId). */
  readonly peerIndex: number | undefined;
  /** IFLA_LINK_NETNSID: the peer's namespace id, as seen from this namespace. */
  readonly linkNetnsId: number | undefined;
}

export interface VethPeerSpec {
  readonly name: string;
  /** An open namespace fd to create the peer in (the caller keeps ownership). */
  readonly netnsFd?: number;
  /** A namespace path to create the peer in (opened and closed by RouteNetlink). */
  readonly netnsPath?: string;
  readonly mac?: string;
  /** Defaults to the host side's MTU. */
  readonly mtu?: number;
  // No `up`: the kernel opens the peer before the pair is linked, so IFF_UP there fails with
  // ENOTCONN. Bring the peer up afterwards from a socket in its namespace.
}

export interface VethSpec {
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
  /** Bring the host side up as part of the creation (saves a round trip). */
  readonly up?: boolean;
  readonly peer: VethPeerSpec;
}

/** Linux IFNAMSIZ is 16 including the NUL; '/', whitespace and ':' break sysfs/ip parsing. */
export function validateLinkName(name: string): void {
  if (
    name.length === 0 ||
    Buffer.byteLength(name) > 15 ||
    name === '.' ||
    name === '..' ||
    /[\s/:]/.test(name)
  ) {
    throw new NetlinkInputError(`invalid interface name "${name}" (1-15 bytes, no '/', ':' or spaces)`);
  }
}

export function parseMac(mac: string): Uint8Array {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) {
    throw new NetlinkInputError(`invalid MAC address "${mac}" (want aa:bb:cc:dd:ee:ff)`);
  }
  return Uint8Array.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

function validateMtu(mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new NetlinkInputError(`invalid MTU ${mtu} (68..65535)`);
  }
}

function ifinfo(index: number, up?: boolean): Buffer {
  return encodeIfInfoMsg({
    family: AF_UNSPEC,
    type: 0,
    index,
    flags: up === true ? IFF_UP : 0,
    change: up === undefined ? 0 : IFF_UP,
  });
}

function linkAttrs(name: string, mtu?: number, mac?: string): RtAttr[] {
  validateLinkName(name);
  const attrs: RtAttr[] = [attrString(IFLA_IFNAME, name)];
  if (mtu !== undefined) {
    validateMtu(mtu);
    attrs.push(attrU32(IFLA_MTU, mtu));
  }
  if (mac !== undefined) attrs.push(attrBytes(IFLA_ADDRESS, parseMac(mac)));
  return attrs;
}

/**
 * One RTM_NEWLINK that creates both ends: the peer (VETH_INFO_PEER carries its own ifinfomsg and
 * attributes) is created directly in the namespace given by `peerNetnsFd`, so no half-made pair
 * is ever visible. NLM_F_EXCL makes an existing name fail with EEXIST instead of being reused.
 */
export function newVethRequest(spec: VethSpec, peerNetnsFd: number | undefined): NetlinkRequest {
  const hostAttrs = linkAttrs(spec.name, spec.mtu, spec.mac);
  const peerAttrs = linkAttrs(spec.peer.name, spec.peer.mtu ?? spec.mtu, spec.peer.mac);
  if (peerNetnsFd !== undefined) peerAttrs.push(attrU32(IFLA_NET_NS_FD, peerNetnsFd));
  const peer = Buffer.concat([ifinfo(0), encodeAttrs(peerAttrs)]);
  hostAttrs.push(
    attrNested(IFLA_LINKINFO, [
      attrString(IFLA_INFO_KIND, 'veth'),
      attrNested(IFLA_INFO_DATA, [attrBytes(VETH_INFO_PEER, peer)]),
    ]),
  );
  return makeRequest(
    RTM_NEWLINK,
    NLM_F_CREATE | NLM_F_EXCL,
    ifinfo(0, spec.up),
    hostAttrs,
    `veth ${spec.name} peer ${spec.peer.name}`,
  );
}

export interface LinkChanges {
  readonly up?: boolean;
  readonly mtu?: number;
  readonly mac?: string;
  /** Move the link into the namespace of this fd. */
  readonly netnsFd?: number;
}

/** RTM_NEWLINK without NLM_F_CREATE on an existing index modifies it (what `ip link set` sends). */
export function setLinkRequest(index: number, changes: LinkChanges): NetlinkRequest {
  validateIndex(index);
  const attrs: RtAttr[] = [];
  if (changes.mtu !== undefined) {
    validateMtu(changes.mtu);
    attrs.push(attrU32(IFLA_MTU, changes.mtu));
  }
  if (changes.mac !== undefined) attrs.push(attrBytes(IFLA_ADDRESS, parseMac(changes.mac)));
  if (changes.netnsFd !== undefined) attrs.push(attrU32(IFLA_NET_NS_FD, changes.netnsFd));
  return makeRequest(RTM_NEWLINK, 0, ifinfo(index, changes.up), attrs, `link ${index}`);
}

export type LinkRef = string | number;

function refRequest(type: number, ref: LinkRef): NetlinkRequest {
  if (typeof ref === 'number') {
    validateIndex(ref);
    return makeRequest(type, 0, ifinfo(ref), [], `link ${ref}`);
  }
  validateLinkName(ref);
  return makeRequest(type, 0, ifinfo(0), [attrString(IFLA_IFNAME, ref)], `link ${ref}`);
}

export function deleteLinkRequest(ref: LinkRef): NetlinkRequest {
  return refRequest(RTM_DELLINK, ref);
}

export function getLinkRequest(ref: LinkRef): NetlinkRequest {
  return refRequest(RTM_GETLINK, ref);
}

export function dumpLinksRequest(): NetlinkRequest {
  return makeRequest(RTM_GETLINK, 0, ifinfo(0), [], 'links');
}

function validateIndex(index: number): void {
  if (!Number.isInteger(index) || index <= 0 || index > 0x7fffffff) {
    throw new NetlinkInputError(`invalid interface index ${index}`);
  }
}

export function decodeLink(msg: NlMessage): LinkInfo {
  const hdr = decodeIfInfoMsg(msg.payload);
  const attrs = attrMap(messageAttrs(msg, IFINFOMSG_LEN));
  const name = attrs.get(IFLA_IFNAME);
  const mtu = attrs.get(IFLA_MTU);
  const mac = attrs.get(IFLA_ADDRESS);
  const oper = attrs.get(IFLA_OPERSTATE);
  const link = attrs.get(IFLA_LINK);
  const netnsId = attrs.get(IFLA_LINK_NETNSID);
  const linkInfo = attrs.get(IFLA_LINKINFO);
  const kind = linkInfo === undefined ? undefined : attrMap(decodeAttrs(linkInfo)).get(IFLA_INFO_KIND);
  return {
    index: hdr.index,
    name: name === undefined ? '' : readString(name),
    mtu: mtu === undefined ? 0 : readU32(mtu, 'IFLA_MTU'),
    mac: mac === undefined || mac.length === 0 ? undefined : formatMac(mac),
    flags: hdr.flags,
    up: (hdr.flags & IFF_UP) !== 0,
    lowerUp: (hdr.flags & IFF_LOWER_UP) !== 0,
    operState: (oper === undefined ? undefined : OPER_STATES[readU8(oper, 'IFLA_OPERSTATE')]) ?? 'unknown',
    kind: kind === undefined ? undefined : readString(kind),
    peerIndex: link === undefined ? undefined : readU32(link, 'IFLA_LINK'),
    linkNetnsId: netnsId === undefined ? undefined : readS32(netnsId, 'IFLA_LINK_NETNSID'),
  };
}
