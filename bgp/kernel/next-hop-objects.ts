// Nexthop objects for kernel sync (Linux 5.3+): one per directly connected IPv4 gateway, which
// our routes over that gateway name by id. The kernel then skips, per route, building a next hop,
// resolving its interface and checking it: a full table's routes share a handful of gateways,
// and 100k routes cost about 40 % less kernel time (docs/bgp-speaker.md). Multipath routes,
// IPv6 and link-local gateways keep naming their gateways, as does every route when the kernel
// has no nexthop objects or a gateway is not on a connected subnet.
import type { Logger } from '../../src/log.js';
import {
  type IpFamily,
  NetlinkError,
  type NextHopObjectInfo,
  type NextHopObjectSpec,
  type RouteInfo,
} from '../../src/netlink/index.js';
import type { KernelNextHop } from './routes.js';

/** The nexthop-object part of RouteNetlink (absent: routes name their gateways). */
export interface NextHopTable {
  lookupRoute(family: IpFamily, address: string): RouteInfo;
  listNextHops(): NextHopObjectInfo[];
  addNextHop(spec: NextHopObjectSpec): void;
  deleteNextHop(id: number): void;
}

/** Our ids start here (then count up, skipping ids in use): clear of small hand-picked ones. */
const FIRST_ID = 0x54_52_00_00;
const MAX_ID = 0xffff_ffff;
/** Ids tried per object before giving up (each EEXIST is someone else's object). */
const CREATE_ATTEMPTS = 64;

export class NextHopObjects {
  readonly #table: NextHopTable;
  readonly #protocol: number;
  readonly #log: Logger;
  /** Our object per gateway. */
  readonly #byGateway = new Map<string, number>();
  /**
   * Every object of ours in the kernel as far as we know, with its gateway (after a restart there
   * may be more than one per gateway; #byGateway names the one new routes use).
   */
  readonly #ours = new Map<number, string | undefined>();
  /** Gateways that get no object until the next load (not directly connected, refused). */
  readonly #inline = new Set<string>();
  #nextId = FIRST_ID;
  #enabled = true;
  /** The last hop list asked about and its answer: a full table asks 100k times in a row. */
  #last: { hops: readonly KernelNextHop[]; id: number | undefined } | undefined;

  constructor(table: NextHopTable, protocol: number, log: Logger) {
    this.#table = table;
    this.#protocol = protocol;
    this.#log = log;
  }

