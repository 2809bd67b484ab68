// KernelSync: keeps the kernel's BGP routes (protocol TRELLIS_BGP_RT_PROTO) equal to what the
// Loc-RIB wants, touching only the differences, in coalesced batches.
//
// It keeps a model of what it believes is installed (seeded from a dump at start) next to the
// desired routes, and a set of prefixes whose two sides may differ. A flush turns that set into
// one netlink batch. Batches started by the coalescing timer or a full pending list run with
// the kernel's work on a worker thread (RouteTable.startRouteBatch), so the event loop decodes
// the next UPDATEs while the kernel inserts routes; at most one is in flight, and its per-route
// results land in the model when it completes (a prefix changed meanwhile is simply pending
// again). `flush()` and everything that reads the kernel settle the batch in flight first.
// Until the RIB has converged after a restart (`sweepStale`), routes that
// are installed but no longer wanted are left alone: they are the previous run's routes, kept
// forwarding while peers re-send theirs (graceful restart).
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { type PrefixKey, PrefixKeyedMap, prefixText } from '../../src/net/index.js';
import {
  type BatchInFlight,
  type IpFamily,
  type NetlinkError,
  type RouteBatchOp,
  type RouteBatchOutcome,
  type RouteBatchResult,
  type RouteFilter,
  type RouteInfo,
  type RouteSpec,
  scanCanonicalIPv4Cidr,
} from '../../src/netlink/index.js';
import { NextHopObjects, type NextHopTable } from './next-hop-objects.js';
import { TRELLIS_BGP_RT_PROTO } from './protocol.js';
import {
  addNamedNextHops,
  forwardsAs,
  type InstalledRoute,
  type KernelNextHop,
  type KernelPlacement,
  type KernelRoute,
  sameNextHops,
  toDeleteSpec,
  toRouteSpec,
} from './routes.js';
import { checkKernelRoute } from './validate.js';

/** The part of RouteNetlink kernel sync uses (a fake in unit tests). */
export interface RouteTable {
  listRoutes(filter: RouteFilter): RouteInfo[];
  applyRouteBatch(ops: readonly RouteBatchOp[]): RouteBatchResult;
  /**
   * Starts a batch and returns; `done` runs once, later, on this thread (never inside this
   * call). Any later call on the table, or `finish()`, first completes it and runs `done`.
   */
  startRouteBatch(ops: readonly RouteBatchOp[], done: (outcome: RouteBatchOutcome) => void): BatchInFlight;
}

export interface KernelSyncOptions {
  readonly routes: RouteTable;
  /** Nexthop objects (RouteNetlink): routes over a connected IPv4 gateway name one. Absent: none. */
  readonly nextHops?: NextHopTable;
  /** Kernel table id; default main (254). */
  readonly table?: number;
  /** RTA_PRIORITY of our routes; default 20 (below the kernel's IPv6 default of 1024). */
  readonly metric?: number;
  /** Coalescing window after the first change; default 5 ms. */
  readonly flushDelayMs?: number;
  /** Flush at once when this many prefixes are pending; default 8192. */
  readonly maxPending?: number;
  /**
   * Period of the full resync after `start` (0 or absent: none). It puts back routes the kernel
   * dropped behind our back (an interface that went down takes its routes along, and nothing
   * re-adds them while the session over it survives) and retries refused ones.
   */
  readonly resyncIntervalMs?: number;
  /**
   * Polled every second after `start` (a LinkMonitor): when an interface came back up, the
   * routes and objects its going down took are put back by a resync then, not a period later.
   */
  readonly links?: LinkChanges;
  readonly logger?: Logger;
}

/** Whether an interface came back up since the last call (LinkMonitor). */
export interface LinkChanges {
  cameBackUp(): boolean;
}

/** How often `links` is asked; a flap is repaired within this (plus the resync itself). */
const LINK_POLL_MS = 1000;

export interface KernelFlushResult {
  readonly replaced: number;
  readonly deleted: number;
  readonly failed: readonly { readonly dst: string; readonly error: NetlinkError }[];
}

