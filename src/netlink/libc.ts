// The few libc calls Node does not expose, bound through koffi. Loaded on first use so that
// importing the netlink types (e.g. in pure tests) never touches the FFI.
// Every wrapper checks the C return value and throws NetlinkSyscallError with errno.
import koffi from 'koffi';
import { NetlinkSyscallError } from './errors.js';

const EINTR = 4;
const MSG_TRUNC = 0x20;

type SendtoArgs = [
  fd: number,
  buf: Uint8Array,
  len: number,
  flags: number,
  addr: Uint8Array,
  addrLen: number,
];

/** sendto(2), also callable on a libuv worker thread through koffi's `async` member. */
interface SendtoFunction {
  (...args: SendtoArgs): number;
  async(...args: [...SendtoArgs, (err: unknown, result: number) => void]): void;
}

interface LibcBindings {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, value: Uint8Array, len: number[]): number;
  sendto: SendtoFunction;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
}

let bindings: LibcBindings | undefined;

function libc(): LibcBindings {
  if (bindings === undefined) {
    const lib = koffi.load('libc.so.6');
    // Buffers passed as `void *` are handed to C in place (no copy), so recv fills our Buffer.
    bindings = {
      socket: lib.func('int socket(int, int, int)'),
      bind: lib.func('int bind(int, const void *, uint32_t)'),
      setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
      getsockopt: lib.func('int getsockopt(int, int, int, void *, _Inout_ uint32_t *)'),
      sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
      recv: lib.func('intptr_t recv(int, void *, size_t, int)'),
      close: lib.func('int close(int)'),
      setns: lib.func('int setns(int, int)'),
    };
  }
  return bindings;
}

function check(result: number, syscall: string, context?: string): number {
  if (result < 0) throw new NetlinkSyscallError(syscall, koffi.errno(), context);
  return result;
}

export function sysSocket(domain: number, type: number, protocol: number): number {
  return check(libc().socket(domain, type, protocol), 'socket');
}

export function sysBind(fd: number, addr: Uint8Array): void {
  check(libc().bind(fd, addr, addr.length), 'bind');
}

export function sysSetsockoptInt(fd: number, level: number, name: number, value: number): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value, 0);
  check(libc().setsockopt(fd, level, name, buf, 4), 'setsockopt', `${level}/${name}`);
}

export function sysSetsockoptBytes(fd: number, level: number, name: number, value: Uint8Array): void {
  check(libc().setsockopt(fd, level, name, value, value.length), 'setsockopt', `${level}/${name}`);
}

export function sysGetsockoptInt(fd: number, level: number, name: number): number {
  const buf = Buffer.alloc(4);
  check(libc().getsockopt(fd, level, name, buf, [4]), 'getsockopt', `${level}/${name}`);
  return buf.readInt32LE(0);
}

export function sysSendto(fd: number, buf: Uint8Array, len: number, addr: Uint8Array): number {
  return check(libc().sendto(fd, buf, len, 0, addr, addr.length), 'sendto');
}

/**
 * sendto(2) on a libuv worker thread: the caller's thread goes on while the kernel works inside
 * the call (rtnetlink handles a request within its sender's sendto). `buf` and `addr` are used
 * in place, so they must stay alive and unmodified until `done` runs (on the calling thread).
 */
export function sysSendtoAsync(
  fd: number,
  buf: Uint8Array,
  len: number,
  addr: Uint8Array,
  done: (error: Error | undefined, sent: number) => void,
): void {
  libc().sendto.async(fd, buf, len, 0, addr, addr.length, (err, result) => {
    if (err !== null && err !== undefined) {
      done(err instanceof Error ? err : new Error(String(err)), 0);
      return;
    }
    // koffi restores the worker's errno around this callback.
    if (result < 0) done(new NetlinkSyscallError('sendto', koffi.errno()), 0);
    else done(undefined, result);
  });
}

/**
 * recv(2) with MSG_TRUNC, so the result is the datagram's full length even when it exceeded
 * `buf`. Throws EAGAIN when SO_RCVTIMEO expires and ENOBUFS after a receive-buffer overrun.
 */
export function sysRecv(fd: number, buf: Uint8Array): number {
  for (;;) {
    const n = libc().recv(fd, buf, buf.length, MSG_TRUNC);
    // A signal landing during a blocking recv (libuv's handlers) is not a failure: retry.
    if (n >= 0 || koffi.errno() !== EINTR) return check(n, 'recv');
  }
}

export function sysClose(fd: number): void {
  check(libc().close(fd), 'close');
}

export function sysSetns(fd: number, nstype: number, context: string): void {
  check(libc().setns(fd, nstype), 'setns', context);
}
