// The few libc socket calls Node does not expose, bound once through koffi. Every call returns
// the C result; callers turn -1 into a TransportError with koffi.errno().
import koffi from 'koffi';
import { TransportError } from './errors.js';

export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IP_TTL = 2;
export const IP_MINTTL = 21;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_V6ONLY = 26;
export const IPV6_MINHOPCOUNT = 73;
export const TCP_MD5SIG = 14;
export const EINPROGRESS = 115;
export const POLLOUT = 4;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: Buffer): number;
  bind(fd: number, addr: Buffer, length: number): number;
  connect(fd: number, addr: Buffer, length: number): number;
  listen(fd: number, backlog: number): number;
  poll(fds: Buffer, count: number, timeoutMs: number): number;
  close(fd: number): number;
}

let bound: Libc | undefined;

export function libc(): Libc {
  if (bound !== undefined) return bound;
  const lib = koffi.load('libc.so.6');
  const f = <T>(proto: string): T => lib.func(proto) as T;
  bound = {
    socket: f('int socket(int, int, int)'),
    setsockopt: f('int setsockopt(int, int, int, void *, uint32_t)'),
    getsockopt: f('int getsockopt(int, int, int, void *, void *)'),
    bind: f('int bind(int, void *, uint32_t)'),
    connect: f('int connect(int, void *, uint32_t)'),
    listen: f('int listen(int, int)'),
    poll: f('int poll(void *, uint64_t, int)'),
    close: f('int close(int)'),
  };
  return bound;
}

/** Throws TransportError for a -1 result. */
export function check(result: number, syscall: string, what: string): number {
  if (result < 0) throw TransportError.fromErrno(koffi.errno(), syscall, what);
  return result;
}

export function setIntOption(fd: number, level: number, name: number, value: number, what: string): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  check(libc().setsockopt(fd, level, name, b, 4), 'setsockopt', what);
}

/** SO_ERROR: the result of a non-blocking connect. */
export function socketError(fd: number): number {
  const value = Buffer.alloc(4);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(4);
  check(libc().getsockopt(fd, SOL_SOCKET, SO_ERROR, value, length), 'getsockopt', 'SO_ERROR');
  return value.readInt32LE();
}

/** Non-blocking check whether fd is writable (a pending connect finished, either way). */
export function writable(fd: number): boolean {
  const pollfd = Buffer.alloc(8);
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLOUT, 4);
  return check(libc().poll(pollfd, 1, 0), 'poll', 'connect') > 0;
}
