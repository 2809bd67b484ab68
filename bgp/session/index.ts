// BGP sessions: the RFC 4271 FSM per peer, delivering to a SessionConsumer.

export { connectRetryDelay } from './backoff.js';
export type { Clock, TimerHandle } from './clock.js';
export { systemClock } from './clock.js';
export type {
  CapabilityName,
  CapabilitySettings,
  ConnectRetrySettings,
  GracefulRestartSettings,
  SessionConfig,
  SessionConfigInput,
} from './config.js';
export type {
  Negotiated,
  NegotiatedGracefulRestart,
  SessionConsumer,
  SessionDownReason,
  SessionState,
} from './consumer.js';
export { type DialerOptions, transportDialer } from './dial.js';
export { SessionConfigError, SessionNotEstablishedError } from './errors.js';
export { buildOpen, type CollisionSide, collisionLoser, negotiate } from './negotiate.js';
export { DEFAULT_CAPABILITIES, DEFAULT_CONNECT_RETRY, resolveSessionConfig } from './resolve.js';
export { BgpSession, cease, type SessionDeps, type SessionStatus } from './session.js';
export type { BgpSocket, Dialer } from './socket.js';
