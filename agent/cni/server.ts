// The agent end of the trellis-cni shim: a unix socket that takes one framed request per
// connection, runs it through the protocol layer and the CniHandler, and writes one framed
// reply. Requests run concurrently; the handler does its own locking (the spec lets runtimes
// run different containers in parallel).
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { type Logger, silentLogger } from '../../src/log.js';
import { socketAccepts } from '../../src/net/unix-socket.js';
import { resultIssues } from './config-schema.js';
import { CNI_ERR_DECODING_FAILURE, CNI_ERR_INTERNAL, CNI_ERR_TIMEOUT, CniError } from './errors.js';
import {
  decodeRequestPrefix,
  encodeReply,
  type FrameError,
  type ReplyFrame,
  type RequestFrame,
} from './frame.js';
import {
  DEFAULT_CNI_VERSION,
  formatError,
  formatResult,
  formatVersionReply,
  type ParsedCniRequest,
  parseCniRequest,
  requestedCniVersion,
} from './protocol.js';
import type { CniHandler } from './types.js';

export const DEFAULT_AGENT_SOCKET = '/run/trellis/cni.sock';
/** Below the shim's 120 s reply timeout, so the runtime gets the agent's precise error. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 90_000;

export interface CniServerOptions {
  socketPath?: string;
  handler: CniHandler;
  logger?: Logger;
  requestTimeoutMs?: number;
}

/** Why the server could not take its socket path. */
export class AgentSocketError extends Error {
  override readonly name = 'AgentSocketError';
  constructor(
    readonly socketPath: string,
    readonly reason: 'in-use' | 'not-a-socket',
  ) {
    super(
      reason === 'in-use'
        ? `${socketPath}: another agent is listening on this socket`
        : `${socketPath}: exists and is not a socket; refusing to replace it`,
    );
  }
}

/** What one request came to: the reply plus what to log about it. */
export interface CniOutcome {
  reply: ReplyFrame;
  command?: string;
  containerId?: string;
  ifName?: string;
  error?: CniError;
}

const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');

function errorOutcome(
  error: CniError,
  cniVersion: string,
  env: Readonly<Record<string, string>> = {},
): CniOutcome {
  return {
    ...describe(env),
    error,
    reply: { exitCode: 1, stdout: json(formatError(error, cniVersion)), stderr: Buffer.alloc(0) },
  };
}

/** What to log about a request: the runtime's own words, valid or not. */
function describe(env: Readonly<Record<string, string>>): Omit<CniOutcome, 'reply'> {
  const fields: Omit<CniOutcome, 'reply'> = {};
  if (env['CNI_COMMAND'] !== undefined) fields.command = env['CNI_COMMAND'];
  if (env['CNI_CONTAINERID'] !== undefined) fields.containerId = env['CNI_CONTAINERID'];
  if (env['CNI_IFNAME'] !== undefined) fields.ifName = env['CNI_IFNAME'];
  return fields;
}

function asCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  return new CniError(
    CNI_ERR_INTERNAL,
    'internal error in the trellis agent',
    (e as Error)?.message ?? String(e),
  );
}

/** Runs one decoded request to completion; never throws. */
export async function serveCniRequest(
  frame: RequestFrame,
  handler: CniHandler,
  signal: AbortSignal,
): Promise<CniOutcome> {
  const cniVersion = requestedCniVersion(frame.stdin);
  let request: ParsedCniRequest;
  try {
    request = parseCniRequest(frame.env, frame.stdin);
  } catch (e) {
    return errorOutcome(asCniError(e), cniVersion, frame.env);
  }
  const ok = (stdout: Buffer): CniOutcome => ({
    ...describe(frame.env),
    reply: { exitCode: 0, stdout, stderr: Buffer.alloc(0) },
  });
  try {
    switch (request.command) {
      case 'VERSION':
        return ok(json(formatVersionReply(request.cniVersion)));
      case 'ADD': {
        const result = await handler.add(request, signal);
        const issues = resultIssues(result, 'result');
        if (issues.length > 0) {
          throw new CniError(
            CNI_ERR_INTERNAL,
            'the agent produced an invalid result',
            issues.map((i) => `${i.path}: ${i.message}`).join('; '),
          );
        }
        return ok(json(formatResult(result, request.config.cniVersion)));
      }
      case 'DEL':
        await handler.del(request, signal);
        return ok(Buffer.alloc(0));
      case 'CHECK':
        await handler.check(request, signal);
        return ok(Buffer.alloc(0));
      case 'STATUS':
        await handler.status(request, signal);
        return ok(Buffer.alloc(0));
      case 'GC':
        await handler.gc(request, signal);
        return ok(Buffer.alloc(0));
    }
  } catch (e) {
    return errorOutcome(asCniError(e), cniVersion, frame.env);
  }
}

