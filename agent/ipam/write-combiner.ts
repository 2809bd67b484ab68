// Write combining for read-modify-CAS of one object: changes to the same key that arrive while a
// write is in flight are applied together, in arrival order, to one fresh read and stored with
// one CAS write. A burst of 100 pod starts on a node then costs a handful of durable datastore
// writes instead of 100 serialized ones, and each change still sees the effect of the ones before
// it, exactly as if they had run one by one.
export type Change<S, T> = (state: S) => { state: S | undefined; value: T };

interface Queued<S> {
  change: Change<S, unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface CombinedStore<S> {
  /** The current state, or undefined when the object does not exist. */
  read(key: string): Promise<{ state: S; write: (next: S) => Promise<void> } | undefined>;
  /** Runs one read-change-write attempt sequence, retrying it on conflicts. */
  retry<T>(what: string, attempt: () => Promise<T>): Promise<T>;
}

export class WriteCombiner<S> {
  readonly #store: CombinedStore<S>;
  readonly #queues = new Map<string, Queued<S>[]>();

  constructor(store: CombinedStore<S>) {
    this.#store = store;
  }

  /** Applies `change` to the object at `key`; resolves with its value (undefined if absent). */
  modify<T>(key: string, change: Change<S, T>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      const queued: Queued<S> = { change, resolve: resolve as (v: unknown) => void, reject };
      const queue = this.#queues.get(key);
      if (queue !== undefined) {
        queue.push(queued);
        return;
      }
      this.#queues.set(key, [queued]);
      void this.#drain(key);
    });
  }

  async #drain(key: string): Promise<void> {
    for (;;) {
      const batch = this.#queues.get(key) ?? [];
      if (batch.length === 0) {
        this.#queues.delete(key);
        return;
      }
      // Later arrivals queue for the next write while this one is in flight.
      this.#queues.set(key, []);
      try {
        const values = await this.#store.retry(`updating ${key}`, async () => {
          const current = await this.#store.read(key);
          if (current === undefined) return batch.map(() => undefined);
          let state = current.state;
          let changed = false;
          // A change that throws fails alone; the others in the batch still apply.
          const out: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
          for (const item of batch) {
            try {
              const r = item.change(state);
              if (r.state !== undefined) {
                state = r.state;
                changed = true;
              }
              out.push({ ok: true, value: r.value });
            } catch (err) {
              out.push({ ok: false, err });
            }
          }
          if (changed) await current.write(state);
          return out;
        });
        batch.forEach((item, i) => {
          const r = values[i];
          if (r === undefined) item.resolve(undefined);
          else if (r.ok) item.resolve(r.value);
          else item.reject(r.err);
        });
      } catch (err) {
        for (const item of batch) item.reject(err);
      }
    }
  }
}
