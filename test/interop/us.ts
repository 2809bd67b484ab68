// Our side of an interop lab: BgpSessions in the 'us' namespace, each recording what its
// consumer is told, and one BGP listener (port 179 in 'us') for passive sessions.

import type { DecodedUpdate, RouteRefreshMessage } from '../../bgp/codec/index.js';
import {
  BgpSession,
  type Negotiated,
  resolveSessionConfig,
  type SessionConfigInput,
  type SessionConsumer,
  type SessionDownReason,
  type SessionState,
  transportDialer,
} from '../../bgp/session/index.js';
import { BgpListener } from '../../bgp/transport/index.js';
import type { InteropLab } from './peers.js';

export interface DownEvent {
  readonly reason: SessionDownReason;
  readonly wasEstablished: boolean;
  readonly grNegotiated: boolean;
}

/** A SessionConsumer that keeps everything it is told, for assertions. */
export class RecordingConsumer implements SessionConsumer {
  readonly established: Negotiated[] = [];
  readonly updates: DecodedUpdate[] = [];
  readonly refreshes: RouteRefreshMessage[] = [];
  readonly downs: DownEvent[] = [];
  readonly states: SessionState[] = [];

  onEstablished(negotiated: Negotiated): void {
    this.established.push(negotiated);
  }
  onUpdate(update: DecodedUpdate): void {
    this.updates.push(update);
  }
  onRouteRefresh(message: RouteRefreshMessage): void {
    this.refreshes.push(message);
  }
  onDown(reason: SessionDownReason, wasEstablished: boolean, grNegotiated: boolean): void {
    this.downs.push({ reason, wasEstablished, grNegotiated });
  }
  onStateChange(state: SessionState): void {
    this.states.push(state);
  }
}

export class OurSide {
  readonly #lab: InteropLab;
  #listener: BgpListener | undefined;
  readonly #sessions: BgpSession[] = [];

  constructor(lab: InteropLab) {
    this.#lab = lab;
  }

  /**
   * Starts our session with a peer of the lab: active (dials from our address on that link) or
   * passive (registered with the listener). Router id 10.251.0.1, connect retry 1 s.
   */
  async session(
    peerName: string,
    overrides: Partial<SessionConfigInput> = {},
  ): Promise<{ session: BgpSession; events: RecordingConsumer }> {
    const peer = this.#lab.peer(peerName);
    const config = resolveSessionConfig({
      peerAddress: peer.address,
      peerAs: peer.options.as,
      localAs: peer.options.ourAs,
      routerId: '10.251.0.1',
      localAddress: peer.ourAddress,
      connectRetry: { baseMs: 1000, maxMs: 2000 },
      ...overrides,
    });
    const events = new RecordingConsumer();
    const session = new BgpSession(config, events, {
      dial: transportDialer(config, { timeoutMs: 3000, netns: this.#lab.netns }),
    });
    if (config.passive) {
      this.#listener ??= await BgpListener.open({ address: '0.0.0.0', port: 179, netns: this.#lab.netns });
      this.#listener.addPeer(peer.address, { password: config.password, accept: (s) => session.accept(s) });
    }
    this.#sessions.push(session);
    session.start();
    return { session, events };
  }

  /** Stops one session and forgets its listener registration. */
  async stop(session: BgpSession, text = 'trellis interop test done'): Promise<void> {
    await session.stop(text);
    this.#listener?.removePeer(session.config.peerAddress);
  }

  async close(): Promise<void> {
    await Promise.all(this.#sessions.map((s) => s.stop('trellis interop test done')));
    await this.#listener?.close();
    this.#listener = undefined;
  }
}

/**
 * The YAML of our assembled speaker peering with every daemon `names` of the lab (from its own
 * address on each link), announcing `announcements` (YAML list items, indented two spaces).
 */
export function ourSpeakerYaml(
  lab: InteropLab,
  names: readonly string[],
  opts: { localAs: number; announcements: string; controlSocket?: string; gracefulRestartTime?: number },
): string {
  return [
    'routerId: 10.251.0.1',
    `localAs: ${opts.localAs}`,
    'listen: { port: 0 }',
    ...(opts.gracefulRestartTime === undefined ? [] : [`gracefulRestartTime: ${opts.gracefulRestartTime}`]),
    ...(opts.controlSocket === undefined ? [] : [`controlSocket: ${opts.controlSocket}`]),
    'peers:',
    ...names.map((name) => {
      const p = lab.peer(name);
      return `  - { name: ${name}, address: '${p.address}', sourceAddress: '${p.ourAddress}', as: ${p.options.as}, holdTime: 9, keepaliveTime: 3 }`;
    }),
    'announcements:',
    opts.announcements,
  ].join('\n');
}
