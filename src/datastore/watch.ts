// Watch delivery: each watch owns a JournalTail, so it replays from its own position and sees
// every change in journal order, whichever process wrote it. A per-store notifier wakes the
// watches on inotify events for the journal, with a slow poll as a safety net (inotify can
// drop events on overflow, and some filesystems do not deliver them at all).
import { type FSWatcher, watch as fsWatch } from 'node:fs';
import type { Logger } from '../log.js';
import type { JournalTail } from './journal-tail.js';
import { DatastoreError, type Resource, type WatchCallbacks, type WatchHandle } from './types.js';

export interface WatchFilter {
  kind: string;
  namespace?: string;
}

export class JournalWatch<R extends Resource> implements WatchHandle {
  private stopped = false;

  constructor(
    private readonly tail: JournalTail,
    private readonly filter: WatchFilter,
    private readonly cb: WatchCallbacks<R>,
    private readonly onStop: () => void,
  ) {}

  /** Delivers what the journal has beyond this watch's position. */
  pump(): void {
    if (this.stopped) return;
    let records: ReturnType<JournalTail['poll']>;
    try {
      records = this.tail.poll();
    } catch (e) {
      this.fail(e);
      return;
    }
    for (const r of records) {
      if (this.stopped) return;
      if (r.kind !== this.filter.kind) continue;
      if (this.filter.namespace !== undefined && r.ns !== this.filter.namespace) continue;
      try {
        this.cb.onEvent({ type: r.type, object: r.object as R });
      } catch (e) {
        // A handler that throws has lost events it cannot get back: end the watch loudly.
        this.fail(e);
        return;
      }
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.tail.close();
    this.onStop();
  }

  fail(e: unknown): void {
    if (this.stopped) return;
    this.stop();
    const err = e instanceof Error ? e : new DatastoreError('Unavailable', String(e));
    this.cb.onError?.(err);
  }
}

/** Calls `wake` (coalesced, on a later tick) whenever the journal may have changed. */
export class JournalNotifier {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;

  constructor(
    private readonly dir: string,
    private readonly journalName: string,
    private readonly pollMs: number,
    private readonly wake: () => void,
    private readonly log: Logger,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.timer = setInterval(() => this.notify(), this.pollMs);
    try {
      this.watcher = fsWatch(this.dir, (_event, file) => {
        if (file === this.journalName) this.notify();
      });
      this.watcher.on('error', (err) => {
        this.log.warn({ err }, 'journal inotify watch failed; polling only');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.log.warn({ err }, 'cannot watch the journal; polling only');
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  notify(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.wake();
    });
  }
}
