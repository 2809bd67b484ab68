// Network namespaces from the main thread, without spawning `ip netns exec`.
//
// setns(2) switches only the CALLING THREAD. `withNetns` switches Node's main thread, runs `fn`
// synchronously and switches back in `finally`. Anything created synchronously inside (a netlink
// socket, a /proc/sys write) belongs to the target namespace and keeps it after the switch back;
// anything asynchronous (promises, libuv thread-pool fs, timers) runs later, in the original
// namespace, so `fn` must not be async.
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { CLONE_NEWNET } from './constants.js';
import { NetlinkInputError } from './errors.js';
import { sysSetns } from './libc.js';

const SELF_NETNS = '/proc/thread-self/ns/net';

/** Thrown when `fn` returned a promise: its continuation would run in the wrong namespace. */
export class NetnsAsyncCallbackError extends TypeError {
  override readonly name = 'NetnsAsyncCallbackError';
}

/** Inode of a namespace file (/run/netns/x, /proc/<pid>/ns/net): equal inodes = same namespace. */
export function netnsInode(netnsPath: string): number {
  return statSync(netnsPath).ino;
}

/** Inode of the namespace the calling (main) thread is in now. */
export function currentNetnsInode(): number {
  return netnsInode(SELF_NETNS);
}

/** Opens a namespace file read-only; the caller closes the fd (e.g. after IFLA_NET_NS_FD). */
export function openNetns(netnsPath: string): number {
  return openSync(netnsPath, 'r');
}

function isThenable(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `fn` synchronously with the main thread inside the namespace at `netnsPath`, then
 * returns to the original namespace, also when `fn` throws. If returning fails the process
 * aborts: carrying on would silently program the wrong namespace.
 */
export function withNetns<T>(netnsPath: string, fn: () => T): T {
  const original = openSync(SELF_NETNS, 'r');
  try {
    const target = openNetns(netnsPath);
    try {
      sysSetns(target, CLONE_NEWNET, netnsPath);
    } finally {
      closeSync(target);
    }
    try {
      const result = fn();
      if (isThenable(result)) {
        throw new NetnsAsyncCallbackError('withNetns callback must be synchronous (it returned a promise)');
      }
      return result;
    } finally {
      restoreOrAbort(original);
    }
  } finally {
    closeSync(original);
  }
}

function restoreOrAbort(originalFd: number): void {
  try {
    sysSetns(originalFd, CLONE_NEWNET, 'restore original namespace');
  } catch (err) {
    process.stderr.write(`trellis: cannot return to the original network namespace: ${String(err)}\n`);
    process.abort();
  }
}

/** 'net.ipv4.conf.eth0.proxy_arp' -> '/proc/sys/net/ipv4/conf/eth0/proxy_arp'.
 * As with sysctl(8), '/' in a key stands for a '.' inside one component ('conf.eth0/100.x'). */
export function sysctlPath(key: string): string {
  const parts = key.split('.').map((p) => p.replaceAll('/', '.'));
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new NetlinkInputError(`invalid sysctl key "${key}"`);
  }
  return `/proc/sys/${parts.join('/')}`;
}

/** Writes a sysctl, in `netnsPath`'s namespace when given (/proc/sys/net follows the writer's netns). */
export function writeSysctl(key: string, value: string | number, netnsPath?: string): void {
  const path = sysctlPath(key);
  const write = (): void => writeFileSync(path, String(value));
  if (netnsPath === undefined) write();
  else withNetns(netnsPath, write);
}

export function readSysctl(key: string, netnsPath?: string): string {
  const path = sysctlPath(key);
  const read = (): string => readFileSync(path, 'utf8').trim();
  return netnsPath === undefined ? read() : withNetns(netnsPath, read);
}
