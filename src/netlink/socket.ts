// A NETLINK_ROUTE socket: request/ACK, multipart dumps and batched requests.
//
// Exchanges are synchronous on the calling thread, except a batch started with `startBatch`.
// rtnetlink handles a request inside the sender's sendto() (netlink_unicast_kernel ->
// rtnetlink_rcv), so every ACK or error is already queued when sendto returns and the following
// recv never waits on the network or another process; dumps are produced on demand as we recv.
// A blocking recv costs microseconds, less than a hop through the libuv thread pool, and keeps
// the namespace rules simple. SO_RCVTIMEO bounds the wait should the kernel ever not answer.
//
// A large route batch is the exception: the kernel spends about 4 us per route inside sendto, so
// `startBatch` runs each chunk's sendto on a libuv worker thread (the socket stays bound to its
// namespace whichever thread uses it) while the event loop goes on, and reads the chunk's answers
// on the main thread when the call returns. At most one batch is in flight; every other exchange
// first settles it, reading its answers itself, so requests reach the kernel in call order.

import {
  decodeError,
  decodeMessages,
  encodeMessageInto,
  messageLength,
  type NlMessage,
  type NlPayload,
  payloadOf,
  type RtAttr,
} from './codec.js';
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_OVERRUN,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEXTHOP,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEXTHOP,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEXTHOP,
  RTM_NEWROUTE,
  RTM_SETLINK,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
} from './constants.js';
import {
  NetlinkError,
  NetlinkProtocolError,
  type NetlinkRequestInfo,
  NetlinkSyscallError,
} from './errors.js';
import {
  sysBind,
  sysClose,
  sysGetsockoptInt,
  sysRecv,
  sysSendto,
  sysSendtoAsync,
  sysSetsockoptBytes,
  sysSetsockoptInt,
  sysSocket,
} from './libc.js';
import { withNetns } from './netns.js';

/** One rtnetlink request; the socket adds NLM_F_REQUEST, ACK/DUMP flags, seq and pid. */
export interface NetlinkRequest extends NlPayload {
  readonly type: number;
  /** Type-specific flags, e.g. NLM_F_CREATE | NLM_F_EXCL. */
  readonly flags: number;
  /** Human summary for errors, e.g. 'route 10.0.0.0/24 table 254' (may be a lazy getter). */
  readonly what: string;
}

/** A request from a fixed family header and attributes (everything but the route hot path). */
export function makeRequest(
  type: number,
  flags: number,
  body: Uint8Array,
  attrs: readonly RtAttr[],
  what: string,
): NetlinkRequest {
  return { type, flags, what, ...payloadOf(body, attrs) };
}

export interface NetlinkSocketOptions {
  /** Open the socket inside this network namespace (e.g. /run/netns/x); it stays bound to it. */
  readonly netnsPath?: string;
  /** Receive buffer; forced past rmem_max when root. Default 32 MiB. */
  readonly receiveBufferBytes?: number;
  /** Upper bound on bytes per sendto in a batch. Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** Upper bound on messages per sendto in a batch. Default 16384. */
  readonly maxBatchMessages?: number;
  /** How long a recv may wait before the exchange fails with EAGAIN. Default 10 s. */
  readonly receiveTimeoutMs?: number;
}

/** How a batch ended: one answer per request (undefined: applied), or what stopped the exchange. */
export type BatchOutcome =
  | { readonly results: readonly (NetlinkError | undefined)[]; readonly error?: undefined }
  | { readonly error: Error; readonly results?: undefined };

/** A batch started with `startBatch`. */
export interface BatchInFlight {
  /** Blocks until the kernel has answered every request; the batch's `done` has run on return. */
  finish(): void;
}

/** Progress of the one batch in flight. */
interface Flight {
  readonly batch: RequestBatch;
  readonly results: (NetlinkError | undefined)[];
  readonly done: (outcome: BatchOutcome) => void;
  /** First message not yet sent. */
  next: number;
  /** The chunk whose sendto runs on a worker thread; its answers are not read yet. */
  sending: Chunk | undefined;
}

interface Chunk {
  readonly start: number;
  readonly end: number;
  readonly firstSeq: number;
}

