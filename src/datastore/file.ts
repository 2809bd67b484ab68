// The embedded datastore: one directory shared by any number of processes on one machine.
// Layout and crash-safety argument: docs/datastore.md. In short: a write takes the store-wide
// flock, catches up with the journal, decides (CAS), appends one journal line + fdatasync (the
// commit point), then materializes the object file atomically. Readers never lock: they tail
// the journal into an in-memory index.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger, silentLogger } from '../log.js';
import { isTempFile } from './atomic-file.js';
import { FileLock } from './flock.js';
import type { JournalRecord } from './journal-codec.js';
import { JournalTail } from './journal-tail.js';
import {
  checkKind,
  checkNamespace,
  describeKey,
  keyOf,
  makeKey,
  parseResourceVersion,
  type ResourceKey,
  sameKey,
} from './keys.js';
import { planCreate, planDelete, planUpdate } from './mutations.js';
import { ObjectFiles } from './object-files.js';
import { ResourceIndex } from './resource-index.js';
import {
  type Datastore,
  DatastoreError,
  type DeleteOptions,
  type ListResult,
  type Resource,
  type WatchCallbacks,
  type WatchHandle,
  type WatchOptions,
} from './types.js';
import { JournalNotifier, JournalWatch } from './watch.js';

export interface FileDatastoreOptions {
  /** Called on create/update with a private copy; returns what to store (e.g. defaulted) or throws. */
  validate?: (obj: Resource) => Resource;
  logger?: Logger;
  /** Journal records kept for watchers to resume from (older versions are Gone). Default 2048. */
  retainRecords?: number;
  /** Safety-net poll interval for watches, on top of inotify. Default 1000 ms. */
  watchPollMs?: number;
}

/** A watch as the store drives it, whatever resource type its caller asked for. */
type PumpedWatch = WatchHandle & { pump(): void };

const JOURNAL = 'journal';
const OBJECTS = 'objects';
const LOCK = 'lock';

