// RouteNetlink: typed links, addresses and routes over one NETLINK_ROUTE socket.
// One instance talks to one network namespace for its whole life (the one it was opened in).
import { closeSync } from 'node:fs';
import type { IpFamily } from './address.js';
import {
  type AddressInfo,
  type AddressSpec,
  decodeAddress,
  deleteAddressRequest,
  dumpAddressesRequest,
  newAddressRequest,
} from './address-messages.js';
import {
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
  RTM_F_CLONED,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEXTHOP,
  RTM_NEWROUTE,
} from './constants.js';
import { NetlinkError, NetlinkInputError, NetlinkProtocolError } from './errors.js';
import {
  decodeLink,
  deleteLinkRequest,
  dumpLinksRequest,
  getLinkRequest,
  type LinkChanges,
  type LinkInfo,
  type LinkRef,
  newVethRequest,
  setLinkRequest,
  type VethSpec,
} from './link-messages.js';
import { openNetns } from './netns.js';
import {
  decodeNextHop,
  deleteNextHopRequest,
  dumpNextHopsRequest,
  type NextHopObjectInfo,
  type NextHopObjectSpec,
  newNextHopRequest,
} from './nexthop-messages.js';
import {
  decodeRoute,
  dumpRoutesRequest,
  encodeRouteBatch,
  lookupRouteRequest,
  type RouteBatchOp,
  type RouteInfo,
  type RouteSpec,
  routeHeader,
  routeRequest,
} from './route-messages.js';
import { type BatchInFlight, NetlinkSocket, type NetlinkSocketOptions } from './socket.js';

export type { RouteBatchOp } from './route-messages.js';

export interface RouteFilter {
  readonly family: IpFamily;
  /** Table id; default main (254); 0 lists every table. */
  readonly table?: number;
  /** Only routes with this rtm_protocol (e.g. TRELLIS_RT_PROTO). */
  readonly protocol?: number;
}

export interface RouteBatchResult {
  /** Operations the kernel applied. */
  readonly ok: number;
  /** Operations the kernel refused, by index into the ops array. */
  readonly failed: readonly { readonly index: number; readonly error: NetlinkError }[];
}

/** A started route batch's end: its result, or the error that stopped the exchange. */
export type RouteBatchOutcome =
  | { readonly result: RouteBatchResult; readonly error?: undefined }
  | { readonly error: Error; readonly result?: undefined };

export class RouteNetlink {
  readonly #socket: NetlinkSocket;

  private constructor(socket: NetlinkSocket) {
    this.#socket = socket;
  }

  /** Opens a socket in the current namespace, or in `opts.netnsPath`'s. */
  static open(opts: NetlinkSocketOptions = {}): RouteNetlink {
    return new RouteNetlink(NetlinkSocket.open(opts));
  }

  close(): void {
    this.#socket.close();
  }

  // ---- links ---------------------------------------------------------------------------

  listLinks(): LinkInfo[] {
    return this.#socket
      .dump(dumpLinksRequest())
      .filter((m) => m.type === RTM_NEWLINK)
      .map(decodeLink);
  }

  /** The link by name or index; NetlinkError ENODEV when there is none. */
  getLink(ref: LinkRef): LinkInfo {
    const reply = this.#socket.query(getLinkRequest(ref)).find((m) => m.type === RTM_NEWLINK);
    if (reply === undefined) throw new NetlinkProtocolError(`no RTM_NEWLINK reply for link ${ref}`);
    return decodeLink(reply);
  }

