// A TCP socket in a chosen network namespace. A socket keeps the namespace it was created in,
// so only socket() runs inside withNetns; bind/connect/listen follow from the main thread.
import { withNetns } from '../../src/netlink/netns.js';
import { check, libc, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from './libc.js';
import type { SocketFamily } from './sockaddr.js';

export function createSocket(family: SocketFamily, netns: string | undefined, what: string): number {
  const make = (): number =>
    check(libc().socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 'socket', what);
  return netns === undefined ? make() : withNetns(netns, make);
}