const MESSAGE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [RTM_NEWLINK, 'RTM_NEWLINK'],
  [RTM_DELLINK, 'RTM_DELLINK'],
  [RTM_GETLINK, 'RTM_GETLINK'],
  [RTM_SETLINK, 'RTM_SETLINK'],
  [RTM_NEWADDR, 'RTM_NEWADDR'],
  [RTM_DELADDR, 'RTM_DELADDR'],
  [RTM_GETADDR, 'RTM_GETADDR'],
  [RTM_NEWROUTE, 'RTM_NEWROUTE'],
  [RTM_DELROUTE, 'RTM_DELROUTE'],
  [RTM_GETROUTE, 'RTM_GETROUTE'],
  [RTM_NEWNEXTHOP, 'RTM_NEWNEXTHOP'],
  [RTM_DELNEXTHOP, 'RTM_DELNEXTHOP'],
  [RTM_GETNEXTHOP, 'RTM_GETNEXTHOP'],
]);

export function messageTypeName(type: number): string {
  return MESSAGE_TYPE_NAMES.get(type) ?? `type ${type}`;
}

/** Budget of receive-buffer bytes one queued error ACK may cost (skb truesize, generous). */
const ERROR_ACK_TRUESIZE = 2048;
/** Room the kernel wants beyond the payload in sk_sndbuf (netlink_sendmsg: len > sndbuf - 32). */
const SNDBUF_SLACK = 64;
const RECV_BUFFER_BYTES = 128 * 1024;
const DUMP_ATTEMPTS = 5;
const EAGAIN = 11;

/** sockaddr_nl for the kernel: family AF_NETLINK, pid 0, groups 0. */
const KERNEL_ADDR = (() => {
  const a = Buffer.alloc(12);
  a.writeUInt16LE(AF_NETLINK, 0);
  return a;
})();

function setBufferSize(fd: number, force: number, plain: number, bytes: number): number {
  try {
    sysSetsockoptInt(fd, SOL_SOCKET, force, bytes);
  } catch (err) {
    // Without CAP_NET_ADMIN the kernel caps the size at net.core.[rw]mem_max: take what we get.
    if (!(err instanceof NetlinkSyscallError && err.code === 'EPERM')) throw err;
    sysSetsockoptInt(fd, SOL_SOCKET, plain, bytes);
  }
  return sysGetsockoptInt(fd, SOL_SOCKET, plain);
}

export class NetlinkSocket {
  readonly #fd: number;
  readonly #recvBuf = Buffer.allocUnsafe(RECV_BUFFER_BYTES);
  #sendBuf: Buffer;
  readonly #maxBatchBytes: number;
  readonly #maxBatchMessages: number;
  #seq: number;
  #closed = false;
  #flight: Flight | undefined;

  private constructor(fd: number, maxBatchBytes: number, maxBatchMessages: number) {
    this.#fd = fd;
    this.#maxBatchBytes = maxBatchBytes;
    this.#maxBatchMessages = maxBatchMessages;
    this.#sendBuf = Buffer.allocUnsafe(4096); // single requests; grows for a larger one
    // Start away from 0 so replies to another socket's old sequence numbers never look like ours.
    this.#seq = (Date.now() & 0x7fffffff) >>> 0;
  }