const clone = <T>(v: T): T => structuredClone(v);
const nowSeconds = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class FileDatastore implements Datastore {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /**
   * The journal version whose object file this process knows to be materialized. Lock-free
   * reads consume records too, so "saw a new record under the lock" is not enough: the lock
   * holder compares this with the journal's last record.
   */
  private materializedRv: number;
  private readonly watches = new Set<PumpedWatch>();
  private readonly notifier: JournalNotifier;

  private constructor(
    private readonly dir: string,
    private readonly lock: FileLock,
    private readonly objects: ObjectFiles,
    private tail: JournalTail,
    private index: ResourceIndex,
    private readonly validate: ((obj: Resource) => Resource) | undefined,
    private readonly retain: number,
    watchPollMs: number,
    private readonly log: Logger,
  ) {
    this.materializedRv = tail.rv;
    this.notifier = new JournalNotifier(dir, JOURNAL, watchPollMs, () => this.pumpWatches(), log);
  }

  static async open(dir: string, opts: FileDatastoreOptions = {}): Promise<FileDatastore> {
    const retain = opts.retainRecords ?? 2048;
    if (!Number.isSafeInteger(retain) || retain < 1) {
      throw new DatastoreError('Invalid', `retainRecords must be a positive integer, got ${retain}`);
    }
    const log = (opts.logger ?? silentLogger).child({ component: 'datastore', dir });
    mkdirSync(join(dir, OBJECTS), { recursive: true });
    const lock = FileLock.open(join(dir, LOCK));
    const objects = new ObjectFiles(join(dir, OBJECTS));
    await lock.acquire();
    let state: ReturnType<typeof recover>;
    try {
      state = recover(dir, objects, log);
    } catch (e) {
      lock.close();
      throw e;
    }
    lock.release();
    const pollMs = opts.watchPollMs ?? 1000;
    return new FileDatastore(dir, lock, objects, state.tail, state.index, opts.validate, retain, pollMs, log);
  }

  async get<R extends Resource>(kind: string, name: string, namespace?: string): Promise<R | undefined> {
    const key = makeKey(kind, name, namespace);
    await this.refresh();
    const obj = this.index.get(key);
    return obj === undefined ? undefined : (clone(obj) as R);
  }

  async list<R extends Resource>(kind: string, opts: { namespace?: string } = {}): Promise<ListResult<R>> {
    checkKind(kind);
    const namespace = checkNamespace(opts.namespace);
    await this.refresh();
    return {
      items: this.index.list(kind, namespace).map((o) => clone(o) as R),
      resourceVersion: String(this.index.rv),
    };
  }

  async create<R extends Resource>(obj: R): Promise<R> {
    const key = keyOf(obj);
    if (obj.metadata.resourceVersion !== undefined) {
      throw new DatastoreError('Invalid', `${describeKey(key)}: resourceVersion must not be set on create`);
    }
    const candidate = this.validated(obj, key);
    const server = { uid: randomUUID(), creationTimestamp: nowSeconds() };
    const stored = await this.commit((index) =>
      planCreate(index.get(key), candidate, key, index.rv + 1, server),
    );
    return clone(stored) as R;
  }

  async update<R extends Resource>(obj: R): Promise<R> {
    const key = keyOf(obj);
    if (obj.metadata.resourceVersion === undefined) {
      throw new DatastoreError('Invalid', `${describeKey(key)}: update needs metadata.resourceVersion (CAS)`);
    }
    parseResourceVersion(obj.metadata.resourceVersion);
    const candidate = this.validated(obj, key);
    const stored = await this.commit(
      (index) => planUpdate(index.get(key), candidate, key, index.rv + 1),
      key,
    );
    return clone(stored) as R;
  }

  async delete(kind: string, name: string, namespace?: string, opts: DeleteOptions = {}): Promise<void> {
    const key = makeKey(kind, name, namespace);
    if (opts.resourceVersion !== undefined) parseResourceVersion(opts.resourceVersion);
    await this.commit((index) => planDelete(index.get(key), key, index.rv + 1, opts.resourceVersion));
  }

  watch<R extends Resource>(kind: string, opts: WatchOptions, cb: WatchCallbacks<R>): WatchHandle {
    checkKind(kind);
    const namespace = checkNamespace(opts.namespace);
    const from = opts.resourceVersion === undefined ? 'end' : parseResourceVersion(opts.resourceVersion);
    this.assertOpen();
    let tail: JournalTail;
    try {
      tail = JournalTail.open(join(this.dir, JOURNAL), from);
    } catch (e) {
      // Gone (or an unreadable journal) is reported the way the contract says: via onError.
      let stopped = false;
      setImmediate(() => stopped || cb.onError?.(e as Error));
      return {
        stop: () => {
          stopped = true;
        },
      };
    }
    const filter = namespace === undefined ? { kind } : { kind, namespace };
    const w = new JournalWatch<R>(tail, filter, cb, () => this.forgetWatch(w));
    this.watches.add(w);
    this.notifier.start();
    this.notifier.notify();
    return w;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.stop();
    this.notifier.stop();
    await this.queue;
    this.tail.close();
    this.lock.close();
  }

  /** Lock-free catch-up with other processes' writes; Gone (we were idle through a compaction) reloads. */
  private async refresh(): Promise<void> {
    this.assertOpen();
    let records: JournalRecord[];
    try {
      records = this.tail.poll();
    } catch (e) {
      if (e instanceof DatastoreError && e.reason === 'Gone') {
        await this.exclusive(() => undefined);
        return;
      }
      throw e;
    }
    for (const r of records) this.index.apply(r);
  }

  /**
   * Runs `plan` against the current state under the store lock and commits the record it
   * returns. `plan` returning undefined (a no-op update) commits nothing; `noopKey` is then
   * the object to return.
   */
  private commit(plan: (index: ResourceIndex) => JournalRecord | undefined, noopKey?: ResourceKey) {
    return this.exclusive((): Resource => {
      const record = plan(this.index);
      if (record === undefined) return this.index.get(noopKey!)!;
      this.tail.append(record);
      this.index.apply(record);
      this.materialize(record);
      if (this.tail.rv - this.tail.baseRv > 2 * this.retain) this.compact();
      this.notifier.notify();
      return record.object;
    });
  }

  /** In-process queue + cross-process flock; the body runs synchronously to keep the lock short. */
  private exclusive<T>(body: () => T): Promise<T> {
    this.assertOpen();
    const run = this.queue.then(async () => {
      await this.lock.acquire();
      try {
        this.catchUpUnderLock();
        return body();
      } finally {
        this.lock.release();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private catchUpUnderLock(): void {
    let records: JournalRecord[];
    try {
      records = this.tail.poll();
    } catch (e) {
      if (!(e instanceof DatastoreError && e.reason === 'Gone')) throw e;
      this.reloadUnderLock('compacted past this process');
      return;
    }
    for (const r of records) this.index.apply(r);
    if (this.tail.pending.bytes > 0) {
      // We hold the lock, so nobody is writing: these bytes are a dead writer's torn line.
      this.reloadUnderLock(`journal tail refused: ${this.tail.pending.reason}`);
      return;
    }
    const last = this.tail.lastRecord;
    if (last !== undefined && last.rv !== this.materializedRv) rollForward(this.objects, last, this.log);
    this.materializedRv = this.tail.rv;
  }

  private reloadUnderLock(why: string): void {
    this.log.warn({ why }, 'reloading the store from disk');
    this.tail.close();
    const { tail, index } = recover(this.dir, this.objects, this.log);
    this.tail = tail;
    this.index = index;
    this.materializedRv = tail.rv;
  }

  /** The record is committed already; a failure here is repaired by the next lock holder. */
  private materialize(record: JournalRecord): void {
    const key = recordKey(record);
    try {
      if (record.type === 'DELETED') this.objects.remove(key);
      else this.objects.write(key, record.object);
      this.materializedRv = record.rv;
    } catch (err) {
      this.log.error({ err, rv: record.rv }, 'object file write failed after commit; will roll forward');
    }
  }

  private compact(): void {
    try {
      this.tail.compact(this.retain);
    } catch (err) {
      this.log.error({ err }, 'journal compaction failed; the journal keeps growing');
    }
  }

  private validated(obj: Resource, key: ResourceKey): Resource {
    const copy = clone(obj);
    if (this.validate === undefined) return copy;
    let out: Resource;
    try {
      out = this.validate(copy);
    } catch (e) {
      if (e instanceof DatastoreError) throw e;
      const err = new DatastoreError('Invalid', `${describeKey(key)}: ${(e as Error).message ?? String(e)}`);
      err.cause = e;
      throw err;
    }
    if (!sameKey(keyOf(out), key)) {
      throw new DatastoreError('Invalid', `${describeKey(key)}: validate changed the object's identity`);
    }
    // The CAS precondition is the caller's, whatever the validator did to metadata.
    return { ...out, metadata: { ...out.metadata, resourceVersion: obj.metadata.resourceVersion } };
  }

  private pumpWatches(): void {
    for (const w of [...this.watches]) w.pump();
  }

  private forgetWatch(w: PumpedWatch): void {
    this.watches.delete(w);
    if (this.watches.size === 0) this.notifier.stop();
  }

  private assertOpen(): void {
    if (this.closed) throw new DatastoreError('Unavailable', `datastore ${this.dir} is closed`);
  }
}

const recordKey = (r: JournalRecord): ResourceKey =>
  r.ns === undefined ? { kind: r.kind, name: r.name } : { kind: r.kind, namespace: r.ns, name: r.name };

/**
 * Makes the object file of the journal's last record match it. Writes are serialized by the
 * lock and every lock holder checks the last record before appending, so only the last record
 * can ever be unmaterialized (its writer died between commit and rename).
 */
function rollForward(objects: ObjectFiles, last: JournalRecord, log: Logger): void {
  const key = recordKey(last);
  let current: Resource | undefined;
  try {
    current = objects.read(key);
  } catch (err) {
    log.warn({ err }, 'unreadable object file; rewriting it from the journal');
  }
  // Ahead of the record: the journal lost later records (recover() restarts it), keep the file.
  if (current !== undefined && Number(current.metadata.resourceVersion) > last.rv) return;
  if (last.type === 'DELETED') {
    if (current === undefined) return;
    objects.remove(key);
  } else {
    if (current?.metadata.resourceVersion === String(last.rv)) return;
    objects.write(key, last.object);
  }
  log.warn({ rv: last.rv, key }, 'rolled the last journal record forward into its object file');
}

/** Brings a store directory to a consistent state and loads it. Caller holds the store lock. */
function recover(
  dir: string,
  objects: ObjectFiles,
  log: Logger,
): { tail: JournalTail; index: ResourceIndex } {
  for (const f of readdirSync(dir)) if (isTempFile(f)) unlinkSync(join(dir, f));
  const path = join(dir, JOURNAL);
  if (!existsSync(path)) JournalTail.create(path, 0);
  let tail = JournalTail.open(path, 'end', true);
  if (tail.pending.bytes > 0) {
    log.warn({ reason: tail.pending.reason, bytes: tail.pending.bytes }, 'truncating the journal tail');
    tail.truncatePending();
  }
  if (tail.lastRecord !== undefined) rollForward(objects, tail.lastRecord, log);
  const { objects: all, removedTempFiles } = objects.loadAll();
  if (removedTempFiles > 0) log.info({ removedTempFiles }, 'removed temp files of interrupted writes');
  const newest = all.reduce((max, o) => Math.max(max, Number(o.metadata.resourceVersion)), 0);
  if (newest > tail.rv) {
    // Object files are ahead of the journal (it was lost or truncated): restart the journal
    // after them, so versions stay monotonic and older watch positions get Gone.
    log.warn({ journalRv: tail.rv, newest }, 'journal behind the object files; restarting it');
    tail.close();
    JournalTail.create(path, newest);
    tail = JournalTail.open(path, 'end', true);
  }
  return { tail, index: ResourceIndex.from(all, tail.rv) };
}
