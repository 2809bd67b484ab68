// One DatastoreWatch over the API server's watch protocol, through the library's Watch.
// It keeps its position (the resourceVersion of the last event or BOOKMARK) and, when the
// connection drops or the server is away, reconnects from that position after a jittered
// backoff: the server replays what happened meanwhile, so no event is lost, repeated or
// reordered. Only a position the server no longer has (410 Expired/Gone) ends the watch, with
// GoneError, as the contract says; the consumer re-lists (see Informer).
import type { Watch } from '@kubernetes/client-node';
import type { Logger } from '../../log.js';
import type { KindInfo } from '../../resources/index.js';
import {
  DatastoreError,
  type Resource,
  type WatchCallbacks,
  type WatchEventType,
  type WatchHandle,
} from '../types.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import { decodeObject, logSkipped } from './decode.js';
import { parseStatus } from './errors.js';

export interface ResumingWatchOptions {
  watcher: Watch;
  info: KindInfo;
  /** Collection path (with namespace, if filtered). */
  path: string;
  /** Finds the current resourceVersion when the caller gave none ("changes from now on"). */
  currentVersion: () => Promise<string>;
  from: string | undefined;
  backoff: BackoffPolicy;
  log: Logger;
  onStop: () => void;
}

const DELIVERED = new Set<string>(['ADDED', 'MODIFIED', 'DELETED']);

export class ResumingWatch<R extends Resource> implements WatchHandle {
  private rv: string | undefined;
  private stopped = false;
  /** Bumped per connection, so callbacks of an abandoned connection are ignored. */
  private connection = 0;
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(
    private readonly o: ResumingWatchOptions,
    private readonly cb: WatchCallbacks<R>,
  ) {
    this.rv = o.from;
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller?.abort();
    this.o.onStop();
  }

  private async connect(): Promise<void> {
    const id = ++this.connection;
    if (this.rv === undefined) {
      try {
        this.rv = await this.o.currentVersion();
      } catch (err) {
        if (id === this.connection) this.retry(id, err);
        return;
      }
      if (id !== this.connection || this.stopped) return;
    }
    let controller: AbortController;
    try {
      controller = await this.o.watcher.watch(
        this.o.path,
        { resourceVersion: this.rv, allowWatchBookmarks: true },
        (type: string, obj: unknown) => this.onLine(id, type, obj),
        (err: unknown) => this.onDone(id, err),
      );
    } catch (err) {
      // Failures before the request is sent (e.g. an unreadable token file) land here.
      if (id === this.connection) this.retry(id, err);
      return;
    }
    if (this.stopped || id !== this.connection) controller.abort();
    else this.controller = controller;
  }

  private onLine(id: number, type: string, obj: unknown): void {
    if (this.stopped || id !== this.connection) return;
    if (type === 'ERROR') {
      const status = parseStatus(obj);
      if (status.code === 410) {
        this.fail(
          new DatastoreError('Gone', `watch ${this.o.info.kind} from ${this.rv}: ${status.message ?? '410'}`),
        );
      } else {
        this.retry(id, new Error(`watch ERROR event: ${status.message ?? JSON.stringify(obj)}`));
      }
      return;
    }
    const rv = versionOf(obj);
    if (type === 'BOOKMARK') {
      if (rv !== undefined) this.rv = rv;
      return;
    }
    if (!DELIVERED.has(type) || rv === undefined) {
      this.o.log.warn({ type }, 'ignoring a malformed watch event');
      return;
    }
    this.rv = rv;
    this.failures = 0;
    const decoded = decodeObject(this.o.info, obj);
    if ('invalid' in decoded) {
      logSkipped(this.o.log, decoded.invalid, `watch ${type}`);
      return;
    }
    try {
      this.cb.onEvent({ type: type as WatchEventType, object: decoded.ok as R });
    } catch (err) {
      // A handler that throws has lost an event it cannot get back: end the watch loudly.
      this.fail(err);
    }
  }

  private onDone(id: number, err: unknown): void {
    if (this.stopped || id !== this.connection) return;
    const code =
      typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
    if (code === 410) {
      this.fail(new DatastoreError('Gone', `watch ${this.o.info.kind} from ${this.rv}: 410 Gone`));
      return;
    }
    // err null: the server ended the stream (its watch timeout); resume at once-ish.
    this.retry(id, err);
  }

  private retry(id: number, err: unknown): void {
    this.connection = id + 1;
    this.controller?.abort();
    this.controller = undefined;
    this.failures += 1;
    const delay = backoffDelay(this.o.backoff, this.failures);
    if (err !== null && err !== undefined) {
      const message = err instanceof Error ? err.message : String(err);
      this.o.log.warn(
        { kind: this.o.info.kind, err: message, retryInMs: Math.round(delay) },
        'watch interrupted',
      );
    }
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.cb.onError?.(err instanceof Error ? err : new DatastoreError('Unavailable', String(err)));
  }
}

function versionOf(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { metadata?: { resourceVersion?: unknown } }).metadata;
  return typeof meta?.resourceVersion === 'string' && meta.resourceVersion !== ''
    ? meta.resourceVersion
    : undefined;
}
