// One BGP peer: the RFC 4271 section 8 FSM over at most two TCP connections at a time (ours and
// the peer's, until collision detection keeps one). Time and the outgoing connection are
// injected, so the whole FSM runs in tests with a fake clock and in-memory sockets.

import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { isAddress, normalizeAddress } from '../../src/net/index.js';
import {
  Afi,
  BgpError,
  CeaseSubcode,
  type CodecOptions,
  type DecodedMessage,
  type DecodedUpdate,
  ErrorCode,
  encodeMessage,
  formatPrefix,
  INITIAL_OPTIONS,
  type IpFamily,
  MAX_SHUTDOWN_COMMUNICATION,
  MessageReader,
  type NotificationMessage,
  notificationFor,
  type OpenMessage,
  RouteRefreshSubtype,
  Safi,
} from '../codec/index.js';
import { connectRetryDelay } from './backoff.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import type { SessionConfig } from './config.js';
import type { Negotiated, SessionConsumer, SessionDownReason, SessionState } from './consumer.js';
import { SessionNotEstablishedError } from './errors.js';
import { buildOpen, collisionLoser, negotiate } from './negotiate.js';
import { screenUpdate } from './screen.js';
import { type BgpSocket, type Dialer, plainAddress } from './socket.js';

/** RFC 6608 FSM error subcodes: an unexpected message in this state. */
const FSM_SUBCODE = { OpenSent: 1, OpenConfirm: 2, Established: 3 } as const;
/** Whole messages are coalesced into writes of about this size: one syscall per ~16 full UPDATEs. */
const WRITE_BATCH_BYTES = 64 * 1024;
/** How long a closing connection may take to flush its NOTIFICATION before it is destroyed. */
const CLOSE_GRACE_MS = 2000;
/** Longest stretch of message handling before the event loop gets a turn (#readMessages). */
const READ_SLICE_MS = 5;
const KEEPALIVE = encodeMessage({ type: 'keepalive' }, INITIAL_OPTIONS);

type Direction = 'outbound' | 'inbound';
/** How a connection ends: NOTIFICATION then FIN, FIN alone, or destroyed at once. */
type Ending = 'notify' | 'fin' | 'abort';

class Connection {
  state: 'OpenSent' | 'OpenConfirm' | 'Established' = 'OpenSent';
  readonly reader = new MessageReader();
  codec: CodecOptions = INITIAL_OPTIONS;
  negotiated: Negotiated | undefined;
  /** Our address on this connection in the codec's canonical text, for the next-hop check. */
  ownAddress = '';
  holdTimer: TimerHandle | undefined;
  keepaliveTimer: TimerHandle | undefined;
  closed = false;
  /** Paused until the next event-loop turn (#readMessages): data meanwhile is only buffered. */
  yielding = false;
  /** UPDATE writes in call order; each waits for the previous one's 'drain'. */
  sending: Promise<void> = Promise.resolve();
  readonly closedPromise: Promise<void>;

  constructor(
    readonly socket: BgpSocket,
    readonly direction: Direction,
  ) {
    this.closedPromise = new Promise((resolve) => socket.once('close', resolve));
  }
}

export interface SessionStatus {
  readonly name: string;
  readonly peerAddress: string;
  readonly peerAs: number;
  readonly state: SessionState;
  /** Milliseconds since Established (clock time); absent when not Established. */
  readonly uptimeMs?: number;
  readonly lastError?: string;
  readonly negotiated?: Negotiated;
}