export class CniServer {
  readonly socketPath: string;
  private readonly handler: CniHandler;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private server: Server | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(opts: CniServerOptions) {
    this.socketPath = opts.socketPath ?? DEFAULT_AGENT_SOCKET;
    this.handler = opts.handler;
    this.log = opts.logger ?? silentLogger;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Listens on the socket (mode 0600). A stale socket is replaced only if nobody answers on it. */
  async start(): Promise<void> {
    // 0700 closes the window between listen() and chmod() when we create the directory.
    await mkdir(dirname(this.socketPath), { recursive: true, mode: 0o700 });
    await this.removeStaleSocket();
    const server = createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error({ err: e }, 'cni socket error'));
    this.server = server;
    await chmod(this.socketPath, 0o600);
    this.log.info({ socket: this.socketPath }, 'cni server listening');
  }

  /** Stops accepting, waits for the requests in flight to reply (bounded by the timeout), removes the socket. */
  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.allSettled([...this.inFlight]);
    await closed;
  }

  private async removeStaleSocket(): Promise<void> {
    let stat: Awaited<ReturnType<typeof lstat>>;
    try {
      stat = await lstat(this.socketPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    if (!stat.isSocket()) throw new AgentSocketError(this.socketPath, 'not-a-socket');
    const listening = await socketAccepts(this.socketPath);
    if (listening) throw new AgentSocketError(this.socketPath, 'in-use');
    await unlink(this.socketPath);
    this.log.info({ socket: this.socketPath }, 'removed stale cni socket');
  }

  private accept(socket: Socket): void {
    let buffered = Buffer.alloc(0);
    let received = false;
    socket.on('error', (e) => this.log.debug({ err: e }, 'cni connection error'));
    // A peer that never completes its frame must not hold a connection forever.
    socket.setTimeout(this.requestTimeoutMs, () => {
      if (!received) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      if (received) return;
      buffered = Buffer.concat([buffered, chunk]);
      let decoded: ReturnType<typeof decodeRequestPrefix>;
      try {
        decoded = decodeRequestPrefix(buffered);
      } catch (e) {
        received = true;
        const error = new CniError(
          CNI_ERR_DECODING_FAILURE,
          'malformed request frame from trellis-cni',
          (e as FrameError).message,
        );
        this.log.warn({ err: e }, 'cni request frame rejected');
        socket.end(encodeReply(errorOutcome(error, DEFAULT_CNI_VERSION).reply));
        return;
      }
      if (decoded === undefined) return;
      received = true;
      socket.setTimeout(0);
      const done = this.run(socket, decoded.frame).finally(() => this.inFlight.delete(done));
      this.inFlight.add(done);
    });
  }

  private async run(socket: Socket, frame: RequestFrame): Promise<void> {
    const startedAt = process.hrtime.bigint();
    const controller = new AbortController();
    // A shim that goes away (runtime timeout, kill) is told to the handler through the signal.
    const onClose = () => controller.abort(new Error('trellis-cni disconnected'));
    socket.once('close', onClose);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<CniOutcome>((resolve) => {
      timer = setTimeout(() => {
        const error = new CniError(
          CNI_ERR_TIMEOUT,
          'the trellis agent timed out',
          `no answer within ${this.requestTimeoutMs} ms`,
        );
        controller.abort(error);
        resolve(errorOutcome(error, requestedCniVersion(frame.stdin), frame.env));
      }, this.requestTimeoutMs);
    });
    const served = serveCniRequest(frame, this.handler, controller.signal);
    const outcome = await Promise.race([served, timedOut]);
    clearTimeout(timer);
    socket.off('close', onClose);
    if (!socket.destroyed) socket.end(encodeReply(outcome.reply));
    const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
    this.logOutcome(outcome, durationMs);
    if (outcome.error?.code === CNI_ERR_TIMEOUT) {
      // The handler is still running; record how it ends so a late failure is not lost, without
      // holding close() hostage to a handler that never returns.
      void served.then((late) => this.logOutcome(late, Number(process.hrtime.bigint() - startedAt) / 1e6));
    }
  }

  private logOutcome(outcome: CniOutcome, durationMs: number): void {
    const fields = {
      command: outcome.command,
      containerId: outcome.containerId,
      ifName: outcome.ifName,
      durationMs,
      code: outcome.error?.code ?? 0,
    };
    if (outcome.error === undefined) this.log.info(fields, 'cni request');
    else
      this.log.warn(
        { ...fields, error: outcome.error.msg, details: outcome.error.details },
        'cni request failed',
      );
  }
}
