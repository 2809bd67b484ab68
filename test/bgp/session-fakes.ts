// Test doubles for the session FSM: a fake clock that only moves when told, in-memory TCP
// connection pairs, a dialer the test answers by hand, and a scripted peer that speaks raw BGP.
// Nothing here touches the network or real timers, so every FSM test is deterministic.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import {
  type BgpMessage,
  type CodecOptions,
  type DecodedMessage,
  type DecodedUpdate,
  encodeMessage,
  INITIAL_OPTIONS,
  MessageReader,
  type NotificationMessage,
  type OpenMessage,
} from '../../bgp/codec/index.js';
import {
  BgpSession,
  type BgpSocket,
  type Clock,
  type Dialer,
  type Negotiated,
  resolveSessionConfig,
  type SessionConsumer,
  type SessionDownReason,
  type SessionState,
  type TimerHandle,
} from '../../bgp/session/index.js';
import type { Logger } from '../../src/log.js';

/** Lets queued microtasks and promise chains (socket deliveries, dial results) run to the end. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

interface FakeTimer {
  readonly at: number;
  readonly seq: number;
  readonly ms: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers: FakeTimer[] = [];
  /** What random() returns: 0 means no connect-retry jitter. */
  randomValue = 0;

  now(): number {
    return this.#now;
  }

  random(): number {
    return this.randomValue;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { at: this.#now + ms, seq: this.#seq++, ms, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Durations (ms) of the timers still pending, in the order they were set. */
  pending(): number[] {
    return this.#live().map((t) => t.ms);
  }

  /** Moves time forward, firing due timers in order and settling I/O after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#live()
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#now = due.at;
      due.cancelled = true;
      due.fn();
      await settle();
    }
    this.#now = end;
  }

  #live(): FakeTimer[] {
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    return this.#timers;
  }
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * One end of an in-memory TCP connection. Writes arrive at the other end in a later microtask,
 * in order, held until it has a 'data' listener; end() is a FIN after the data (both ends then close, as with allowHalfOpen false);
 * destroy() closes this end at once and the other after the data already written.
 */
export class MemorySocket extends EventEmitter implements BgpSocket {
  other!: MemorySocket;
  destroyed = false;
  ended = false;
  /**
   * This end never answers a FIN: the other end, once ended, stays open until destroyed (as a
   * Node socket whose data nobody reads never sees the FIN).
   */
  ignoresFin = false;
  /** Everything this end wrote, in order. */
  readonly written: Buffer[] = [];

  /** Data that arrived before anyone listened: a kernel buffers it until the socket is read. */
  readonly #unread: Buffer[] = [];

  constructor(
    readonly local: Endpoint,
    readonly remote: Endpoint,
  ) {
    super();
    this.on('newListener', (event) => {
      if (event === 'data') queueMicrotask(() => this.#flush());
    });
  }

  #receive(chunk: Buffer): void {
    if (this.destroyed) return;
    this.#unread.push(chunk);
    this.#flush();
  }

  #paused = false;

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    queueMicrotask(() => this.#flush());
    return this;
  }

  #flush(): void {
    while (this.#unread.length > 0 && this.listenerCount('data') > 0 && !this.destroyed && !this.#paused) {
      this.emit('data', this.#unread.shift());
    }
  }

  get localAddress(): string {
    return this.local.address;
  }
  get localPort(): number {
    return this.local.port;
  }
  get remoteAddress(): string {
    return this.remote.address;
  }
  get remotePort(): number {
    return this.remote.port;
  }

  write(data: Uint8Array): boolean {
    if (this.destroyed || this.ended) return false;
    const copy = Buffer.from(data);
    this.written.push(copy);
    const other = this.other;
    queueMicrotask(() => other.#receive(copy));
    return true;
  }

  end(): void {
    if (this.destroyed || this.ended) return;
    this.ended = true;
    queueMicrotask(() => {
      if (this.other.ignoresFin) return;
      this.other.#shut();
      this.#shut();
    });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.#shut();
    queueMicrotask(() => this.other.#shut());
  }

  #shut(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.emit('close'));
  }
}

/** A connected pair: [the dialling end, the accepting end]. */
export function socketPair(client: Endpoint, server: Endpoint): [MemorySocket, MemorySocket] {
  const a = new MemorySocket(client, server);
  const b = new MemorySocket(server, client);
  a.other = b;
  b.other = a;
  return [a, b];
}

export interface DialAttempt {
  readonly at: number;
  readonly signal: AbortSignal;
  connect(socket: BgpSocket): void;
  fail(err: Error): void;
}

/** A Dialer whose attempts wait until the test connects or fails them. */
export class FakeDialer {
  readonly attempts: DialAttempt[] = [];

  constructor(readonly clock: FakeClock) {}

  readonly dial: Dialer = (signal) =>
    new Promise((resolve, reject) => {
      this.attempts.push({ at: this.clock.now(), signal, connect: resolve, fail: reject });
    });

  get last(): DialAttempt {
    const attempt = this.attempts.at(-1);
    assert.ok(attempt !== undefined, 'no dial attempt');
    return attempt;
  }
}

/** What a scripted peer needs of its connection: an in-memory one, or a real net.Socket. */
export interface ScriptSocket {
  write(data: Uint8Array): boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'close', listener: () => void): this;
}

/** The peer's side of one connection, driven by the test: sends raw or encoded messages, reads ours. */
export class ScriptedPeer<S extends ScriptSocket = MemorySocket> {
  readonly #reader = new MessageReader();
  readonly received: DecodedMessage[] = [];
  codec: CodecOptions = INITIAL_OPTIONS;
  closed = false;

  constructor(readonly socket: S) {
    socket.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk);
      for (let m = this.#reader.next(this.codec); m !== undefined; m = this.#reader.next(this.codec)) {
        this.received.push(m);
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  send(msg: BgpMessage): void {
    this.socket.write(encodeMessage(msg, this.codec));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  types(): string[] {
    return this.received.map((m) => m.type);
  }

  count(type: DecodedMessage['type']): number {
    return this.received.filter((m) => m.type === type).length;
  }

  /** The one NOTIFICATION we sent on this connection. */
  notification(): NotificationMessage {
    const n = this.received.filter((m): m is NotificationMessage => m.type === 'notification');
    assert.equal(n.length, 1, `expected one NOTIFICATION, got ${this.types().join(',')}`);
    return n[0]!;
  }

  open(): OpenMessage {
    const o = this.received.find((m): m is OpenMessage => m.type === 'open');
    assert.ok(o !== undefined, 'no OPEN received');
    return o;
  }
}

/** A SessionConsumer that records every call. */
export class RecordingConsumer implements SessionConsumer {
  readonly established: Negotiated[] = [];
  readonly downs: { reason: SessionDownReason; wasEstablished: boolean; grNegotiated: boolean }[] = [];
  readonly states: SessionState[] = [];
  /** Every UPDATE handed on, in order. */
  readonly received: DecodedUpdate[] = [];
  updates = 0;

  onEstablished(negotiated: Negotiated): void {
    this.established.push(negotiated);
  }
  onUpdate(update: DecodedUpdate): void {
    this.updates++;
    this.received.push(update);
  }
  onRouteRefresh(): void {}
  onDown(reason: SessionDownReason, wasEstablished: boolean, grNegotiated: boolean): void {
    this.downs.push({ reason, wasEstablished, grNegotiated });
  }
  onStateChange(state: SessionState): void {
    this.states.push(state);
  }
}

/**
 * A passive session (AS 65001, router id `local`) that a scripted peer (AS 65002 at `remote`)
 * has dialled and brought to Established with a plain OPEN (no capabilities).
 */
export async function acceptedSession(opts: {
  readonly consumer: SessionConsumer;
  readonly clock: Clock;
  readonly local: string;
  readonly remote: string;
  readonly logger?: Logger;
}): Promise<{ session: BgpSession; peer: ScriptedPeer }> {
  const { consumer, clock, local, remote } = opts;
  const config = resolveSessionConfig({
    peerAddress: remote,
    peerAs: 65002,
    localAs: 65001,
    routerId: local,
    passive: true,
  });
  const session = new BgpSession(config, consumer, {
    clock,
    ...(opts.logger === undefined ? {} : { logger: opts.logger }),
  });
  session.start();
  const [theirs, ours] = socketPair({ address: remote, port: 40000 }, { address: local, port: 179 });
  const peer = new ScriptedPeer(theirs);
  session.accept(ours);
  peer.send({ type: 'open', myAs: 65002, holdTime: 90, bgpId: remote, capabilities: [] });
  peer.send({ type: 'keepalive' });
  await settle();
  assert.equal(session.state, 'Established');
  return { session, peer };
}
