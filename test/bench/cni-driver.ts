// Runs inside a node's network namespace (started with `ip netns exec`) and invokes CNI plugins
// the way a runtime does: spawn, CNI_* environment, config on stdin. Every plugin is started by
// this same process, so process-start costs are identical for all plugins measured.
// Input (stdin): a DriverJob as JSON. Output (stdout): a DriverResult as JSON.
import { spawn } from 'node:child_process';

export interface DriverCall {
  env: Record<string, string>;
  stdin: string;
}

export interface DriverJob {
  plugin: string;
  calls: DriverCall[];
  /** How many calls run at once: 1 measures latency, more measures throughput. */
  concurrency: number;
}

export interface DriverResult {
  /** Per call, in input order, milliseconds from spawn to exit. */
  latenciesMs: number[];
  /** From the first spawn to the last exit. */
  wallMs: number;
  /** The first failure's output, if any call exited non-zero. */
  failure?: string;
}

function invoke(plugin: string, call: DriverCall): Promise<{ ms: number; failure?: string }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(plugin, [], { env: call.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      resolve(code === 0 ? { ms } : { ms, failure: `exit ${code}: ${Buffer.concat(out).toString().trim()}` });
    });
    child.stdin.end(call.stdin);
  });
}

async function run(job: DriverJob): Promise<DriverResult> {
  const latenciesMs: number[] = new Array(job.calls.length);
  let failure: string | undefined;
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < job.calls.length) {
      const i = next++;
      const r = await invoke(job.plugin, job.calls[i]!);
      latenciesMs[i] = r.ms;
      failure ??= r.failure;
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.calls.length) }, worker));
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  return { latenciesMs, wallMs, ...(failure === undefined ? {} : { failure }) };
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const job = JSON.parse(Buffer.concat(chunks).toString()) as DriverJob;
process.stdout.write(JSON.stringify(await run(job)));