  static open(opts: NetlinkSocketOptions = {}): NetlinkSocket {
    const create = (): number => sysSocket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    const fd = opts.netnsPath === undefined ? create() : withNetns(opts.netnsPath, create);
    try {
      const rcvbuf = setBufferSize(
        fd,
        SO_RCVBUFFORCE,
        SO_RCVBUF,
        opts.receiveBufferBytes ?? 32 * 1024 * 1024,
      );
      // Large sends: each sendto of a batch started with startBatch costs a turn of the event loop
      // to read its answers and start the next, and a busy loop (a full table arriving) delays that.
      const wantBatchBytes = opts.maxBatchBytes ?? 1024 * 1024;
      const sndbuf = setBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, wantBatchBytes + SNDBUF_SLACK);
      // Errors are answered with the request header only (CAP_ACK) plus the kernel's reason (EXT_ACK).
      sysSetsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      sysSetsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      const timeoutMs = opts.receiveTimeoutMs ?? 10_000;
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
      tv.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
      sysSetsockoptBytes(fd, SOL_SOCKET, SO_RCVTIMEO, tv);
      sysBind(fd, KERNEL_ADDR);
      // Every message of a batch may fail; all their error ACKs must fit in the receive buffer.
      const maxMessages = Math.max(
        1,
        Math.min(opts.maxBatchMessages ?? 16384, Math.floor(rcvbuf / ERROR_ACK_TRUESIZE)),
      );
      return new NetlinkSocket(fd, Math.min(wantBatchBytes, sndbuf - SNDBUF_SLACK), maxMessages);
    } catch (err) {
      sysClose(fd);
      throw err;
    }
  }

  close(): void {
    if (this.#closed) return;
    // Never close the fd under a worker thread's sendto (the number could be reused).
    this.#settle();
    this.#closed = true;
    sysClose(this.#fd);
  }

  /** Sends one request and waits for its ACK; throws NetlinkError when the kernel refuses it. */
  request(req: NetlinkRequest): void {
    this.query(req);
  }

  /** Sends a dump request and returns every reply message (retried if the dump was interrupted). */
  dump(req: NetlinkRequest): NlMessage[] {
    for (let attempt = 1; ; attempt++) {
      const { messages, interrupted } = this.#dumpOnce(req);
      if (!interrupted) return messages;
      if (attempt === DUMP_ATTEMPTS) {
        throw new NetlinkProtocolError(`${messageTypeName(req.type)} dump kept being interrupted by changes`);
      }
    }
  }

  /**
   * Sends an encoded batch in chunks of at most maxBatchBytes / maxBatchMessages. Only the last
   * message of each sendto asks for an ACK: the kernel reports every failure anyway, so that one
   * ACK is the fence that says "everything before me has been answered" and successes cost no
   * recv. Errors map back to their request by sequence number.
   */
  sendBatch(batch: RequestBatch): (NetlinkError | undefined)[] {
    this.#assertOpen();
    this.#settle();
    const results: (NetlinkError | undefined)[] = new Array(batch.count).fill(undefined);
    for (let start = 0; start < batch.count; ) {
      const chunk = this.#sendChunk(batch, start);
      this.#collectChunk(batch, chunk, results);
      start = chunk.end;
    }
    return results;
  }

  /**
   * Like `sendBatch`, but each chunk's sendto runs on a worker thread and the call returns at
   * once; `done` gets the outcome on this thread. The batch's buffer must not change until then.
   * A batch still in flight is settled first; so is this one by any later exchange (or `finish`).
   */
  startBatch(batch: RequestBatch, done: (outcome: BatchOutcome) => void): BatchInFlight {
    this.#assertOpen();
    this.#settle();
    const flight: Flight = {
      batch,
      results: new Array(batch.count).fill(undefined),
      done,
      next: 0,
      sending: undefined,
    };
    this.#flight = flight;
    this.#launch(flight);
    return {
      finish: () => {
        if (this.#flight === flight) this.#settleFlight(flight);
      },
    };
  }

  /** Sends the flight's next chunk from a worker thread, or ends the flight when all are answered. */
  #launch(flight: Flight): void {
    if (flight.next >= flight.batch.count) {
      this.#land(flight, { results: flight.results });
      return;
    }
    const { batch } = flight;
    const chunk = this.#stampChunk(batch, flight.next);
    const bytes = batch.bytes(chunk.start, chunk.end);
    flight.sending = chunk;
    sysSendtoAsync(this.#fd, bytes, bytes.length, KERNEL_ADDR, (error, sent) => {
      // `bytes` stays referenced by this closure until the worker is done with it.
      if (flight.sending !== chunk) return; // settled on the main thread meanwhile
      flight.sending = undefined;
      try {
        if (error !== undefined) throw error;
        if (sent !== bytes.length)
          throw new NetlinkProtocolError(`sendto wrote ${sent} of ${bytes.length} bytes`);
        this.#collectChunk(batch, chunk, flight.results);
      } catch (err) {
        this.#land(flight, { error: err instanceof Error ? err : new Error(String(err)) });
        return;
      }
      flight.next = chunk.end;
      this.#launch(flight);
    });
  }

  /**
   * Completes the batch in flight on this thread: reads the answers to the chunk a worker is
   * sending (the kernel queues the fence ACK only once it has handled the whole chunk, so the
   * next request cannot overtake it), then sends the rest synchronously.
   */
  #settle(): void {
    // A batch's `done` may start another; requests still go out one exchange at a time.
    while (this.#flight !== undefined) this.#settleFlight(this.#flight);
  }

  #settleFlight(flight: Flight): void {
    let outcome: BatchOutcome;
    try {
      const sending = flight.sending;
      if (sending !== undefined) {
        flight.sending = undefined;
        this.#collectChunk(flight.batch, sending, flight.results);
        flight.next = sending.end;
      }
      while (flight.next < flight.batch.count) {
        const chunk = this.#sendChunk(flight.batch, flight.next);
        this.#collectChunk(flight.batch, chunk, flight.results);
        flight.next = chunk.end;
      }
      outcome = { results: flight.results };
    } catch (err) {
      outcome = { error: err instanceof Error ? err : new Error(String(err)) };
    }
    this.#land(flight, outcome);
  }

  #land(flight: Flight, outcome: BatchOutcome): void {
    if (this.#flight === flight) this.#flight = undefined;
    flight.next = flight.batch.count;
    flight.done(outcome);
  }

  /** Picks the chunk starting at `start` and stamps its sequence numbers and fence ACK. */
  #stampChunk(batch: RequestBatch, start: number): Chunk {
    let end = start + 1;
    const limit = Math.min(batch.count, start + this.#maxBatchMessages);
    while (end < limit && batch.offset(end + 1) - batch.offset(start) <= this.#maxBatchBytes) end++;
    const firstSeq = this.#seq;
    for (let i = start; i < end; i++) batch.stamp(i, this.#nextSeq(), i === end - 1);
    return { start, end, firstSeq };
  }

  #sendChunk(batch: RequestBatch, start: number): Chunk {
    const chunk = this.#stampChunk(batch, start);
    const bytes = batch.bytes(chunk.start, chunk.end);
    this.#send(bytes, bytes.length);
    return chunk;
  }

  #collectChunk(batch: RequestBatch, chunk: Chunk, results: (NetlinkError | undefined)[]): void {
    const { start, firstSeq } = chunk;
    const count = chunk.end - start;
    const lastSeq = (firstSeq + count - 1) >>> 0;
    this.#receive((msg) => {
      const offset = (msg.seq - firstSeq) >>> 0;
      if (offset >= count || msg.type !== NLMSG_ERROR) return false;
      const answer = decodeError(msg);
      if (answer.errno !== 0) {
        const index = start + offset;
        results[index] = new NetlinkError(answer.errno, batch.info(index), answer.message);
      }
      return msg.seq === lastSeq;
    });
  }

  /**
   * Sends one request that the kernel answers with data (e.g. RTM_GETLINK for one name) and
   * returns the reply messages; throws NetlinkError when the kernel refuses it.
   */
  query(req: NetlinkRequest): NlMessage[] {
    const seq = this.#sendOne(req, NLM_F_ACK);
    const replies: NlMessage[] = [];
    this.#receive((msg) => {
      if (msg.seq !== seq) return false;
      if (msg.type !== NLMSG_ERROR) {
        replies.push(msg);
        return false;
      }
      const answer = decodeError(msg);
      if (answer.errno !== 0) throw new NetlinkError(answer.errno, requestInfo(req, seq), answer.message);
      return true;
    });
    return replies;
  }

  #sendOne(req: NetlinkRequest, flags: number): number {
    this.#assertOpen();
    this.#settle();
    const len = messageLength(req);
    if (this.#sendBuf.length < len) this.#sendBuf = Buffer.allocUnsafe(len);
    const seq = this.#nextSeq();
    encodeMessageInto(
      this.#sendBuf,
      0,
      { type: req.type, flags: NLM_F_REQUEST | flags | req.flags, seq, pid: 0 },
      req,
    );
    this.#send(this.#sendBuf, len);
    return seq;
  }

  #dumpOnce(req: NetlinkRequest): { messages: NlMessage[]; interrupted: boolean } {
    const seq = this.#sendOne(req, NLM_F_DUMP);
    const messages: NlMessage[] = [];
    let interrupted = false;
    this.#receive((msg) => {
      if (msg.seq !== seq) return false;
      if ((msg.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
      if (msg.type === NLMSG_ERROR) {
        const answer = decodeError(msg);
        if (answer.errno === 0) return true;
        throw new NetlinkError(answer.errno, requestInfo(req, seq), answer.message);
      }
      if (msg.type === NLMSG_DONE) {
        // NLMSG_DONE carries the dump's final status; a negative value is an error.
        const status = msg.payload.length >= 4 ? msg.payload.readInt32LE(0) : 0;
        if (status < 0) throw new NetlinkError(-status, requestInfo(req, seq));
        return true;
      }
      if (msg.type === NLMSG_OVERRUN) throw new NetlinkProtocolError('kernel reported NLMSG_OVERRUN');
      messages.push(msg);
      return false;
    });
    return { messages, interrupted };
  }

  #send(bytes: Buffer, len: number): void {
    const sent = sysSendto(this.#fd, bytes, len, KERNEL_ADDR);
    if (sent !== len) throw new NetlinkProtocolError(`sendto wrote ${sent} of ${len} bytes`);
  }

  /**
   * Reads datagrams and hands each message to `onMessage` until it returns true. Messages from
   * earlier, abandoned exchanges (their seq is not ours) are the handler's to skip.
   */
  #receive(onMessage: (msg: NlMessage) => boolean): void {
    for (;;) {
      let n: number;
      try {
        n = sysRecv(this.#fd, this.#recvBuf);
      } catch (err) {
        if (err instanceof NetlinkSyscallError && err.errno === EAGAIN) {
          throw new NetlinkProtocolError('timed out waiting for the kernel to answer');
        }
        throw err;
      }
      if (n > this.#recvBuf.length) {
        throw new NetlinkProtocolError(
          `datagram of ${n} bytes exceeds the ${this.#recvBuf.length}-byte buffer`,
        );
      }
      // Copy: the receive buffer is reused by the next recv, messages may outlive it (dumps).
      for (const msg of decodeMessages(Buffer.from(this.#recvBuf.subarray(0, n)))) {
        if (onMessage(msg)) return;
      }
    }
  }

  #nextSeq(): number {
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) >>> 0;
    return seq;
  }

  #assertOpen(): void {
    if (this.#closed) throw new NetlinkProtocolError('netlink socket is closed');
  }
}

