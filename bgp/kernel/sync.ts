// KernelSync: keeps the kernel's BGP routes (protocol TRELLIS_BGP_RT_PROTO) equal to what the
// Loc-RIB wants, touching only the differences, in coalesced batches.
//
// It keeps a model of what it believes is installed (seeded from a dump at start) next to the
// desired routes, and a set of prefixes whose two sides may differ. A flush turns that set into
// one netlink batch. Until the RIB has converged after a restart (`sweepStale`), routes that
// are installed but no longer wanted are left alone: they are the previous run's routes, kept
// forwarding while peers re-send theirs (graceful restart).
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import type {
  IpFamily,
  NetlinkError,
  RouteBatchOp,
  RouteBatchResult,
  RouteFilter,
  RouteInfo,
  RouteSpec,
} from '../../src/netlink/index.js';
import { TRELLIS_BGP_RT_PROTO } from './protocol.js';
import {
  forwardsAs,
  type KernelPlacement,
  type KernelRoute,
  sameRoute,
  toDeleteSpec,
  toRouteSpec,
} from './routes.js';
import { checkKernelRoute } from './validate.js';

/** The part of RouteNetlink kernel sync uses (a fake in unit tests). */
export interface RouteTable {
  listRoutes(filter: RouteFilter): RouteInfo[];
  applyRouteBatch(ops: readonly RouteBatchOp[]): RouteBatchResult;
}

export interface KernelSyncOptions {
  readonly routes: RouteTable;
  /** Kernel table id; default main (254). */
  readonly table?: number;
  /** RTA_PRIORITY of our routes; default 20 (below the kernel's IPv6 default of 1024). */
  readonly metric?: number;
  /** Coalescing window after the first change; default 5 ms. */
  readonly flushDelayMs?: number;
  /** Flush at once when this many prefixes are pending; default 8192. */
  readonly maxPending?: number;
  readonly logger?: Logger;
}

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
  /** Prefixes whose last replace the kernel refused (e.g. ENETUNREACH: next hop not on link). */
  readonly failed: number;
  readonly batches: number;
}

const RT_TABLE_MAIN = 254;
const ESRCH = 'ESRCH';

export class KernelSync {
  readonly #routes: RouteTable;
  readonly #place: KernelPlacement;
  readonly #flushDelayMs: number;
  readonly #maxPending: number;
  readonly #log: Logger;
  readonly #desired = new Map<string, KernelRoute>();
  /** Our routes at our metric, by dst: the kernel's state as of the last dump plus our batches. */
  readonly #installed = new Map<string, RouteSpec>();
  /** Our protocol in our table at another metric (an older configuration): removed at the sweep. */
  #strays: RouteSpec[] = [];
  readonly #pending = new Set<string>();
  readonly #failed = new Map<string, NetlinkError>();
  #converged = true;
  #timer: NodeJS.Timeout | undefined;
  #batches = 0;

  constructor(opts: KernelSyncOptions) {
    this.#routes = opts.routes;
    this.#place = {
      protocol: TRELLIS_BGP_RT_PROTO,
      table: opts.table ?? RT_TABLE_MAIN,
      metric: opts.metric ?? 20,
    };
    this.#flushDelayMs = opts.flushDelayMs ?? 5;
    this.#maxPending = opts.maxPending ?? 8192;
    this.#log = opts.logger ?? silentLogger;
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
      { installed: this.#installed.size, strays: this.#strays.length, keepStale: opts.keepStale },
      'kernel sync: read existing BGP routes',
    );
    if (this.#converged) this.#schedule();
  }

  /** Wants `route` in the kernel (replacing what its prefix had). KernelRouteError if malformed. */
  set(route: KernelRoute): void {
    checkKernelRoute(route);
    const current = this.#desired.get(route.dst);
    if (current !== undefined && sameRoute(current, route)) return;
    this.#desired.set(route.dst, route);
    this.#mark(route.dst);
  }