  /** Our objects in the kernel now: the installed routes (just dumped) may name any of them. */
  load(): void {
    this.#byGateway.clear();
    this.#ours.clear();
    this.#inline.clear();
    this.#last = undefined;
    if (!this.#enabled) return;
    let objects: NextHopObjectInfo[];
    try {
      objects = this.#table.listNextHops();
    } catch (err) {
      if (!(err instanceof NetlinkError)) throw err;
      this.#enabled = false;
      this.#log.info({ err: err.message }, 'kernel sync: no nexthop objects, routes name their gateways');
      return;
    }
    for (const o of objects) {
      if (o.protocol !== this.#protocol) continue;
      this.#ours.set(o.id, o.gateway);
      if (o.id >= this.#nextId && o.id < MAX_ID) this.#nextId = o.id + 1;
      if (o.family === 4 && o.gateway !== undefined && !this.#byGateway.has(o.gateway)) {
        this.#byGateway.set(o.gateway, o.id);
      }
    }
  }

  /**
   * The object that routes over `hops` should name, created on first use; undefined when the
   * route names its gateway instead. Exchanges with the kernel only for a gateway not seen yet.
   */
  idFor(family: IpFamily, hops: readonly KernelNextHop[]): number | undefined {
    const last = this.#last;
    if (last !== undefined && last.hops === hops) return last.id;
    const id = this.#lookup(family, hops);
    this.#last = { hops, id };
    return id;
  }

  #lookup(family: IpFamily, hops: readonly KernelNextHop[]): number | undefined {
    if (!this.#enabled || family !== 4 || hops.length !== 1 || hops[0]!.ifindex !== undefined) {
      return undefined;
    }
    const gateway = hops[0]!.gateway;
    const known = this.#byGateway.get(gateway);
    if (known !== undefined || this.#inline.has(gateway)) return known;
    try {
      // A nexthop object needs its interface; a gateway reached through another router cannot
      // have one (the kernel refuses the route either way, and says why for the route).
      const route = this.#table.lookupRoute(4, gateway);
      if (route.type !== 'unicast' || route.gateway !== undefined || route.oif === undefined) {
        this.#inline.add(gateway);
        return undefined;
      }
      const id = this.#create(gateway, route.oif);
      if (id === undefined) {
        this.#inline.add(gateway);
        this.#log.warn({ gateway }, 'kernel sync: no free nexthop id, routes name the gateway');
        return undefined;
      }
      this.#byGateway.set(gateway, id);
      this.#log.info({ id, gateway, oif: route.oif }, 'kernel sync: nexthop object created');
      return id;
    } catch (err) {
      if (!(err instanceof NetlinkError)) throw err;
      this.#inline.add(gateway);
      this.#log.warn(
        { gateway, err: err.message },
        'kernel sync: no nexthop object, routes name the gateway',
      );
      return undefined;
    }
  }

  /** A new object of ours; undefined when every id tried belongs to someone else. */
  #create(gateway: string, oif: number): number | undefined {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const id = this.#nextId;
      this.#nextId = id >= MAX_ID ? FIRST_ID : id + 1;
      try {
        this.#table.addNextHop({ id, family: 4, gateway, oif, protocol: this.#protocol });
        this.#ours.set(id, gateway);
        return id;
      } catch (err) {
        // Someone else's object: never take it over, try the next id.
        if (!(err instanceof NetlinkError && err.code === 'EEXIST')) throw err;
      }
    }
    return undefined;
  }

  /**
   * Routes naming some of `ids` were refused: objects the kernel no longer has (it deletes them
   * with their interface) are forgotten, so the next attempt creates them again. True if any was.
   */
  forgetGone(ids: ReadonlySet<number>): boolean {
    let present: Set<number>;
    try {
      present = new Set(this.#table.listNextHops().map((o) => o.id));
    } catch (err) {
      if (!(err instanceof NetlinkError)) throw err;
      this.#log.warn({ err: err.message }, 'kernel sync: could not list nexthop objects');
      return false;
    }
    let gone = false;
    for (const id of ids) {
      if (present.has(id) || !this.#ours.has(id)) continue;
      gone = true;
      this.#forget(id);
    }
    if (gone) this.#last = undefined;
    return gone;
  }

  /**
   * Deletes our objects that no route names any more (deleting one takes its routes along, so
   * the caller passes everything it may still install: `gateways` of wanted or installed routes
   * and `ids` that dumped routes name). Returns how many went.
   */
  prune(gateways: ReadonlySet<string>, ids: ReadonlySet<number>): number {
    let removed = 0;
    for (const [id, gateway] of [...this.#ours]) {
      const inUse = gateway !== undefined && this.#byGateway.get(gateway) === id && gateways.has(gateway);
      if (ids.has(id) || inUse) continue;
      try {
        this.#table.deleteNextHop(id);
      } catch (err) {
        if (!(err instanceof NetlinkError)) throw err;
        // ENOENT: gone already. Anything else: kept and tried again at the next sweep.
        if (err.code !== 'ENOENT') {
          this.#log.warn({ id, err: err.message }, 'kernel sync: could not remove a nexthop object');
          continue;
        }
      }
      this.#forget(id);
      removed++;
    }
    if (removed > 0) this.#last = undefined;
    return removed;
  }

  /** Drops an object of ours from the registry (and as its gateway's object, if it was that). */
  #forget(id: number): void {
    const gateway = this.#ours.get(id);
    this.#ours.delete(id);
    if (gateway !== undefined && this.#byGateway.get(gateway) === id) this.#byGateway.delete(gateway);
  }
}