/**
 * Requests encoded back to back in one buffer as they are added. A 100k-route batch then holds
 * one Buffer instead of 100k live request objects (which the GC would copy and promote), and
 * bad input still throws from `add` before anything is sent.
 */
export class RequestBatch {
  #buf: Buffer;
  /** Start of message i; offsets[count] is the end of the last one. */
  #offsets: Uint32Array;
  #count = 0;
  readonly #describe: (index: number) => string;

  /**
   * `describe(i)` names request i in errors; called only for requests the kernel refuses.
   * `expected` sizes the buffers up front (a guess is fine: they grow), sparing a large batch
   * the copies of doubling from a small start.
   */
  constructor(
    describe: (index: number) => string,
    expected: { readonly messages: number; readonly bytes: number } = { messages: 256, bytes: 16 * 1024 },
  ) {
    this.#describe = describe;
    this.#buf = Buffer.allocUnsafe(Math.max(1024, expected.bytes));
    this.#offsets = new Uint32Array(Math.max(1, expected.messages) + 1);
  }

  get count(): number {
    return this.#count;
  }

  add(req: NetlinkRequest): void {
    const at = this.#offsets[this.#count]!;
    this.#reserve(at + messageLength(req));
    const header = { type: req.type, flags: NLM_F_REQUEST | req.flags, seq: 0, pid: 0 };
    this.#offsets[++this.#count] = encodeMessageInto(this.#buf, at, header, req);
  }

