// Public surface of the rtnetlink client (see docs/netlink.md).
export { type IpFamily, scanCanonicalIPv4Cidr } from './address.js';
export type { AddressInfo, AddressSpec } from './address-messages.js';
export { TRELLIS_RT_PROTO } from './constants.js';
export {
  errnoName,
  NetlinkDecodeError,
  NetlinkError,
  NetlinkInputError,
  NetlinkProtocolError,
  type NetlinkRequestInfo,
  NetlinkSyscallError,
} from './errors.js';
export type { LinkInfo, LinkRef, OperState, VethPeerSpec, VethSpec } from './link-messages.js';
export { LinkFlapTracker, LinkMonitor } from './link-monitor.js';
export {
  currentNetnsInode,
  NetnsAsyncCallbackError,
  netnsInode,
  openNetns,
  readSysctl,
  withNetns,
  writeSysctl,
} from './netns.js';
export type { NextHopObjectInfo, NextHopObjectSpec } from './nexthop-messages.js';
export {
  type RouteBatchOp,
  type RouteBatchOutcome,
  type RouteBatchResult,
  type RouteFilter,
  RouteNetlink,
} from './route.js';
export type { NextHopSpec, RouteInfo, RouteSpec, RouteType } from './route-messages.js';
export type { Scope } from './scope.js';
export type { BatchInFlight, NetlinkSocketOptions } from './socket.js';
