// A reflector over any Datastore: list, then watch from the list's version; on GoneError (the
// store no longer has that version) list again and turn the difference into events, so the
// consumer sees one gap-free stream of ADDED/MODIFIED/DELETED and a cache that matches the
// store. Transient failures (a list that cannot reach the store) retry with jittered backoff;
// a store that reconnects watches itself (KubernetesDatastore does) needs nothing more here.
import { type Logger, silentLogger } from '../../log.js';
import type { Datastore, Resource, WatchEvent, WatchHandle } from '../types.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

export interface InformerOptions {
  kind: string;
  namespace?: string;
  backoff?: Partial<BackoffPolicy>;
  logger?: Logger;
}

export interface InformerHandlers<R extends Resource> {
  /** In store order. A handler that throws is logged; the informer carries on. */
  onEvent(event: WatchEvent<R>): void;
}

const cacheKey = (o: Resource): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * The events that turn `cached` into `listed`. Objects gone from the list get DELETED with
 * their last known state (the deletion itself was not seen, so its version is unknown).
 */
export function relistEvents<R extends Resource>(
  cached: ReadonlyMap<string, R>,
  listed: readonly R[],
): WatchEvent<R>[] {
  const events: WatchEvent<R>[] = [];
  const seen = new Set<string>();
  for (const obj of listed) {
    const key = cacheKey(obj);
    seen.add(key);
    const old = cached.get(key);
    if (old === undefined) events.push({ type: 'ADDED', object: obj });
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
      events.push({ type: 'MODIFIED', object: obj });
  }
  for (const [key, old] of cached) if (!seen.has(key)) events.push({ type: 'DELETED', object: old });
  return events;
}

export class Informer<R extends Resource> {
  /** Lists done so far: 1 after start, +1 per recovery from Gone or a failed list. */
  relists = 0;
  /** Resolves once the first list has been delivered. */
  readonly synced: Promise<void>;
  private readonly cache = new Map<string, R>();
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy;
  private watch: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private markSynced!: () => void;

  constructor(
    private readonly ds: Datastore,
    private readonly opts: InformerOptions,
    private readonly handlers: InformerHandlers<R>,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ informer: opts.kind });
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.synced = new Promise((resolve) => {
      this.markSynced = resolve;
    });
  }

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch?.stop();
  }

  /** The cached objects, sorted by namespace/name. */
  list(): R[] {
    return [...this.cache.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  get(name: string, namespace?: string): R | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    this.relists += 1;
    let listed: { items: R[]; resourceVersion: string };
    try {
      listed = await this.ds.list<R>(this.opts.kind, this.namespaceOpt());
    } catch (err) {
      this.failures += 1;
      const delay = backoffDelay(this.backoff, this.failures);
      this.log.warn({ err: (err as Error).message, retryInMs: Math.round(delay) }, 'list failed');
      this.timer = setTimeout(() => void this.relist(), delay);
      return;
    }
    if (this.stopped) return;
    this.failures = 0;
    for (const e of relistEvents(this.cache, listed.items)) this.apply(e);
    this.markSynced();
    this.watch = this.ds.watch<R>(
      this.opts.kind,
      { resourceVersion: listed.resourceVersion, ...this.namespaceOpt() },
      {
        onEvent: (e) => this.apply(e),
        onError: (err) => {
          // Gone (the usual case) or a terminal watch failure: a fresh list recovers from both.
          this.log.info({ err: err.message }, 're-listing');
          void this.relist();
        },
      },
    );
  }

  private apply(e: WatchEvent<R>): void {
    const key = cacheKey(e.object);
    if (e.type === 'DELETED') this.cache.delete(key);
    else this.cache.set(key, e.object);
    try {
      this.handlers.onEvent(e);
    } catch (err) {
      this.log.error({ err: (err as Error).message, type: e.type, key }, 'informer handler failed');
    }
  }

  private namespaceOpt(): { namespace?: string } {
    return this.opts.namespace === undefined ? {} : { namespace: this.opts.namespace };
  }
}
