// The control API on a unix socket: `trellis bgp peers|routes|kernel` ask the running speaker.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { socketAccepts } from '../../src/net/unix-socket.js';
import {
  ControlProtocolError,
  type ControlQuery,
  type ControlRequest,
  decodeControlRequest,
  decodeControlResponse,
  encodeControlMessage,
  LineSplitter,
} from './control-protocol.js';
import type { KernelStatus, PeerStatus, RouteStatus } from './status.js';

export interface ControlHandlers {
  peers(): readonly PeerStatus[];
  /** Every route, or the routes whose prefix equals or contains `prefix` (longest match first). */
  routes(prefix?: string): readonly RouteStatus[];
  kernel(): KernelStatus;
}

/** The socket cannot be reached or answered with an error. */
export class ControlClientError extends Error {
  override readonly name = 'ControlClientError';
}

function answer(handlers: ControlHandlers, req: ControlRequest): unknown {
  switch (req.method) {
    case 'peers':
      return handlers.peers();
    case 'routes':
      return handlers.routes(req.prefix);
    case 'kernel':
      return handlers.kernel();
  }
}

function serve(socket: Socket, handlers: ControlHandlers): void {
  const lines = new LineSplitter();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    try {
      for (const line of lines.push(chunk)) {
        let id = 0;
        try {
          const req = decodeControlRequest(line);
          id = req.id;
          socket.write(encodeControlMessage({ id, result: answer(handlers, req) }));
        } catch (err) {
          socket.write(encodeControlMessage({ id, error: err instanceof Error ? err.message : String(err) }));
        }
      }
    } catch (err) {
      socket.destroy(err instanceof Error ? err : undefined);
    }
  });
  socket.on('error', () => socket.destroy());
}

export class ControlServer {
  readonly #server: Server;
  readonly #path: string;

  private constructor(server: Server, path: string) {
    this.#server = server;
    this.#path = path;
  }

  /** Listens on `path` (a stale socket file from a dead speaker is replaced), mode 0600. */
  static async listen(path: string, handlers: ControlHandlers): Promise<ControlServer> {
    if (existsSync(path)) {
      if (await socketAccepts(path))
        throw new ControlClientError(`${path}: another speaker is listening there`);
      unlinkSync(path);
    }
    const server = createServer((socket) => serve(socket, handlers));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    return new ControlServer(server, path);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (existsSync(this.#path)) unlinkSync(this.#path);
  }
}

/** One request to the speaker at `path`; resolves with its result. */
export function controlRequest(path: string, request: ControlQuery, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const lines = new LineSplitter();
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new ControlClientError(`${path}: no answer within ${timeoutMs} ms`)),
    );
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(encodeControlMessage({ id: 1, ...request })));
    socket.on('error', (err) =>
      fail(new ControlClientError(`${path}: ${err.message} (is the speaker running?)`)),
    );
    socket.on('data', (chunk: string) => {
      try {
        const line = lines.push(chunk)[0];
        if (line === undefined) return;
        const res = decodeControlResponse(line);
        socket.end();
        if ('error' in res) reject(new ControlClientError(res.error));
        else resolve(res.result);
      } catch (err) {
        fail(err instanceof ControlProtocolError ? new ControlClientError(err.message) : (err as Error));
      }
    });
  });
}
