// The BGP speaker: sessions + RIB + kernel sync + announcements + control API.

export { diffPeers, localRoutesOf, type PeerListChanges } from './announcements.js';
export { peerLinkFactory, type RunningSpeaker, type RunSpeakerOptions, runSpeaker } from './assemble.js';
export { ControlClientError, type ControlHandlers, ControlServer, controlRequest } from './control.js';
export {
  ControlProtocolError,
  type ControlQuery,
  type ControlRequest,
  type ControlResponse,
  decodeControlRequest,
  decodeControlResponse,
  encodeControlMessage,
} from './control-protocol.js';
export { kernelRouteOf } from './forwarding.js';
export {
  encodeBatch,
  PeerLink,
  type PeerLinkOptions,
  type PeerRib,
  sessionConfigOf,
  staleFamiliesOf,
} from './peer-link.js';
export type {
  ForwardingPath,
  LocalRoute,
  LocRibChange,
  SessionEvents,
  SessionFactory,
  SpeakerRib,
  SpeakerSession,
} from './ports.js';
export { ConvergenceTracker } from './restart.js';
export { BgpSpeaker, type BgpSpeakerOptions, SpeakerReconfigureError } from './speaker.js';
export type { KernelStatus, PathStatus, PeerStatus, RouteStatus } from './status.js';
