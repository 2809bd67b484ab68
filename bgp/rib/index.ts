// The RIB: Adj-RIB-In, Loc-RIB (RFC 4271 decision process + ECMP), Adj-RIB-Out with iBGP/eBGP
// and route-reflection rules, graceful-restart stale handling. Pure: no sockets, no timers.
export { AdjRibOut, type OutboundBatch, type OutboundGroup } from './adj-rib-out.js';
export { fromCodecAttributes, type NextHops, type ReceivedAttributes, toCodecAttributes } from './codec.js';
export {
  compareAddresses,
  DEFAULT_LOCAL_PREF,
  type DecisionOptions,
  equallyPreferred,
  neighbourAs,
  type Selection,
  selectPaths,
} from './decision.js';
export { RibError } from './errors.js';
export {
  type ExportRefusal,
  type ExportTarget,
  exportAttrs,
  exportRefusal,
  type NextHopMode,
  nextHopsFor,
  type SessionAddresses,
} from './export.js';
export { type ImportRefusal, importRefusal, type LoopCheck } from './import.js';
export { attrsKey, internAttrs } from './intern.js';
export { type Path, type PathAttrs, type PeerRef, type PeerType, samePath } from './path.js';
export {
  type LocRibChange,
  type PeerCounts,
  type PeerSettings,
  type ReceivedRoute,
  type ReceiveResult,
  Rib,
  type RibOptions,
  type SessionInfo,
} from './rib.js';
