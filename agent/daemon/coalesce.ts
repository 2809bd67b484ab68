// A reconcile pass that many events may ask for: requests that arrive while a pass is waiting or
// running are folded into one next pass, passes never overlap, and consecutive passes start at
// least `minIntervalMs` apart so a burst of changes (100 pods starting at once) costs a few
// passes rather than one per change.
import type { Datastore } from '../../src/datastore/types.js';
import type { Logger } from '../../src/log.js';
export interface CoalescedTaskOptions {
  /** Wait this long after the first request before starting, to gather its companions. */
  delayMs: number;
  /** Earliest start of a pass after the previous one started. */
  minIntervalMs: number;
  onError: (err: unknown) => void;
}

export class CoalescedTask {
  readonly #run: () => Promise<unknown>;
  readonly #o: CoalescedTaskOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #pending = false;
  #lastStart = -Infinity;
  #stopped = false;

  constructor(run: () => Promise<unknown>, opts: CoalescedTaskOptions) {
    this.#run = run;
    this.#o = opts;
  }

  request(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#pending = true;
      return;
    }
    if (this.#timer !== undefined) return;
    const wait = Math.max(this.#o.delayMs, this.#lastStart + this.#o.minIntervalMs - performance.now());
    this.#timer = setTimeout(() => void this.#pass(), wait);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #pass(): Promise<void> {
    this.#timer = undefined;
    this.#running = true;
    this.#lastStart = performance.now();
    try {
      await this.#run();
    } catch (err) {
      this.#o.onError(err);
    } finally {
      this.#running = false;
    }
    if (this.#pending) {
      this.#pending = false;
      this.request();
    }
  }
}

export interface ReconcileLoopOptions {
  datastore: Datastore;
  /** Kinds whose changes call for a pass. */
  kinds: readonly string[];
  task: CoalescedTask;
  /** Also pass this often with no change, to repair what someone else undid. */
  resyncMs: number;
  log: Logger;
}

/** Watches `kinds` and runs `task` on every change and every `resyncMs`; the first pass at once. */
export function startReconcileLoop(opts: ReconcileLoopOptions): { stop(): void } {
  const onEvent = (): void => opts.task.request();
  const onError = (err: Error): void => {
    opts.log.warn({ err: err.message }, 'watch failed; re-reading everything');
    opts.task.request();
  };
  const watches = opts.kinds.map((kind) => opts.datastore.watch(kind, {}, { onEvent, onError }));
  const resync = setInterval(() => opts.task.request(), opts.resyncMs);
  resync.unref();
  opts.task.request();
  return {
    stop(): void {
      for (const w of watches) w.stop();
      clearInterval(resync);
      opts.task.stop();
    },
  };
}
