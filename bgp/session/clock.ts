// Time as a dependency: the FSM asks for timers through this, so tests drive it with a fake clock.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic enough for uptime. */
  now(): number;
  /** Runs fn once after ms. Real timers are unref'd: a session must not keep the process alive. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** In [0, 1): connect-retry jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  random: Math.random,
};
