// Outgoing BGP connections. Plain ones go through net.connect; with a TCP-MD5 key or GTSM the
// socket is made by hand (socket, setsockopt, bind, non-blocking connect) and handed to Node.
import net from 'node:net';
import koffi from 'koffi';
import { ConnectTimeoutError, TransportError } from './errors.js';
import {
  check,
  EINPROGRESS,
  libc,
  SO_REUSEADDR,
  SOL_SOCKET,
  setIntOption,
  socketError,
  writable,
} from './libc.js';
import { createSocket } from './netns.js';
import { setMd5Key, setTtlSecurity } from './options.js';
import { AF_INET, encodeSockaddr, familyOf } from './sockaddr.js';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  /** TCP-MD5 (RFC 2385) key. */
  readonly password?: string;
  /** GTSM (RFC 5082) hop count. */
  readonly ttlSecurityHops?: number;
  /** Default 30 s. Without an answer (e.g. MD5 mismatch: the peer drops our SYNs) the attempt fails then. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Network namespace file (/run/netns/NAME) to make the socket in; default: ours. */
  readonly netns?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Writability is polled with a growing pause: connects on a LAN finish in well under a millisecond. */
const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 50;

export function connectBgp(opts: ConnectOptions): Promise<net.Socket> {
  if (opts.password === undefined && opts.ttlSecurityHops === undefined && opts.netns === undefined) {
    return connectPlain(opts);
  }
  return connectRaw(opts);
}

function target(opts: ConnectOptions): string {
  return net.isIPv6(opts.host) ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
}

function connectPlain(opts: ConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const socket = net.connect({
      host: opts.host,
      port: opts.port,
      ...(opts.localAddress !== undefined && { localAddress: opts.localAddress }),
      ...(opts.localPort !== undefined && { localPort: opts.localPort }),
    });
    const timer = setTimeout(() => fail(new ConnectTimeoutError(target(opts), timeoutMs)), timeoutMs);
    const onAbort = (): void => fail(new TransportError('ECANCELED', 'connect', `${target(opts)}: aborted`));
    const settle = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
    };
    const fail = (err: Error): void => {
      settle();
      socket.destroy();
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(new TransportError(err.code ?? 'EIO', 'connect', `${target(opts)}: ${err.message}`));
    socket.once('error', onError);
    socket.once('connect', () => {
      settle();
      resolve(socket);
    });
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function connectRaw(opts: ConnectOptions): Promise<net.Socket> {
  const family = familyOf(opts.host);
  const peer = encodeSockaddr(opts.host, opts.port, family);
  const c = libc();
  const fd = createSocket(family, opts.netns, target(opts));
  try {
    if (opts.password !== undefined) setMd5Key(fd, family, opts.host, opts.password);
    if (opts.ttlSecurityHops !== undefined) setTtlSecurity(fd, family, opts.ttlSecurityHops);
    if (opts.localAddress !== undefined || opts.localPort !== undefined) {
      if (opts.localPort !== undefined) setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
      const local = opts.localAddress ?? (family === AF_INET ? '0.0.0.0' : '::');
      const addr = encodeSockaddr(local, opts.localPort ?? 0, family);
      check(c.bind(fd, addr, addr.length), 'bind', `${local}:${opts.localPort ?? 0}`);
    }
    if (c.connect(fd, peer, peer.length) < 0) {
      const errno = koffi.errno();
      if (errno !== EINPROGRESS) throw TransportError.fromErrno(errno, 'connect', target(opts));
      await waitWritable(fd, opts);
    }
    const err = socketError(fd);
    if (err !== 0) throw TransportError.fromErrno(err, 'connect', target(opts));
  } catch (err) {
    c.close(fd);
    throw err;
  }
  return new net.Socket({ fd, readable: true, writable: true });
}

async function waitWritable(fd: number, opts: ConnectOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  let pause = FIRST_POLL_MS;
  while (!writable(fd)) {
    if (opts.signal?.aborted) throw new TransportError('ECANCELED', 'connect', `${target(opts)}: aborted`);
    if (performance.now() >= deadline) throw new ConnectTimeoutError(target(opts), timeoutMs);
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}
