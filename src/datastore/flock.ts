// The store-wide cross-process lock: flock(2) on a lock file, through koffi. The blocking
// LOCK_EX runs on a koffi worker thread (`.async`), so waiting for another process never
// blocks this process's event loop; unlocking never blocks, so it is a plain call.
import { closeSync, constants, openSync } from 'node:fs';
import koffi from 'koffi';
import { DatastoreError } from './types.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
/** A failed blocking flock is EINTR in practice (ENOLCK/EBADF are not transient): retry a few times. */
const MAX_ATTEMPTS = 5;

type FlockFn = ((fd: number, operation: number) => number) & {
  async: (fd: number, operation: number, cb: (err: unknown, result: number) => void) => void;
};

let flockFn: FlockFn | undefined;
const flock = (): FlockFn => {
  flockFn ??= koffi.load('libc.so.6').func('int flock(int fd, int operation)') as FlockFn;
  return flockFn;
};

export class FileLock {
  private constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  /** Each FileLock is its own open file description, so two in one process exclude each other too. */
  static open(path: string): FileLock {
    return new FileLock(path, openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o644));
  }

  async acquire(): Promise<void> {
    // Uncontended, the lock is free: take it with a non-blocking call and skip the worker-thread
    // round trip (about half a millisecond per write). Only a held lock waits on a worker. The
    // yield first keeps a tight write loop from starving this process's watchers, as the
    // worker round trip used to.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (flock()(this.fd, LOCK_EX | LOCK_NB) === 0) return;
    for (let attempt = 1; ; attempt++) {
      const rc = await new Promise<number>((resolve, reject) => {
        flock().async(this.fd, LOCK_EX, (err, result) => (err ? reject(err) : resolve(result)));
      });
      if (rc === 0) return;
      if (attempt === MAX_ATTEMPTS) {
        throw new DatastoreError('Unavailable', `flock(${this.path}) failed ${MAX_ATTEMPTS} times`);
      }
    }
  }

  release(): void {
    if (flock()(this.fd, LOCK_UN) !== 0) {
      throw new DatastoreError('Unavailable', `flock(${this.path}, LOCK_UN) failed: errno ${koffi.errno()}`);
    }
  }

  /** Closing the descriptor also drops the lock, which is what makes a crashed holder harmless. */
  close(): void {
    closeSync(this.fd);
  }
}
