// Pure builders and decoders for address (RTM_*ADDR) messages.
import { familyOfBytes, formatIp, type IpFamily, parseIp } from './address.js';
import {
  attrBytes,
  attrMap,
  attrU32,
  decodeIfAddrMsg,
  encodeIfAddrMsg,
  messageAttrs,
  type NlMessage,
  type RtAttr,
  readU32,
} from './codec.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_F_NODAD,
  IFA_FLAGS,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from './constants.js';
import { NetlinkDecodeError, NetlinkInputError } from './errors.js';
import { type Scope, scopeName, scopeValue } from './scope.js';
import { makeRequest, type NetlinkRequest } from './socket.js';

export interface AddressSpec {
  readonly ifindex: number;
  readonly family: IpFamily;
  readonly address: string;
  readonly prefixLen: number;
  /** Default 'universe'. */
  readonly scope?: Scope;
  /** IPv6: skip duplicate address detection (IFA_F_NODAD), so the address is usable at once. */
  readonly nodad?: boolean;
}

export interface AddressInfo {
  readonly ifindex: number;
  readonly family: IpFamily;
  readonly address: string;
  readonly prefixLen: number;
  readonly scope: Scope;
  /** IFA_F_* flags (IFA_FLAGS when present, else ifa_flags). */
  readonly flags: number;
}

export function familyValue(family: IpFamily): number {
  if (family === 4) return AF_INET;
  if (family === 6) return AF_INET6;
  throw new NetlinkInputError(`invalid address family ${String(family)} (4 or 6)`);
}

function addressMessage(type: number, flags: number, spec: AddressSpec): NetlinkRequest {
  const af = familyValue(spec.family);
  if (!Number.isInteger(spec.ifindex) || spec.ifindex <= 0) {
    throw new NetlinkInputError(`invalid interface index ${spec.ifindex}`);
  }
  const max = spec.family === 4 ? 32 : 128;
  if (!Number.isInteger(spec.prefixLen) || spec.prefixLen < 0 || spec.prefixLen > max) {
    throw new NetlinkInputError(`invalid prefix length ${spec.prefixLen} (0..${max})`);
  }
  const { bytes } = parseIp(spec.address, spec.family);
  const ifaFlags = spec.nodad === true ? IFA_F_NODAD : 0;
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer on point-to-point links,
  // which for ordinary addresses is the same value (what iproute2 sends).
  const attrs: RtAttr[] = [attrBytes(IFA_LOCAL, bytes), attrBytes(IFA_ADDRESS, bytes)];
  if (ifaFlags !== 0) attrs.push(attrU32(IFA_FLAGS, ifaFlags));
  const body = encodeIfAddrMsg({
    family: af,
    prefixLen: spec.prefixLen,
    flags: ifaFlags,
    scope: scopeValue(spec.scope ?? 'universe'),
    index: spec.ifindex,
  });
  return makeRequest(
    type,
    flags,
    body,
    attrs,
    `address ${spec.address}/${spec.prefixLen} on link ${spec.ifindex}`,
  );
}

/** Adds an address; EEXIST if present, unless `replace` (which updates it in place). */
export function newAddressRequest(spec: AddressSpec, replace: boolean): NetlinkRequest {
  return addressMessage(RTM_NEWADDR, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), spec);
}

export function deleteAddressRequest(spec: AddressSpec): NetlinkRequest {
  return addressMessage(RTM_DELADDR, 0, spec);
}

export function dumpAddressesRequest(family?: IpFamily): NetlinkRequest {
  const body = encodeIfAddrMsg({
    family: family === undefined ? AF_UNSPEC : familyValue(family),
    prefixLen: 0,
    flags: 0,
    scope: 0,
    index: 0,
  });
  return makeRequest(RTM_GETADDR, 0, body, [], 'addresses');
}

export function decodeAddress(msg: NlMessage): AddressInfo {
  const hdr = decodeIfAddrMsg(msg.payload);
  const attrs = attrMap(messageAttrs(msg, IFADDRMSG_LEN));
  const bytes = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (bytes === undefined) throw new NetlinkDecodeError('address message without IFA_LOCAL/IFA_ADDRESS', 0);
  const flags = attrs.get(IFA_FLAGS);
  return {
    ifindex: hdr.index,
    family: familyOfBytes(bytes),
    address: formatIp(bytes),
    prefixLen: hdr.prefixLen,
    scope: scopeName(hdr.scope),
    flags: flags === undefined ? hdr.flags : readU32(flags, 'IFA_FLAGS'),
  };
}
