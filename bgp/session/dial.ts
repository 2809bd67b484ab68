// The production Dialer: a session's outgoing connection through bgp/transport.
import { connectBgp } from '../transport/index.js';
import type { SessionConfig } from './config.js';
import type { Dialer } from './socket.js';

/** Dials config.peerAddress:peerPort from localAddress/localPort with its MD5 key and GTSM. */
export function transportDialer(config: SessionConfig, timeoutMs?: number): Dialer {
  return (signal) =>
    connectBgp({
      host: config.peerAddress,
      port: config.peerPort,
      localAddress: config.localAddress,
      localPort: config.localPort,
      password: config.password,
      ttlSecurityHops: config.ttlSecurityHops,
      timeoutMs,
      signal,
    });
}
