// Transport failures, typed by what the caller can do about them.
import { constants } from 'node:os';

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** A socket call failed; `code` is the errno name (ECONNREFUSED, EADDRINUSE...). */
export class TransportError extends Error {
  override readonly name = 'TransportError';

  constructor(
    readonly code: string,
    readonly syscall: string,
    message: string,
  ) {
    super(`${syscall}: ${code}: ${message}`);
  }

  static fromErrno(errno: number, syscall: string, what: string): TransportError {
    return new TransportError(ERRNO_NAMES.get(errno) ?? `errno ${errno}`, syscall, what);
  }
}

/** A connection attempt outlived its deadline (an MD5 mismatch looks like this: SYNs go unanswered). */
export class ConnectTimeoutError extends TransportError {
  constructor(target: string, ms: number) {
    super('ETIMEDOUT', 'connect', `${target}: no answer within ${ms} ms`);
  }
}

/** Bad arguments (addresses, ports, keys): a caller bug, nothing was opened. */
export class TransportInputError extends Error {
  override readonly name = 'TransportInputError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