export interface SessionDeps {
  /** Opens the outgoing connection; required unless the session is passive. */
  readonly dial?: Dialer;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export class BgpSession {
  readonly config: SessionConfig;
  readonly #consumer: SessionConsumer;
  readonly #dial: Dialer | undefined;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #open: Buffer;
  #connections: Connection[] = [];
  #established: Connection | undefined;
  #establishedAt = 0;
  #running = false;
  #dialing: AbortController | undefined;
  #retryTimer: TimerHandle | undefined;
  #failures = 0;
  #lastError: string | undefined;
  #reportedState: SessionState = 'Idle';
  /** RFC 4271 6.3 semantic errors already logged for this peer (once each: a peer repeats them). */
  readonly #loggedSemantic = { ownNextHop: false, multicast: false };

  constructor(config: SessionConfig, consumer: SessionConsumer, deps: SessionDeps = {}) {
    if (!config.passive && deps.dial === undefined) throw new TypeError('an active session needs a dialer');
    this.config = config;
    this.#consumer = consumer;
    this.#dial = deps.dial;
    this.#clock = deps.clock ?? systemClock;
    this.#log = (deps.logger ?? silentLogger).child({ peer: config.name });
    this.#open = encodeMessage(buildOpen(config), INITIAL_OPTIONS);
  }

  get state(): SessionState {
    if (!this.#running) return 'Idle';
    if (this.#established !== undefined) return 'Established';
    if (this.#connections.some((c) => c.state === 'OpenConfirm')) return 'OpenConfirm';
    if (this.#connections.length > 0) return 'OpenSent';
    return this.#dialing !== undefined ? 'Connect' : 'Active';
  }

  /** Parameters of the Established session, if any. */
  get negotiated(): Negotiated | undefined {
    return this.#established?.negotiated;
  }

  status(): SessionStatus {
    const established = this.#established;
    return {
      name: this.config.name,
      peerAddress: this.config.peerAddress,
      peerAs: this.config.peerAs,
      state: this.state,
      ...(established !== undefined && {
        uptimeMs: this.#clock.now() - this.#establishedAt,
        negotiated: established.negotiated,
      }),
      ...(this.#lastError !== undefined && { lastError: this.#lastError }),
    };
  }

  /** ManualStart (or ManualStart_with_PassiveTcpEstablishment when passive). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#failures = 0;
    this.#dialOut();
    this.#stateMayHaveChanged();
  }

  /**
   * Takes an accepted TCP connection from this peer (the listener matched its address). Refused
   * when stopped. With an Established session the newcomer gets Cease/7 (RFC 4271 6.8), unless
   * graceful restart was negotiated: then it may be the peer back from a restart we did not
   * notice, and its OPEN decides (RFC 4724 4.2, see #onOpen). Our own connect still in progress
   * is abandoned; one already connected stays, for collision detection.
   */
  accept(socket: BgpSocket): void {
    if (!this.#running) {
      socket.destroy();
      return;
    }
    const established = this.#established;
    if (established !== undefined && established.negotiated?.gracefulRestart === undefined) {
      this.#log.info('connection from the peer while Established: Cease/7');
      socket.on('error', () => {});
      socket.write(encodeMessage(cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION), INITIAL_OPTIONS));
      this.#endGracefully(socket);
      return;
    }
    // The peer dialled again: its previous attempt is dead to it.
    for (const old of this.#connections.filter((c) => c.direction === 'inbound' && c !== established)) {
      this.#discard(old);
    }
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
    // RFC 4271 8.2.2 Connect state: the peer's connection (Event 17) replaces our connect still
    // in progress. Finishing ours too would only make a collision, which peers resolve racily.
    this.#dialing?.abort();
    this.#dialing = undefined;
    this.#attach(socket, 'inbound');
  }

  /**
   * Sends UPDATE messages (already encoded with `negotiated.codec`) in order, many per write,
   * waiting for 'drain' whenever the socket's buffer is full. Rejects with
   * SessionNotEstablishedError if the session is not (or stops being) Established.
   */
  sendUpdates(messages: readonly Buffer[]): Promise<void> {
    const conn = this.#established;
    if (conn === undefined)
      return Promise.reject(new SessionNotEstablishedError(`${this.config.name} is ${this.state}`));
    const write = async (): Promise<void> => {
      for (const chunk of batches(messages)) {
        if (conn.closed) throw new SessionNotEstablishedError(`${this.config.name} went down while sending`);
        if (!conn.socket.write(chunk)) await drained(conn);
      }
    };
    const done = conn.sending.then(write);
    conn.sending = done.catch(() => {});
    return done;
  }

  /** ROUTE-REFRESH (RFC 2918) or an enhanced route refresh marker (RFC 7313) for a family. */
  sendRouteRefresh(family: IpFamily, subtype: number = RouteRefreshSubtype.REQUEST): Promise<void> {
    const conn = this.#established;
    const negotiated = conn?.negotiated;
    if (conn === undefined || negotiated === undefined) {
      return Promise.reject(new SessionNotEstablishedError(`${this.config.name} is ${this.state}`));
    }
    const allowed =
      subtype === RouteRefreshSubtype.REQUEST ? negotiated.routeRefresh : negotiated.enhancedRouteRefresh;
    if (!allowed) return Promise.reject(new SessionNotEstablishedError('route refresh was not negotiated'));
    const afi = family === 'ipv4' ? Afi.IPV4 : Afi.IPV6;
    return this.sendUpdates([
      encodeMessage({ type: 'route-refresh', afi, safi: Safi.UNICAST, subtype }, conn.codec),
    ]);
  }

  /**
   * ManualStop: a Cease NOTIFICATION on every connection, then close. Administrative shutdown
   * (subcode 2, the default) and reset (4) carry `communication` (RFC 8203, cut to 255 octets);
   * other subcodes (3 peer de-configured, 6 other configuration change...) only log it.
   * Resolves when the sockets have closed.
   */
  async stop(communication = '', subcode: number = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN): Promise<void> {
    const notification = cease(subcode, communication);
    await this.#halt(
      { kind: 'notification-sent', notification, detail: `stopped: ${communication}` },
      'notify',
    );
  }

  /**
   * Stops like stop() but sends NO NOTIFICATION: every connection just ends with a TCP FIN.
   * This is how a restarting speaker leaves (RFC 4724 section 4): a peer that negotiated
   * graceful restart takes the lost connection for a restart, keeps our routes as stale and
   * waits for us to come back, where a NOTIFICATION would make it flush them (RFC 8538 aside).
   * The consumer's onDown gets `connection-lost`. Resolves when the sockets have closed.
   */
  async close(): Promise<void> {
    await this.#halt(
      { kind: 'connection-lost', detail: 'closed without NOTIFICATION (graceful restart)' },
      'fin',
    );
  }

  async #halt(reason: SessionDownReason, ending: Ending): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#dialing?.abort();
    this.#dialing = undefined;
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
    const closing = this.#connections.map((c) => c.closedPromise);
    for (const conn of [...this.#connections]) this.#close(conn, reason, ending);
    this.#stateMayHaveChanged();
    await Promise.all(closing);
  }

  #dialOut(): void {
    const dial = this.#dial;
    if (!this.#running || this.config.passive || dial === undefined || this.#dialing !== undefined) return;
    if (this.#established !== undefined || this.#connections.some((c) => c.direction === 'outbound')) return;
    const abort = new AbortController();
    this.#dialing = abort;
    dial(abort.signal).then(
      (socket) => {
        if (abort.signal.aborted || !this.#running || this.#established !== undefined) {
          socket.destroy();
          return;
        }
        this.#dialing = undefined;
        this.#attach(socket, 'outbound');
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        this.#dialing = undefined;
        this.#lastError = err instanceof Error ? err.message : String(err);
        this.#log.debug({ err }, 'connect failed');
        this.#failures++;
        this.#scheduleRetry();
        this.#stateMayHaveChanged();
      },
    );
  }

  #scheduleRetry(): void {
    if (!this.#running || this.config.passive || this.#retryTimer !== undefined) return;
    if (this.#connections.length > 0 || this.#dialing !== undefined) return;
    const delay = connectRetryDelay(this.#failures, this.config.connectRetry, this.#clock.random());
    this.#retryTimer = this.#clock.setTimer(delay, () => {
      this.#retryTimer = undefined;
      this.#dialOut();
      this.#stateMayHaveChanged();
    });
  }

  #attach(socket: BgpSocket, direction: Direction): void {
    const conn = new Connection(socket, direction);
    this.#connections.push(conn);
    socket.on('data', (chunk) => this.#onData(conn, chunk));
    socket.on('error', (err) => this.#close(conn, { kind: 'connection-lost', detail: err.message }, 'abort'));
    socket.on('close', () =>
      this.#close(conn, { kind: 'connection-lost', detail: 'the peer closed the connection' }, 'abort'),
    );
    this.#armHoldTimer(conn, this.config.openHoldTime);
    socket.write(this.#open);
    this.#stateMayHaveChanged();
  }

  #onData(conn: Connection, chunk: Buffer): void {
    conn.reader.push(chunk);
    if (!conn.yielding) this.#readMessages(conn);
  }

  /**
   * Handles the buffered messages, for at most READ_SLICE_MS at a time: then the socket pauses
   * and the rest waits for the next turn of the event loop. A peer sending a full table fills
   * the receive buffer faster than we decode it, and Node reads a busy socket again and again
   * within one turn, so without the pause nothing else ran until the table was in: not the
   * kernel sync's batch completions (the kernel's route inserts then started only at the end),
   * not the timers or other sessions.
   */
  #readMessages(conn: Connection): void {
    const started = this.#clock.now();
    while (!conn.closed) {
      let msg: DecodedMessage | undefined;
      try {
        msg = conn.reader.next(conn.codec);
      } catch (err) {
        if (!(err instanceof BgpError)) throw err;
        this.#fail(conn, err);
        return;
      }
      if (msg === undefined) return;
      this.#onMessage(conn, msg);
      if (this.#clock.now() - started >= READ_SLICE_MS && !conn.closed && conn.reader.bufferedBytes > 0) {
        conn.yielding = true;
        conn.socket.pause();
        setImmediate(() => {
          conn.yielding = false;
          if (conn.closed) return;
          conn.socket.resume();
          this.#readMessages(conn);
        });
        return;
      }
    }
  }

  #onMessage(conn: Connection, msg: DecodedMessage): void {
    if (msg.type === 'notification') {
      this.#close(conn, { kind: 'notification-received', notification: msg, detail: describe(msg) }, 'abort');
      return;
    }
    if (conn.state === 'OpenSent') {
      if (msg.type === 'open') this.#onOpen(conn, msg);
      else this.#fsmError(conn, msg.type);
      return;
    }
    // Any message from the peer shows it is alive (RFC 4271 8.2.2: KeepAliveMsg, UpdateMsg).
    this.#armHoldTimer(conn, conn.negotiated?.holdTime ?? 0);
    if (conn.state === 'OpenConfirm') {
      if (msg.type === 'keepalive') this.#onEstablished(conn);
      else this.#fsmError(conn, msg.type);
      return;
    }
    switch (msg.type) {
      case 'update':
        // RFC 7606 6: an error handled short of a reset is still logged, with the NOTIFICATION
        // it would have caused.
        if (msg.handling.kind !== 'ok') {
          const problems = msg.handling.problems.map((p) => `${p.reason} (3/${p.subcode}: ${p.action})`);
          this.#log.warn({ handling: msg.handling.kind, problems }, 'malformed UPDATE');
        }
        this.#consumer.onUpdate(this.#screen(msg, conn.ownAddress));
        return;
      case 'route-refresh':
        // RFC 7313 4: a refresh for a capability we did not negotiate is ignored.
        if (conn.negotiated?.routeRefresh === true) this.#consumer.onRouteRefresh(msg);
        return;
      case 'keepalive':
        return;
      case 'open':
        this.#fsmError(conn, msg.type);
        return;
    }
  }

  #onOpen(conn: Connection, open: OpenMessage): void {
    let negotiated: Negotiated;
    try {
      negotiated = negotiate(this.config, open, ends(conn.socket));
    } catch (err) {
      if (!(err instanceof BgpError)) throw err;
      this.#fail(conn, err);
      return;
    }
    const rival = this.#connections.find((c) => c !== conn && !c.closed && c.state !== 'OpenSent');
    if (rival?.state === 'Established' && rival.negotiated?.gracefulRestart !== undefined) {
      // RFC 4724 4.2: a valid OPEN on a new connection while Established means the peer
      // restarted and the old TCP connection is dead without our knowing. It counts as reset:
      // closed with no NOTIFICATION and reported as lost, so the peer's routes are kept stale.
      // Deciding on the OPEN, not the SYN, lets nothing but the peer's BGP end a working session.
      this.#log.warn('new connection from the peer while Established: it restarted (RFC 4724 4.2)');
      this.#close(
        rival,
        { kind: 'connection-lost', detail: 'the peer restarted: its new connection replaces this one' },
        'fin',
      );
    } else if (rival !== undefined) {
      const local = { id: this.config.routerId, as: this.config.localAs };
      const loser =
        rival.state === 'Established' ||
        rival.direction !== collisionLoser(local, { id: open.bgpId, as: negotiated.peerAs })
          ? conn
          : rival;
      this.#log.info({ closing: loser.direction }, 'connection collision');
      this.#close(
        loser,
        {
          kind: 'notification-sent',
          notification: cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION),
          detail: 'collision',
        },
        'notify',
        false,
      );
      if (loser === conn) return;
    }
    conn.negotiated = negotiated;
    conn.codec = negotiated.codec;
    conn.ownAddress = isAddress(negotiated.localAddress)
      ? normalizeAddress(negotiated.localAddress)
      : negotiated.localAddress;
    conn.state = 'OpenConfirm';
    conn.socket.write(KEEPALIVE);
    this.#armHoldTimer(conn, negotiated.holdTime);
    this.#armKeepalive(conn, negotiated.keepaliveTime);
    this.#stateMayHaveChanged();
  }

