// LinkMonitor: the kernel's link notifications (RTMGRP_LINK) on a non-blocking netlink socket of
// their own, drained when polled, so nothing blocks and nothing is spawned per change. It answers
// one question: did an interface come back up after going down? Taking an interface down deletes
// the routes and nexthop objects over it without a word to their owner; the owner must put them
// back once it is up again.
import { decodeMessages } from './codec.js';
import {
  AF_NETLINK,
  NETLINK_ROUTE,
  RTM_DELLINK,
  RTM_NEWLINK,
  RTMGRP_LINK,
  SO_RCVBUF,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
} from './constants.js';
import { NetlinkSyscallError } from './errors.js';
import { sysBind, sysClose, sysRecv, sysSetsockoptInt, sysSocket } from './libc.js';
import { decodeLink, type LinkInfo } from './link-messages.js';
import { withNetns } from './netns.js';

/**
 * Which links came back up: an interface seen administratively up, then down, then up again.
 * A link first seen down (a new veth before its `ip link set up`) has not come back: nothing of
 * anyone's can have been deleted with it.
 */
export class LinkFlapTracker {
  readonly #links = new Map<number, { up: boolean; wentDown: boolean }>();

  /** A link as it is now (a dump at start, or a notification). True when it came back up. */
  observe(index: number, up: boolean): boolean {
    const known = this.#links.get(index);
    if (known === undefined) {
      this.#links.set(index, { up, wentDown: false });
      return false;
    }
    if (known.up && !up) known.wentDown = true;
    known.up = up;
    if (!up || !known.wentDown) return false;
    known.wentDown = false;
    return true;
  }

  /** The link was deleted: its index may come back as another link. */
  forget(index: number): void {
    this.#links.delete(index);
  }
}

const RECV_BYTES = 64 * 1024;
const EAGAIN = 11;
const ENOBUFS = 105;

export class LinkMonitor {
  readonly #fd: number;
  readonly #tracker = new LinkFlapTracker();
  readonly #buf = Buffer.allocUnsafe(RECV_BYTES);
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Subscribes in the current namespace, or in `opts.netnsPath`'s, then reads the links there
   * through `opts.links` (a RouteNetlink of the same namespace the caller already has).
   */
  static open(opts: {
    readonly netnsPath?: string;
    readonly links: { listLinks(): readonly LinkInfo[] };
  }): LinkMonitor {
    const create = (): number =>
      sysSocket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    const fd = opts.netnsPath === undefined ? create() : withNetns(opts.netnsPath, create);
    try {
      sysSetsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, 1024 * 1024);
      const addr = Buffer.alloc(12);
      addr.writeUInt16LE(AF_NETLINK, 0);
      addr.writeUInt32LE(RTMGRP_LINK, 8);
      sysBind(fd, addr);
      const monitor = new LinkMonitor(fd);
      // Subscribed first, then dumped: a change in between shows in both, and observe() is idempotent.
      for (const link of opts.links.listLinks()) monitor.#tracker.observe(link.index, link.up);
      return monitor;
    } catch (err) {
      sysClose(fd);
      throw err;
    }
  }

  /**
   * Reads every notification queued since the last call. True when a link came back up, or
   * when notifications were lost (the queue overflowed): then one may have.
   */
  cameBackUp(): boolean {
    if (this.#closed) return false;
    let back = false;
    for (;;) {
      let n: number;
      try {
        n = sysRecv(this.#fd, this.#buf);
      } catch (err) {
        if (err instanceof NetlinkSyscallError && err.errno === EAGAIN) return back;
        if (err instanceof NetlinkSyscallError && err.errno === ENOBUFS) {
          back = true;
          continue;
        }
        throw err;
      }
      for (const msg of decodeMessages(this.#buf, Math.min(n, RECV_BYTES))) {
        if (msg.type === RTM_DELLINK) this.#tracker.forget(decodeLink(msg).index);
        else if (msg.type === RTM_NEWLINK) {
          const link = decodeLink(msg);
          if (this.#tracker.observe(link.index, link.up)) back = true;
        }
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sysClose(this.#fd);
  }
}
