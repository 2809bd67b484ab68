// Graceful restart (RFC 4724) as the restarting speaker: after a restart, our previous routes
// stay in the kernel until every peer that will send End-of-RIB has sent it for each of its
// families, or the restart timer fires; then the stale ones are swept.

export class ConvergenceTracker {
  readonly #waiting = new Set<string>();
  readonly #onConverged: () => void;
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  /**
   * `expected`: "peer family" pairs to wait for. `timeoutMs`: the longest wait (a peer that
   * never comes up must not keep stale routes forever).
   */
  constructor(
    expected: readonly { peer: string; family: string }[],
    timeoutMs: number,
    onConverged: () => void,
  ) {
    for (const e of expected) this.#waiting.add(`${e.peer} ${e.family}`);
    this.#onConverged = onConverged;
    if (this.#waiting.size === 0) {
      queueMicrotask(() => this.#finish());
      return;
    }
    this.#timer = setTimeout(() => this.#finish(), timeoutMs);
    this.#timer.unref();
  }

  get converged(): boolean {
    return this.#done;
  }

  /** Peers still awaited, as "peer family". */
  waitingFor(): string[] {
    return [...this.#waiting];
  }

  endOfRib(peer: string, family: string): void {
    this.#waiting.delete(`${peer} ${family}`);
    if (this.#waiting.size === 0) this.#finish();
  }

  /** A peer removed from the configuration is not awaited any more. */
  forget(peer: string): void {
    for (const key of this.#waiting) if (key.startsWith(`${peer} `)) this.#waiting.delete(key);
    if (this.#waiting.size === 0) this.#finish();
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#done = true;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#onConverged();
  }
}