  /** The prefix is no longer wanted: its route goes (after convergence, if we are restarting). */
  delete(dst: string): void {
    if (!this.#desired.delete(dst)) return;
    this.#mark(dst);
  }

  /** The RIB has converged: re-read the kernel and make it match, removing stale routes. */
  sweepStale(): KernelFlushResult {
    this.#converged = true;
    return this.resync();
  }

  /** Re-reads the kernel and repairs every difference (someone else changed our routes). */
  resync(): KernelFlushResult {
    this.#readKernel();
    for (const dst of this.#desired.keys()) this.#pending.add(dst);
    for (const dst of this.#installed.keys()) this.#pending.add(dst);
    return this.flush();
  }

  /** Applies every pending change now, in one batch. */
  flush(): KernelFlushResult {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const ops: RouteBatchOp[] = [];
    const dsts: string[] = [];
    for (const dst of this.#pending) {
      const wanted = this.#desired.get(dst);
      const installed = this.#installed.get(dst);
      if (wanted !== undefined) {
        if (installed !== undefined && forwardsAs(wanted, installed)) {
          this.#failed.delete(dst);
          continue;
        }
        ops.push({ op: 'replace', route: toRouteSpec(wanted, this.#place) });
        dsts.push(dst);
      } else if (installed !== undefined && this.#converged) {
        ops.push({ op: 'delete', route: toDeleteSpec(installed) });
        dsts.push(dst);
      }
    }
    this.#pending.clear();
    if (this.#converged && this.#strays.length > 0) {
      for (const stray of this.#strays) {
        ops.push({ op: 'delete', route: toDeleteSpec(stray) });
        dsts.push(stray.dst);
      }
      this.#strays = [];
    }
    return this.#apply(ops, dsts);
  }

  /** Removes every route of ours from the kernel (shutdown without graceful restart). */
  removeAll(): KernelFlushResult {
    this.#desired.clear();
    this.#converged = true;
    return this.resync();
  }

  /** Stops the coalescing timer; routes stay in the kernel. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  stats(): KernelSyncStats {
    let stale = 0;
    for (const dst of this.#installed.keys()) if (!this.#desired.has(dst)) stale++;
    return {
      desired: this.#desired.size,
      installed: this.#installed.size,
      stale: stale + this.#strays.length,
      pending: this.#pending.size,
      failed: this.#failed.size,
      batches: this.#batches,
    };
  }

  #mark(dst: string): void {
    this.#pending.add(dst);
    if (this.#pending.size >= this.#maxPending) this.flush();
    else this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#flushDelayMs);
    // Pending routes alone must not keep a process alive that is otherwise done.
    this.#timer.unref();
  }

  #readKernel(): void {
    this.#installed.clear();
    this.#strays = [];
    for (const family of [4, 6] as IpFamily[]) {
      const filter = { family, protocol: this.#place.protocol, table: this.#place.table };
      for (const route of this.#routes.listRoutes(filter)) {
        if ((route.metric ?? 0) === this.#place.metric) this.#installed.set(route.dst, route);
        else this.#strays.push(route);
      }
    }
  }

  #apply(ops: RouteBatchOp[], dsts: string[]): KernelFlushResult {
    if (ops.length === 0) return { replaced: 0, deleted: 0, failed: [] };
    const result = this.#routes.applyRouteBatch(ops);
    this.#batches++;
    const refused = new Map(result.failed.map((f) => [f.index, f.error]));
    const failed: { dst: string; error: NetlinkError }[] = [];
    let replaced = 0;
    let deleted = 0;
    ops.forEach((o, i) => {
      const dst = dsts[i]!;
      const error = refused.get(i);
      if (o.op === 'delete') {
        // ESRCH: already gone (an interface went down and took it along): the goal is met.
        if (error !== undefined && error.code !== ESRCH) {
          failed.push({ dst, error });
          return;
        }
        if ((o.route.metric ?? 0) === this.#place.metric) this.#installed.delete(dst);
        deleted++;
        return;
      }
      if (error !== undefined) {
        // The kernel keeps the previous route on a refused replace; our model stays as it was.
        this.#failed.set(dst, error);
        failed.push({ dst, error });
        return;
      }
      this.#failed.delete(dst);
      this.#installed.set(dst, o.route);
      replaced++;
    });
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