  #onEstablished(conn: Connection): void {
    const negotiated = conn.negotiated;
    if (negotiated === undefined) throw new Error('OpenConfirm without negotiated parameters');
    conn.state = 'Established';
    this.#established = conn;
    this.#establishedAt = this.#clock.now();
    this.#failures = 0;
    this.#lastError = undefined;
    this.#dialing?.abort();
    this.#dialing = undefined;
    for (const other of this.#connections.filter((c) => c !== conn)) {
      this.#close(
        other,
        {
          kind: 'notification-sent',
          notification: cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION),
          detail: 'collision',
        },
        'notify',
        false,
      );
    }
    this.#log.info({ holdTime: negotiated.holdTime, families: negotiated.families }, 'session established');
    this.#stateMayHaveChanged();
    this.#consumer.onEstablished(negotiated);
  }

  /** RFC 4271 6.3 checks that need the session (screen.ts), each kind logged once per peer. */
  #screen(update: DecodedUpdate, ownAddress: string): DecodedUpdate {
    const screened = screenUpdate(update, ownAddress);
    const own = screened.ownNextHop[0];
    if (own !== undefined && !this.#loggedSemantic.ownNextHop) {
      this.#loggedSemantic.ownNextHop = true;
      this.#log.warn(
        { nextHop: ownAddress, example: formatPrefix(own), count: screened.ownNextHop.length },
        'routes with our own address as next hop treated as withdrawn (RFC 4271 6.3; logged once per peer)',
      );
    }
    const multicast = screened.multicast[0];
    if (multicast !== undefined && !this.#loggedSemantic.multicast) {
      this.#loggedSemantic.multicast = true;
      this.#log.warn(
        { example: formatPrefix(multicast), count: screened.multicast.length },
        'multicast prefixes in unicast NLRI ignored (RFC 4271 6.3; logged once per peer)',
      );
    }
    return screened.update;
  }

  #fsmError(conn: Connection, type: string): void {
    const state = conn.state;
    this.#fail(
      conn,
      new BgpError(ErrorCode.FSM, FSM_SUBCODE[state], Buffer.alloc(0), `unexpected ${type} in ${state}`),
    );
  }

  #fail(conn: Connection, err: BgpError): void {
    this.#log.warn({ code: err.code, subcode: err.subcode }, err.message);
    this.#close(
      conn,
      { kind: 'notification-sent', notification: notificationFor(err, conn.codec), detail: err.message },
      'notify',
    );
  }

  #armHoldTimer(conn: Connection, seconds: number): void {
    conn.holdTimer?.cancel();
    conn.holdTimer = undefined;
    if (seconds === 0) return;
    conn.holdTimer = this.#clock.setTimer(seconds * 1000, () => {
      const expired: NotificationMessage = {
        type: 'notification',
        code: ErrorCode.HOLD_TIMER_EXPIRED,
        subcode: 0,
        data: Buffer.alloc(0),
      };
      this.#log.warn({ seconds }, 'hold timer expired');
      this.#close(
        conn,
        { kind: 'notification-sent', notification: expired, detail: `hold timer expired (${seconds} s)` },
        'notify',
      );
    });
  }

  #armKeepalive(conn: Connection, seconds: number): void {
    if (seconds === 0) return;
    const tick = (): void => {
      if (conn.closed) return;
      conn.socket.write(KEEPALIVE);
      conn.keepaliveTimer = this.#clock.setTimer(seconds * 1000, tick);
    };
    conn.keepaliveTimer = this.#clock.setTimer(seconds * 1000, tick);
  }

  /** Closes quietly: a connection superseded by a newer one from the same side. */
  #discard(conn: Connection): void {
    this.#close(conn, { kind: 'connection-lost', detail: 'superseded' }, 'abort', false);
  }

  /**
   * Ends one connection: 'notify' writes the reason's NOTIFICATION then FIN, 'fin' just FIN,
   * 'abort' destroys the socket. `report`: tell the consumer (not for the loser of a
   * collision, which was never the session).
   */
  #close(conn: Connection, reason: SessionDownReason, ending: Ending, report = true): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.holdTimer?.cancel();
    conn.keepaliveTimer?.cancel();
    this.#connections = this.#connections.filter((c) => c !== conn);
    const socket = conn.socket;
    if (ending !== 'abort' && !socket.destroyed) {
      if (ending === 'notify' && reason.kind === 'notification-sent') {
        socket.write(encodeMessage(reason.notification, conn.codec));
      }
      this.#endGracefully(socket);
    } else {
      socket.destroy();
    }
    const wasEstablished = this.#established === conn;
    if (wasEstablished) this.#established = undefined;
    if (report) {
      this.#lastError = reason.detail;
      this.#log.info({ reason: reason.kind, detail: reason.detail, wasEstablished }, 'connection closed');
    }
    if (report && (wasEstablished || this.#connections.length === 0)) {
      this.#failures++;
      this.#consumer.onDown(reason, wasEstablished, conn.negotiated?.gracefulRestart !== undefined);
    }
    this.#scheduleRetry();
    this.#stateMayHaveChanged();
  }

  /**
   * FIN after what was written, then destroy once the grace is over. A socket nobody reads never
   * sees the peer's FIN, so without the timer it would stay open (and keep its fd) for good.
   */
  #endGracefully(socket: BgpSocket): void {
    socket.end();
    const grace = this.#clock.setTimer(CLOSE_GRACE_MS, () => socket.destroy());
    socket.once('close', () => grace.cancel());
  }

  #stateMayHaveChanged(): void {
    const state = this.state;
    if (state === this.#reportedState) return;
    this.#reportedState = state;
    this.#consumer.onStateChange?.(state);
  }
}