export interface KernelSyncStats {
  /** Prefixes the RIB wants in the kernel. */
  readonly desired: number;
  /** Our routes in the kernel, as far as we know. */
  readonly installed: number;
  /** Installed routes not wanted any more, kept until the RIB converges. */
  readonly stale: number;
  readonly pending: number;
  /** Changes sent to the kernel whose answers have not been read yet. */
  readonly inFlight: number;
  /** Prefixes whose last replace the kernel refused (e.g. ENETUNREACH: next hop not on link). */
  readonly failed: number;
  readonly batches: number;
  /**
   * Routes its own resyncs (periodic, or after a link came back up) put back, changed or removed
   * since start: someone else's doing, or a link's.
   */
  readonly repaired: number;
}

const RT_TABLE_MAIN = 254;
const ESRCH = 'ESRCH';
/** After a batch failed as a whole (not route by route), its changes are retried this much later. */
const RETRY_DELAY_MS = 1000;
const NOTHING: KernelFlushResult = { replaced: 0, deleted: 0, failed: [] };

/** The slot map's key (PrefixKeyedMap); `set` gets the IPv4 number from its input check. */
function slotKey(dst: string): PrefixKey {
  const scanned = scanCanonicalIPv4Cidr(dst);
  return scanned < 0 ? dst : scanned;
}

/**
 * Both sides of one prefix in one record: one map entry per prefix and one lookup per change,
 * and a flush walks its pending slots without looking anything up.
 */
interface Slot {
  readonly key: PrefixKey;
  readonly dst: string;
  readonly family: IpFamily;
  /** The next hops the RIB wants (not the KernelRoute: one object less per prefix); undefined: none. */
  desired: readonly KernelNextHop[] | undefined;
  /** Our route at our metric, as of the last dump plus our batches. */
  installed: InstalledRoute | undefined;
  /** Listed in #pending: the two sides may differ. */
  pending: boolean;
  /** Why the kernel refused the last replace (e.g. ENETUNREACH: next hop not on link). */
  failed: NetlinkError | undefined;
}

/**
 * A prefix whose route our own batch installed exactly as wanted, with nothing pending or
 * failed, is kept as that next-hop list alone (shared between routes): a settled full table
 * costs no object per prefix, and no dst text (it is rebuilt from the key when needed).
 */
type Settled = readonly KernelNextHop[];
type Entry = Slot | Settled;

const isSettled = (entry: Entry): entry is Settled => Array.isArray(entry);

/** One batch's changes; targets[i] is op i's slot (undefined for a stray), sent[i] the hops a replace installs. */
interface Changes {
  readonly ops: RouteBatchOp[];
  readonly targets: (Slot | undefined)[];
  readonly sent: (readonly KernelNextHop[] | undefined)[];
}

interface Flight {
  readonly changes: Changes;
  readonly handle: BatchInFlight;
  /** Set when it lands. */
  result: KernelFlushResult | undefined;
}

export class KernelSync {
  readonly #routes: RouteTable;
  readonly #place: KernelPlacement;
  readonly #flushDelayMs: number;
  readonly #maxPending: number;
  readonly #resyncIntervalMs: number;
  readonly #links: LinkChanges | undefined;
  readonly #log: Logger;
  readonly #objects: NextHopObjects | undefined;
  /** By slotKey(dst); a slot with neither side set is dropped at the flush that empties it. */
  readonly #slots = new PrefixKeyedMap<Entry>();
  /** Our protocol in our table at another metric (an older configuration): removed at the sweep. */
  #strays: RouteSpec[] = [];
  #pending: Slot[] = [];
  #converged = true;
  #timer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #linkTimer: NodeJS.Timeout | undefined;
  #batches = 0;
  #repaired = 0;
  #flight: Flight | undefined;
  /** Inside #settle: a landing batch must not start the next one (the caller flushes itself). */
  #settling = false;
  #closed = false;