  /**
   * Appends a copy of message `index` and lets `patch(buf, at, arg)` rewrite its variable part in
   * place (`at`: where the copy starts). Consecutive routes of a full table differ only in their
   * destination: copying the last one's bytes skips building and encoding a request per route.
   */
  repeat(index: number, patch: (buf: Buffer, at: number, arg: number) => void, arg: number): void {
    const start = this.#offsets[index]!;
    const len = this.#offsets[index + 1]! - start;
    const at = this.#offsets[this.#count]!;
    this.#reserve(at + len);
    this.#buf.copyWithin(at, start, start + len);
    patch(this.#buf, at, arg);
    this.#offsets[++this.#count] = at + len;
  }

  /** Room for one more message ending at byte `end`. */
  #reserve(end: number): void {
    if (end > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, end));
      this.#buf.copy(grown, 0, 0, this.#offsets[this.#count]!);
      this.#buf = grown;
    }
    if (this.#count + 2 > this.#offsets.length) {
      const grown = new Uint32Array(this.#offsets.length * 2);
      grown.set(this.#offsets);
      this.#offsets = grown;
    }
  }

  /** Byte offset where message `index` starts (index == count: the end of the batch). */
  offset(index: number): number {
    return this.#offsets[index]!;
  }

  /** Writes the sequence number and the ACK request (set or cleared) into message `index`. */
  stamp(index: number, seq: number, ack: boolean): void {
    const at = this.#offsets[index]!;
    const flags = this.#buf.readUInt16LE(at + 6) & ~NLM_F_ACK;
    this.#buf.writeUInt16LE(ack ? flags | NLM_F_ACK : flags, at + 6);
    this.#buf.writeUInt32LE(seq >>> 0, at + 8);
  }

  /** Messages [start, end) as one view, ready for sendto. */
  bytes(start: number, end: number): Buffer {
    return this.#buf.subarray(this.#offsets[start], this.#offsets[end]);
  }

  info(index: number): NetlinkRequestInfo {
    const at = this.#offsets[index]!;
    return {
      type: this.#buf.readUInt16LE(at + 4),
      typeName: messageTypeName(this.#buf.readUInt16LE(at + 4)),
      flags: this.#buf.readUInt16LE(at + 6),
      seq: this.#buf.readUInt32LE(at + 8),
      what: this.#describe(index),
    };
  }
}

function requestInfo(req: NetlinkRequest, seq: number): NetlinkRequestInfo {
  return { type: req.type, typeName: messageTypeName(req.type), flags: req.flags, seq, what: req.what };
}
