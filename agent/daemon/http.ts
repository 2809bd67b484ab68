// The agent's HTTP endpoint: /healthz (the process serves requests), /readyz (routes and policy
// are programmed: kubelet should not send pods here before), /metrics (Prometheus).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** Undefined when ready; otherwise why not. */
  check(): string | undefined;
}

export interface AgentHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness: readonly ReadinessCheck[];
}

export class AgentHttpServer {
  readonly #o: AgentHttpOptions;
  #server: Server | undefined;

  constructor(opts: AgentHttpOptions) {
    this.#o = opts;
  }

  async start(): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405).end();
      } else if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const problems = this.#o.readiness
          .map((r) => ({ name: r.name, why: r.check() }))
          .filter((r) => r.why !== undefined);
        const body =
          problems.length === 0 ? 'ready\n' : problems.map((p) => `${p.name}: ${p.why}`).join('\n') + '\n';
        res.writeHead(problems.length === 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(body);
      } else if (path === '/metrics') {
        this.#o.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.#o.registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host, () => resolve());
    });
    const addr = server.address();
    return typeof addr === 'object' && addr !== null
      ? { host: addr.address, port: addr.port }
      : { host: this.#o.host, port: this.#o.port };
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