/** A Cease NOTIFICATION; the text rides along only where RFC 8203 / 9003 allow it. */
export function cease(subcode: number, communication = ''): NotificationMessage {
  const carries =
    subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET;
  return {
    type: 'notification',
    code: ErrorCode.CEASE,
    subcode,
    ...(carries &&
      communication !== '' && {
        shutdownCommunication: truncateUtf8(communication, MAX_SHUTDOWN_COMMUNICATION),
      }),
    data: Buffer.alloc(0),
  };
}

/** The longest prefix of text whose UTF-8 fits in max octets, never splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  let size = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (size + n > max) break;
    out += ch;
    size += n;
  }
  return out;
}

function describe(n: NotificationMessage): string {
  const text = n.shutdownCommunication !== undefined ? `: "${n.shutdownCommunication}"` : '';
  return `NOTIFICATION ${n.code}/${n.subcode} from the peer${text}`;
}

function ends(socket: BgpSocket): {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
} {
  return {
    localAddress: plainAddress(socket.localAddress),
    localPort: socket.localPort ?? 0,
    remoteAddress: plainAddress(socket.remoteAddress),
    remotePort: socket.remotePort ?? 0,
  };
}

/** Consecutive messages joined into writes of about WRITE_BATCH_BYTES. */
export function* batches(messages: readonly Buffer[]): Generator<Buffer> {
  let group: Buffer[] = [];
  let size = 0;
  for (const m of messages) {
    if (size > 0 && size + m.length > WRITE_BATCH_BYTES) {
      yield group.length === 1 ? group[0]! : Buffer.concat(group, size);
      group = [];
      size = 0;
    }
    group.push(m);
    size += m.length;
  }
  if (size > 0) yield group.length === 1 ? group[0]! : Buffer.concat(group, size);
}

function drained(conn: Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      conn.socket.removeListener('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      conn.socket.removeListener('drain', onDrain);
      reject(new SessionNotEstablishedError('connection closed while sending'));
    };
    conn.socket.once('drain', onDrain);
    conn.socket.once('close', onClose);
  });
}
