// The wire format between the trellis-cni shim and the agent (docs/cni.md, "Frame format").
// All integers are unsigned 32-bit big-endian. One request and one reply per connection.
//   request = "TCNI" version(=1) envCount (len "KEY=VALUE")* stdinLen stdin
//   reply   = exitCode stdoutLen stdout stderrLen stderr
// The shim (agent/cni/shim/trellis-cni.c) enforces the same limits before sending.

export const FRAME_MAGIC = Buffer.from('TCNI', 'latin1');
export const FRAME_VERSION = 1;
/** Cap on stdin, on stdout, on stderr, and on the environment entries together. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
export const MAX_ENV_COUNT = 4096;

export interface RequestFrame {
  /** CNI_* variables as the runtime set them. */
  env: Record<string, string>;
  stdin: Buffer;
}

export interface ReplyFrame {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** Reads big-endian u32s and byte strings, reporting running out of input as `undefined`. */
class Cursor {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  u32(): number | undefined {
    if (this.buf.length - this.offset < 4) return undefined;
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(length: number): Buffer | undefined {
    if (this.buf.length - this.offset < length) return undefined;
    const v = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return v;
  }
}

function checkLength(what: string, length: number, limit: number): void {
  if (length > limit) throw new FrameError(`${what} is ${length} bytes, more than the limit of ${limit}`);
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};

export function encodeRequest(frame: RequestFrame): Buffer {
  const entries = Object.entries(frame.env).map(([k, v]) => {
    if (k === '' || k.includes('='))
      throw new FrameError(`environment variable name ${JSON.stringify(k)} is invalid`);
    return Buffer.from(`${k}=${v}`, 'utf8');
  });
  if (entries.length > MAX_ENV_COUNT)
    throw new FrameError(`${entries.length} environment entries, limit ${MAX_ENV_COUNT}`);
  checkLength(
    'environment',
    entries.reduce((n, e) => n + e.length, 0),
    MAX_PAYLOAD_BYTES,
  );
  checkLength('stdin', frame.stdin.length, MAX_PAYLOAD_BYTES);
  const parts = [FRAME_MAGIC, u32(FRAME_VERSION), u32(entries.length)];
  for (const e of entries) parts.push(u32(e.length), e);
  parts.push(u32(frame.stdin.length), frame.stdin);
  return Buffer.concat(parts);
}

/**
 * Decodes a request from the start of `buf`: the frame and how many bytes it used, or undefined
 * when `buf` ends before the frame does. Throws FrameError as soon as the bytes seen so far are
 * invalid, so a reader never buffers more than one oversized field's length prefix.
 */
export function decodeRequestPrefix(buf: Buffer): { frame: RequestFrame; length: number } | undefined {
  const c = new Cursor(buf);
  const magic = c.bytes(FRAME_MAGIC.length);
  if (magic === undefined) {
    if (!FRAME_MAGIC.subarray(0, buf.length).equals(buf)) throw new FrameError('bad magic: not a TCNI frame');
    return undefined;
  }
  if (!magic.equals(FRAME_MAGIC)) throw new FrameError('bad magic: not a TCNI frame');
  const version = c.u32();
  if (version === undefined) return undefined;
  if (version !== FRAME_VERSION)
    throw new FrameError(`unsupported frame version ${version}, expected ${FRAME_VERSION}`);
  const count = c.u32();
  if (count === undefined) return undefined;
  if (count > MAX_ENV_COUNT) throw new FrameError(`${count} environment entries, limit ${MAX_ENV_COUNT}`);
  const env: Record<string, string> = {};
  let envBytes = 0;
  for (let i = 0; i < count; i++) {
    const len = c.u32();
    if (len === undefined) return undefined;
    envBytes += len;
    checkLength('environment', envBytes, MAX_PAYLOAD_BYTES);
    const entry = c.bytes(len);
    if (entry === undefined) return undefined;
    const text = entry.toString('utf8');
    const eq = text.indexOf('=');
    if (eq <= 0) throw new FrameError(`environment entry ${i} is not KEY=VALUE`);
    const key = text.slice(0, eq);
    if (Object.hasOwn(env, key)) throw new FrameError(`environment variable ${key} appears twice`);
    env[key] = text.slice(eq + 1);
  }
  const stdinLength = c.u32();
  if (stdinLength === undefined) return undefined;
  checkLength('stdin', stdinLength, MAX_PAYLOAD_BYTES);
  const stdin = c.bytes(stdinLength);
  if (stdin === undefined) return undefined;
  return { frame: { env, stdin: Buffer.from(stdin) }, length: c.offset };
}

/** Decodes a buffer holding exactly one request frame. */
export function decodeRequest(buf: Buffer): RequestFrame {
  const decoded = decodeRequestPrefix(buf);
  if (decoded === undefined) throw new FrameError('truncated request frame');
  if (decoded.length !== buf.length)
    throw new FrameError(`${buf.length - decoded.length} bytes after the request frame`);
  return decoded.frame;
}

export function encodeReply(frame: ReplyFrame): Buffer {
  checkLength('stdout', frame.stdout.length, MAX_PAYLOAD_BYTES);
  checkLength('stderr', frame.stderr.length, MAX_PAYLOAD_BYTES);
  return Buffer.concat([
    u32(frame.exitCode),
    u32(frame.stdout.length),
    frame.stdout,
    u32(frame.stderr.length),
    frame.stderr,
  ]);
}

/** Decodes a buffer holding exactly one reply frame (what the shim does, for tests and tools). */
export function decodeReply(buf: Buffer): ReplyFrame {
  const c = new Cursor(buf);
  const exitCode = c.u32();
  const stdoutLength = c.u32();
  if (stdoutLength !== undefined) checkLength('stdout', stdoutLength, MAX_PAYLOAD_BYTES);
  const stdout = stdoutLength === undefined ? undefined : c.bytes(stdoutLength);
  const stderrLength = c.u32();
  if (stderrLength !== undefined) checkLength('stderr', stderrLength, MAX_PAYLOAD_BYTES);
  const stderr = stderrLength === undefined ? undefined : c.bytes(stderrLength);
  if (exitCode === undefined || stdout === undefined || stderr === undefined)
    throw new FrameError('truncated reply frame');
  if (c.offset !== buf.length) throw new FrameError(`${buf.length - c.offset} bytes after the reply frame`);
  return { exitCode, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) };
}
