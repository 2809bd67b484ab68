// The production Dialer: a session's outgoing connection through bgp/transport.
import { connectBgp } from '../transport/index.js';
import type { SessionConfig } from './config.js';
import type { Dialer } from './socket.js';

export interface DialerOptions {
  /** Give up on an unanswered connect after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Network namespace file to dial from (tests and labs); default: ours. */
  readonly netns?: string;
}

/** Dials config.peerAddress:peerPort from localAddress/localPort with its MD5 key and GTSM. */
export function transportDialer(config: SessionConfig, opts: DialerOptions = {}): Dialer {
  return (signal) =>
    connectBgp({
      host: config.peerAddress,
      port: config.peerPort,
      localAddress: config.localAddress,
      localPort: config.localPort,
      password: config.password,
      ttlSecurityHops: config.ttlSecurityHops,
      timeoutMs: opts.timeoutMs,
      netns: opts.netns,
      signal,
    });
}
