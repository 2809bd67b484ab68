// Typed errors of the netlink client. Each kind answers a different question for the caller:
// bad bytes from the kernel, a request the kernel refused, a failed syscall, or bad input
// that was rejected before anything was sent.
import { constants } from 'node:os';

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);

/** `17` -> `'EEXIST'`; unknown numbers become `'E<n>'` so the name is never empty. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/** Bytes that are not a well-formed netlink message (truncated, bad length, bad attribute). */
export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';
  /** Byte offset in the buffer being decoded where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** What a failed request was, so an error names the operation and its subject. */
export interface NetlinkRequestInfo {
  /** Message type, e.g. 24 (RTM_NEWROUTE). */
  readonly type: number;
  /** Message type name, e.g. 'RTM_NEWROUTE'. */
  readonly typeName: string;
  readonly flags: number;
  readonly seq: number;
  /** Human summary of the subject, e.g. 'route 10.0.0.0/24 table 254'. */
  readonly what: string;
}

/** The kernel answered a request with NLMSG_ERROR and a non-zero errno. */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  /** Positive errno, e.g. 17. */
  readonly errno: number;
  /** Errno name, e.g. 'EEXIST', 'ENOENT', 'ESRCH', 'ENODEV'. */
  readonly code: string;
  readonly request: NetlinkRequestInfo;
  /** The kernel's extended-ACK message, when it gave one. */
  readonly kernelMessage: string | undefined;
  constructor(errno: number, request: NetlinkRequestInfo, kernelMessage?: string) {
    const code = errnoName(errno);
    const detail = kernelMessage === undefined ? '' : `: ${kernelMessage}`;
    super(`${request.typeName} ${request.what} failed: ${code}${detail}`);
    this.errno = errno;
    this.code = code;
    this.request = request;
    this.kernelMessage = kernelMessage;
  }
}

/** A libc call (socket, setsockopt, sendto, recv, setns...) failed. */
export class NetlinkSyscallError extends Error {
  override readonly name = 'NetlinkSyscallError';
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;
  constructor(syscall: string, errno: number, context?: string) {
    const code = errnoName(errno);
    super(`${syscall}${context === undefined ? '' : ` (${context})`} failed: ${code}`);
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
  }
}

/** Caller input that cannot be encoded (bad CIDR, family mismatch, name too long...). */
export class NetlinkInputError extends RangeError {
  override readonly name = 'NetlinkInputError';
}

/** The kernel's answer broke the protocol (wrong sequence, missing ACK, overrun). */
export class NetlinkProtocolError extends Error {
  override readonly name = 'NetlinkProtocolError';
}
