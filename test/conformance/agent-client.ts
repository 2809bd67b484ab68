// The test side of a pod agent's control socket: one connection per request.
import { connect } from 'node:net';
import type { AgentReply, AgentRequest, ProbeTarget } from './agent-protocol.js';

export class AgentError extends Error {
  override readonly name = 'AgentError';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class AgentClient {
  constructor(readonly controlPath: string) {}

  request(req: AgentRequest): Promise<AgentReply> {
    return new Promise((resolve, reject) => {
      const conn = connect(this.controlPath);
      let buffered = '';
      conn.setEncoding('utf8');
      conn.on('error', (err) => reject(new AgentError(`${this.controlPath}: ${err.message}`)));
      conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
      conn.on('data', (chunk: string) => {
        buffered += chunk;
        const nl = buffered.indexOf('\n');
        if (nl < 0) return;
        conn.destroy();
        const reply = JSON.parse(buffered.slice(0, nl)) as AgentReply;
        if (reply.kind === 'error') reject(new AgentError(reply.message));
        else resolve(reply);
      });
    });
  }

  /** Whether a fresh connection to each target succeeded, in target order. */
  async probe(targets: ProbeTarget[], timeoutMs: number): Promise<boolean[]> {
    if (targets.length === 0) return [];
    const reply = await this.request({ kind: 'probe', targets, timeoutMs });
    if (reply.kind !== 'probe') throw new AgentError(`unexpected reply ${reply.kind}`);
    return reply.connected;
  }

  async storm(
    target: ProbeTarget,
    opts: { durationMs: number; intervalMs: number; timeoutMs: number },
  ): Promise<{ sent: number; connected: number }> {
    const reply = await this.request({ kind: 'storm', target, ...opts });
    if (reply.kind !== 'storm') throw new AgentError(`unexpected reply ${reply.kind}`);
    return { sent: reply.sent, connected: reply.connected };
  }

  /** Resolves once the agent accepts requests (it opens the control socket after its servers). */
  async waitReady(deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      try {
        await this.request({ kind: 'probe', targets: [], timeoutMs: 0 });
        return;
      } catch (err) {
        if (Date.now() > end) throw new AgentError(`agent at ${this.controlPath} not ready: ${String(err)}`);
        await sleep(50);
      }
    }
  }
}
