// The BGP-4 wire codec: pure functions from messages to bytes and back. No sockets, timers or
// state beyond MessageReader's buffer; negotiated session state arrives as CodecOptions.
export { asPathLength, mergeAs4Path } from './attributes/as-path.js';
export {
  community,
  formatCommunity,
  formatLargeCommunity,
  WellKnownCommunity,
} from './attributes/communities.js';
export type { AttributeProblem } from './attributes/decode.js';
export { propagateUnknown } from './attributes/propagate.js';
export type { ErrorAction } from './attributes/rules.js';
export type {
  AggregatorAttribute,
  AsPathAttribute,
  AsPathSegment,
  AsPathSegmentType,
  AtomicAggregateAttribute,
  ClusterListAttribute,
  CommunitiesAttribute,
  ExtendedCommunitiesAttribute,
  ExtendedCommunity,
  LargeCommunitiesAttribute,
  LargeCommunity,
  LocalPrefAttribute,
  MpReachNlriAttribute,
  MpUnreachNlriAttribute,
  MultiExitDiscAttribute,
  NextHopAttribute,
  Origin,
  OriginAttribute,
  OriginatorIdAttribute,
  PathAttribute,
  PathAttributeOf,
  UnknownAttribute,
} from './attributes/types.js';
export type {
  Capability,
  EnhancedRouteRefreshCapability,
  ExtendedMessageCapability,
  FourOctetAsCapability,
  GracefulRestartCapability,
  GracefulRestartFamily,
  MultiprotocolCapability,
  RouteRefreshCapability,
  UnknownCapability,
} from './capabilities.js';
export { unsupportedCapabilityError } from './capabilities.js';
export {
  Afi,
  AS_TRANS,
  AttributeFlag,
  AttributeType,
  CapabilityCode,
  CeaseSubcode,
  ErrorCode,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageHeaderSubcode,
  MessageType,
  OpenSubcode,
  RouteRefreshSubcode,
  RouteRefreshSubtype,
  Safi,
  UpdateSubcode,
} from './constants.js';
export { BgpEncodeError, BgpError } from './errors.js';
export type { BgpMessage, DecodedMessage, KeepaliveMessage, MessageHeader } from './message.js';
export { decodeMessage, encodeMessage, readHeader } from './message.js';
export type { NotificationMessage } from './notification.js';
export { MAX_SHUTDOWN_COMMUNICATION, notificationFor, shutdownNotification } from './notification.js';
export type { OpenMessage } from './open.js';
export { openAsField, peerAsn } from './open.js';
export type { CodecOptions } from './options.js';
export { INITIAL_OPTIONS, maxMessageLength } from './options.js';
export { packUpdates, packWithdrawals } from './pack.js';
export type { IpFamily, Prefix } from './prefix.js';
export { formatPrefix, parsePrefix } from './prefix.js';
export { MessageReader } from './reader.js';
export type { RouteRefreshMessage } from './route-refresh.js';
export type { RouteChanges } from './routes.js';
export { endOfRib, endOfRibFamily, routeChanges } from './routes.js';
export type { DecodedUpdate, UpdateHandling, UpdateMessage } from './update.js';