  /** The link by name or index, or undefined when it does not exist. */
  findLink(ref: LinkRef): LinkInfo | undefined {
    try {
      return this.getLink(ref);
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'ENODEV') return undefined;
      throw err;
    }
  }

  /**
   * Creates a veth pair in one request, the peer directly inside its namespace (fd or path).
   * Returns the host side. NetlinkError EEXIST when either name is taken.
   */
  createVeth(spec: VethSpec): LinkInfo {
    if (spec.peer.netnsFd !== undefined && spec.peer.netnsPath !== undefined) {
      throw new NetlinkInputError('veth peer: give netnsFd or netnsPath, not both');
    }
    const ownedFd = spec.peer.netnsPath === undefined ? undefined : openNetns(spec.peer.netnsPath);
    try {
      this.#socket.request(newVethRequest(spec, ownedFd ?? spec.peer.netnsFd));
    } finally {
      if (ownedFd !== undefined) closeSync(ownedFd);
    }
    return this.getLink(spec.name);
  }

  setLinkUp(index: number): void {
    this.setLinkState(index, true);
  }

  setLinkState(index: number, up: boolean): void {
    this.#socket.request(setLinkRequest(index, { up }));
  }

  setLinkMac(index: number, mac: string): void {
    this.#socket.request(setLinkRequest(index, { mac }));
  }

  setLinkMtu(index: number, mtu: number): void {
    this.#socket.request(setLinkRequest(index, { mtu }));
  }

  /** Several link attributes in one request (up, mtu, mac). */
  updateLink(index: number, changes: Omit<LinkChanges, 'netnsFd'>): void {
    this.#socket.request(setLinkRequest(index, { up: changes.up, mtu: changes.mtu, mac: changes.mac }));
  }

  /** Moves a link into the namespace at `netnsPath`. */
  moveLinkToNetns(index: number, netnsPath: string): void {
    const fd = openNetns(netnsPath);
    try {
      this.#socket.request(setLinkRequest(index, { netnsFd: fd }));
    } finally {
      closeSync(fd);
    }
  }

  /** Deletes a link (a veth takes its peer with it); NetlinkError ENODEV when absent. */
  deleteLink(ref: LinkRef): void {
    this.#socket.request(deleteLinkRequest(ref));
  }

  // ---- addresses -----------------------------------------------------------------------

  /** NetlinkError EEXIST when already present, unless `replace`. */
  addAddress(spec: AddressSpec, opts: { replace?: boolean } = {}): void {
    this.#socket.request(newAddressRequest(spec, opts.replace === true));
  }

  /** NetlinkError EADDRNOTAVAIL when absent. */
  deleteAddress(spec: AddressSpec): void {
    this.#socket.request(deleteAddressRequest(spec));
  }

  listAddresses(ifindex?: number, family?: IpFamily): AddressInfo[] {
    const all = this.#socket
      .dump(dumpAddressesRequest(family))
      .filter((m) => m.type === RTM_NEWADDR)
      .map(decodeAddress);
    return ifindex === undefined ? all : all.filter((a) => a.ifindex === ifindex);
  }

  // ---- routes --------------------------------------------------------------------------

  /** NetlinkError EEXIST when the route exists, unless `replace`. */
  addRoute(spec: RouteSpec, opts: { replace?: boolean } = {}): void {
    this.#socket.request(routeRequest(opts.replace === true ? 'replace' : 'add', spec));
  }

  /** NetlinkError ESRCH when no route matches. */
  deleteRoute(spec: RouteSpec): void {
    this.#socket.request(routeRequest('delete', spec));
  }

  /** The route the kernel would use to reach `address` (`ip route get`); NetlinkError when none. */
  lookupRoute(family: IpFamily, address: string): RouteInfo {
    const reply = this.#socket
      .query(lookupRouteRequest(family, address))
      .find((m) => m.type === RTM_NEWROUTE);
    if (reply === undefined) throw new NetlinkProtocolError(`no answer for the route to ${address}`);
    return decodeRoute(reply);
  }

  // ---- nexthop objects (Linux 5.3+) ----------------------------------------------------

  /** NetlinkError EEXIST when the id is taken; EINVAL/EOPNOTSUPP on kernels without them. */
  addNextHop(spec: NextHopObjectSpec): void {
    this.#socket.request(newNextHopRequest(spec));
  }

  /** Deletes the object and every route naming it; NetlinkError ENOENT when absent. */
  deleteNextHop(id: number): void {
    this.#socket.request(deleteNextHopRequest(id));
  }

  listNextHops(): NextHopObjectInfo[] {
    return this.#socket
      .dump(dumpNextHopsRequest())
      .filter((m) => m.type === RTM_NEWNEXTHOP)
      .map(decodeNextHop);
  }

  listRoutes(filter: RouteFilter): RouteInfo[] {
    const table = filter.table ?? RT_TABLE_MAIN;
    const out: RouteInfo[] = [];
    for (const msg of this.#socket.dump(dumpRoutesRequest(filter.family))) {
      if (msg.type !== RTM_NEWROUTE) continue;
      // Filter on the fixed header first: cached clones and other protocols skip the full decode.
      const header = routeHeader(msg);
      if ((header.flags & RTM_F_CLONED) !== 0) continue;
      if (filter.protocol !== undefined && header.protocol !== filter.protocol) continue;
      const route = decodeRoute(msg);
      if (table === RT_TABLE_UNSPEC || route.table === table) out.push(route);
    }
    return out;
  }

  /**
   * Applies many route replaces/deletes in one batched exchange. All ops are validated first:
   * invalid input throws NetlinkInputError before anything is sent. Kernel refusals (e.g.
   * ESRCH for deleting an absent route) are reported per op and do not stop the others.
   */
  applyRouteBatch(ops: readonly RouteBatchOp[]): RouteBatchResult {
    return routeBatchResult(this.#socket.sendBatch(encodeRouteBatch(ops)));
  }

  /**
   * `applyRouteBatch` with the kernel's work on a worker thread: returns once the ops are
   * validated and encoded (NetlinkInputError before anything is sent), and `done` gets the result
   * on this thread, or the error that stopped the exchange (then some ops may have been applied).
   * Only one batch is in flight: starting another, any other call on this RouteNetlink, or
   * `finish()` completes it first, running `done` before they return.
   */
  startRouteBatch(ops: readonly RouteBatchOp[], done: (outcome: RouteBatchOutcome) => void): BatchInFlight {
    return this.#socket.startBatch(encodeRouteBatch(ops), (outcome) => {
      done(outcome.error === undefined ? { result: routeBatchResult(outcome.results) } : outcome);
    });
  }
}

function routeBatchResult(answers: readonly (NetlinkError | undefined)[]): RouteBatchResult {
  const failed: { index: number; error: NetlinkError }[] = [];
  answers.forEach((error, index) => {
    if (error !== undefined) failed.push({ index, error });
  });
  return { ok: answers.length - failed.length, failed };
}