  constructor(opts: KernelSyncOptions) {
    this.#routes = opts.routes;
    this.#place = {
      protocol: TRELLIS_BGP_RT_PROTO,
      table: opts.table ?? RT_TABLE_MAIN,
      metric: opts.metric ?? 20,
    };
    this.#flushDelayMs = opts.flushDelayMs ?? 5;
    this.#maxPending = opts.maxPending ?? 8192;
    this.#resyncIntervalMs = opts.resyncIntervalMs ?? 0;
    this.#links = opts.links;
    this.#log = opts.logger ?? silentLogger;
    this.#objects =
      opts.nextHops === undefined
        ? undefined
        : new NextHopObjects(opts.nextHops, this.#place.protocol, this.#log);
  }

  /**
   * Reads our routes from the kernel. With `keepStale` (a restart under graceful restart) the
   * previous run's routes keep forwarding until `sweepStale`; without it, anything the RIB does
   * not want is removed at the next flush.
   */
  start(opts: { keepStale: boolean }): void {
    this.#converged = !opts.keepStale;
    this.#readKernel();
    this.#log.info(
      { installed: this.stats().installed, strays: this.#strays.length, keepStale: opts.keepStale },
      'kernel sync: read existing BGP routes',
    );
    if (this.#converged) this.#schedule(this.#flushDelayMs);
    if (this.#resyncIntervalMs > 0 && this.#resyncTimer === undefined) {
      this.#resyncTimer = setInterval(() => this.#repair(), this.#resyncIntervalMs);
      this.#resyncTimer.unref();
    }
    if (this.#links !== undefined && this.#linkTimer === undefined) {
      const links = this.#links;
      this.#linkTimer = setInterval(() => {
        try {
          if (!links.cameBackUp()) return;
        } catch (err) {
          this.#log.error({ err }, 'kernel sync: reading link changes failed');
          return;
        }
        this.#log.info('kernel sync: an interface came back up, resyncing');
        this.#repair();
      }, LINK_POLL_MS);
      this.#linkTimer.unref();
    }
  }

  #repair(): void {
    try {
      // Changes still in their coalescing window go first, so the counts are repairs only.
      this.flush();
      const { replaced, deleted, failed } = this.resync();
      this.#repaired += replaced + deleted;
      if (replaced + deleted > 0) {
        this.#log.warn({ replaced, deleted, failed: failed.length }, 'kernel sync: resync repaired routes');
      }
    } catch (err) {
      // The next period tries again; a broken netlink socket is the speaker's to report.
      this.#log.error({ err }, 'kernel sync: periodic resync failed');
    }
  }

  /** Wants `route` in the kernel (replacing what its prefix had). KernelRouteError if malformed. */
  set(route: KernelRoute): void {
    const scanned = checkKernelRoute(route);
    const key = scanned < 0 ? route.dst : scanned;
    const entry = this.#slots.get(key);
    if (entry === undefined) {
      const added: Slot = {
        key,
        dst: route.dst,
        family: route.family,
        desired: route.nextHops,
        installed: undefined,
        pending: false,
        failed: undefined,
      };
      this.#slots.set(key, added);
      this.#mark(added);
      return;
    }
    const desired = isSettled(entry) ? entry : entry.desired;
    if (desired !== undefined && sameNextHops(desired, route.nextHops)) return;
    const slot = isSettled(entry) ? this.#unsettle(key, entry, route.dst) : entry;
    slot.desired = route.nextHops;
    this.#mark(slot);
  }

  /** The prefix is no longer wanted: its route goes (after convergence, if we are restarting). */
  delete(dst: string): void {
    const key = slotKey(dst);
    const entry = this.#slots.get(key);
    if (entry === undefined) return;
    const slot = isSettled(entry) ? this.#unsettle(key, entry, dst) : entry;
    if (slot.desired === undefined) return;
    slot.desired = undefined;
    this.#mark(slot);
  }

  /** The RIB has converged: re-read the kernel and make it match, removing stale routes. */
  sweepStale(): KernelFlushResult {
    this.#converged = true;
    return this.resync();
  }

  /**
   * Re-reads the kernel and repairs every difference (someone else changed our routes). The
   * result counts the repairs, not the batch that was in flight when it was called.
   */
  resync(): KernelFlushResult {
    this.#settle();
    this.#readKernel();
    for (const slot of this.#allSlots()) this.#enqueue(slot);
    const result = this.flush();
    if (this.#converged) this.#pruneObjects();
    return result;
  }

  /** Deletes our nexthop objects that no route (installed, or wanted) names any more. */
  #pruneObjects(): void {
    if (this.#objects === undefined) return;
    const gateways = new Set<string>();
    const ids = new Set<number>();
    for (const entry of this.#slots.values()) {
      if (isSettled(entry)) addNamedNextHops(entry, gateways, ids);
      else {
        if (entry.desired !== undefined) addNamedNextHops(entry.desired, gateways, ids);
        if (entry.installed !== undefined) addNamedNextHops(entry.installed, gateways, ids);
      }
    }
    const removed = this.#objects.prune(gateways, ids);
    if (removed > 0) this.#log.info({ removed }, 'kernel sync: unused nexthop objects removed');
  }

  /**
   * Applies every pending change now, in one batch, after the batch in flight (if any) has
   * completed; the result counts both.
   */
  flush(): KernelFlushResult {
    this.#cancelTimer();
    const landed = this.#settle();
    const changes = this.#takePending();
    if (changes.ops.length === 0) return landed;
    const applied = this.#record(changes, this.#routes.applyRouteBatch(changes.ops));
    return landed === NOTHING
      ? applied
      : {
          replaced: landed.replaced + applied.replaced,
          deleted: landed.deleted + applied.deleted,
          failed: [...landed.failed, ...applied.failed],
        };
  }

  /** Removes every route of ours from the kernel (shutdown without graceful restart). */
  removeAll(): KernelFlushResult {
    for (const slot of this.#allSlots()) slot.desired = undefined;
    this.#converged = true;
    return this.resync();
  }

  /** Completes the batch in flight and stops batching; pending changes are dropped, routes stay. */
  close(): void {
    this.#closed = true;
    this.#cancelTimer();
    clearInterval(this.#resyncTimer);
    this.#resyncTimer = undefined;
    clearInterval(this.#linkTimer);
    this.#linkTimer = undefined;
    this.#settle();
  }

  stats(): KernelSyncStats {
    let desired = 0;
    let installed = 0;
    let stale = 0;
    let failed = 0;
    for (const slot of this.#slots.values()) {
      if (isSettled(slot)) {
        desired++;
        installed++;
        continue;
      }
      if (slot.desired !== undefined) desired++;
      if (slot.installed !== undefined) {
        installed++;
        if (slot.desired === undefined) stale++;
      }
      if (slot.failed !== undefined) failed++;
    }
    return {
      desired,
      installed,
      stale: stale + this.#strays.length,
      pending: this.#pending.length,
      inFlight: this.#flight?.changes.ops.length ?? 0,
      failed,
      batches: this.#batches,
      repaired: this.#repaired,
    };
  }

  /** Prefixes whose last replace the kernel refused, with its reason, in table order. */
  failures(): { readonly dst: string; readonly error: NetlinkError }[] {
    const out: { dst: string; error: NetlinkError }[] = [];
    for (const entry of this.#slots.values()) {
      if (!isSettled(entry) && entry.failed !== undefined) out.push({ dst: entry.dst, error: entry.failed });
    }
    return out;
  }

  /** Turns a settled prefix back into a slot (both sides the settled list), in the map too. */
  #unsettle(key: PrefixKey, hops: Settled, dst: string): Slot {
    const slot: Slot = {
      key,
      dst,
      family: typeof key === 'number' ? 4 : 6,
      desired: hops,
      installed: hops,
      pending: false,
      failed: undefined,
    };
    this.#slots.set(key, slot);
    return slot;
  }

  /** Every prefix as a slot (settled ones unsettled): for the rare walks over the whole table. */
  #allSlots(): Slot[] {
    const slots: Slot[] = [];
    for (const [key, entry] of this.#slots.entries()) {
      slots.push(isSettled(entry) ? this.#unsettle(key, entry, prefixText(key)) : entry);
    }
    return slots;
  }

  /** A slot with nothing left to do goes back to its compact form. */
  #settleSlot(slot: Slot): void {
    if (
      !slot.pending &&
      slot.failed === undefined &&
      slot.desired !== undefined &&
      slot.installed === slot.desired
    ) {
      this.#slots.set(slot.key, slot.desired);
    }
  }

  #enqueue(slot: Slot): void {
    if (slot.pending) return;
    slot.pending = true;
    this.#pending.push(slot);
  }

  #mark(slot: Slot): void {
    this.#enqueue(slot);
    if (this.#pending.length >= this.#maxPending) this.#launch();
    else this.#schedule(this.#flushDelayMs);
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#launch();
    }, delayMs);
    // Pending routes alone must not keep a process alive that is otherwise done.
    this.#timer.unref();
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Starts a batch of the pending changes unless one is in flight: that one's landing starts
   * the next, so while the kernel works, changes pile up into the following batch.
   */
  #launch(): void {
    if (this.#flight !== undefined || this.#closed) return;
    this.#cancelTimer();
    const changes = this.#takePending();
    if (changes.ops.length === 0) return;
    const flight: Flight = {
      changes,
      result: undefined,
      handle: this.#routes.startRouteBatch(changes.ops, (outcome) => this.#land(flight, outcome)),
    };
    this.#flight = flight;
  }

  #land(flight: Flight, outcome: RouteBatchOutcome): void {
    this.#flight = undefined;
    if (outcome.error === undefined) {
      flight.result = this.#record(flight.changes, outcome.result);
    } else {
      // Which routes the kernel took is unknown: send them all again (replace and delete are
      // idempotent here, ESRCH counts as done). A flush() retries at once and throws if it fails.
      this.#log.error({ err: outcome.error, routes: flight.changes.ops.length }, 'kernel sync: batch failed');
      const { ops, targets } = flight.changes;
      targets.forEach((slot, i) => {
        if (slot !== undefined) this.#enqueue(slot);
        else this.#strays.push(ops[i]!.route);
      });
      flight.result = NOTHING;
      this.#schedule(RETRY_DELAY_MS);
      return;
    }
    if (!this.#settling && this.#pending.length > 0) this.#launch();
  }

  /** Completes the batch in flight, if any, on this thread; returns what it did. */
  #settle(): KernelFlushResult {
    const flight = this.#flight;
    if (flight === undefined) return NOTHING;
    this.#settling = true;
    try {
      flight.handle.finish();
    } finally {
      this.#settling = false;
    }
    return flight.result ?? NOTHING;
  }

  /** Turns the pending slots into ops; slots with nothing to do leave the list (or the map). */
  #takePending(): Changes {
    const ops: RouteBatchOp[] = [];
    const targets: (Slot | undefined)[] = [];
    const sent: (readonly KernelNextHop[] | undefined)[] = [];
    const pending = this.#pending;
    this.#pending = [];
    for (const slot of pending) {
      slot.pending = false;
      const { desired, installed } = slot;
      if (desired !== undefined) {
        if (installed !== undefined && forwardsAs(desired, installed)) {
          // The kernel forwards as wanted: remember it as these hops, so the slot can settle.
          slot.failed = undefined;
          slot.installed = desired;
          this.#settleSlot(slot);
          continue;
        }
        const nhid = this.#objects?.idFor(slot.family, desired);
        ops.push({ op: 'replace', route: toRouteSpec(slot.family, slot.dst, desired, this.#place, nhid) });
        targets.push(slot);
        sent.push(desired);
      } else if (installed === undefined) {
        this.#slots.delete(slot.key);
      } else if (this.#converged) {
        ops.push({ op: 'delete', route: toDeleteSpec(slot.family, slot.dst, installed, this.#place) });
        targets.push(slot);
        sent.push(undefined);
      }
    }
    if (this.#converged && this.#strays.length > 0) {
      for (const stray of this.#strays) {
        ops.push({ op: 'delete', route: toDeleteSpec(stray.family, stray.dst, stray, this.#place) });
        targets.push(undefined);
        sent.push(undefined);
      }
      this.#strays = [];
    }
    return { ops, targets, sent };
  }

  /**
   * Routes refused while naming a nexthop object: if the kernel deleted objects (it does with
   * their interface), they are forgotten and those routes retried, creating them anew.
   */
  #retryWithoutGoneObjects(named: ReadonlyMap<Slot, number>): void {
    if (!this.#objects!.forgetGone(new Set(named.values()))) return;
    for (const slot of named.keys()) this.#enqueue(slot);
    this.#schedule(this.#flushDelayMs);
  }

  #readKernel(): void {
    for (const slot of this.#allSlots()) slot.installed = undefined;
    this.#objects?.load();
    this.#strays = [];
    for (const family of [4, 6] as IpFamily[]) {
      const filter = { family, protocol: this.#place.protocol, table: this.#place.table };
      for (const route of this.#routes.listRoutes(filter)) {
        if ((route.metric ?? 0) !== this.#place.metric) {
          this.#strays.push(route);
          continue;
        }
        const key = slotKey(route.dst);
        // No entry is settled here: the loop above made every one a slot.
        const slot = this.#slots.get(key) as Slot | undefined;
        if (slot !== undefined) slot.installed = route;
        else {
          const found: Slot = {
            key,
            dst: route.dst,
            family,
            desired: undefined,
            installed: route,
            pending: false,
            failed: undefined,
          };
          this.#slots.set(key, found);
        }
      }
    }
  }

  /**
   * Brings the model in line with what the kernel did. A slot changed while its batch was in
   * flight is pending again: its installed side is now right and the next batch diffs from it.
   */
  #record(changes: Changes, result: RouteBatchResult): KernelFlushResult {
    const { ops, targets } = changes;
    this.#batches++;
    const refused: (NetlinkError | undefined)[] = [];
    for (const f of result.failed) refused[f.index] = f.error;
    const failed: { dst: string; error: NetlinkError }[] = [];
    /** Refused routes that named a nexthop object, and its id. */
    let namedObjects: Map<Slot, number> | undefined;
    let replaced = 0;
    let deleted = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const slot = targets[i];
      const error = refused[i];
      if (op.op === 'delete') {
        // ESRCH: already gone (an interface went down and took it along): the goal is met.
        if (error !== undefined && error.code !== ESRCH) {
          failed.push({ dst: op.route.dst, error });
          continue;
        }
        // A stray is at another metric: our model of routes at our metric is unchanged.
        if (slot !== undefined) {
          slot.installed = undefined;
          if (slot.desired === undefined && !slot.pending) this.#slots.delete(slot.key);
        }
        deleted++;
        continue;
      }
      if (error !== undefined) {
        // The kernel keeps the previous route on a refused replace; our model stays as it was.
        slot!.failed = error;
        failed.push({ dst: op.route.dst, error });
        if (op.route.nhid !== undefined) {
          namedObjects ??= new Map();
          namedObjects.set(slot!, op.route.nhid);
        }
        continue;
      }
      slot!.failed = undefined;
      slot!.installed = changes.sent[i];
      this.#settleSlot(slot!);
      replaced++;
    }
    if (namedObjects !== undefined) this.#retryWithoutGoneObjects(namedObjects);
    if (failed.length > 0) {
      this.#log.warn(
        { failed: failed.length, first: failed[0]!.error.message },
        'kernel sync: kernel refused some route changes',
      );
    }
    this.#log.debug({ replaced, deleted, failed: failed.length }, 'kernel sync: batch applied');
    return { replaced, deleted, failed };
  }
}
