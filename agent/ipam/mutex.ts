// In-process serialisation per key. Correctness never depends on it (every datastore write is
// CAS); it only stops concurrent assigns for one node in one process from wasting CAS rounds.
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prior = this.tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = prior.then(() => mine);
    this.tails.set(key, tail);
    await prior;
    try {
      return await fn();
    } finally {
      done();
      // Drop the entry once nobody queued behind us, so idle keys do not accumulate.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
