// Measures (never asserts) the shim round trip: trellis-cni ADD and VERSION against a CniServer
// with a trivial handler, next to the reference host-local plugin's VERSION, interleaved in one
// loop so all three see the same machine load. Run: node dist/test/cni/latency.bench.js [calls]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CniServer } from '../../agent/cni/server.js';
import type { CniHandler } from '../../agent/cni/types.js';
import { buildShim, type PluginRun, runPlugin, SHIM } from './shim.js';

const HOST_LOCAL = '/usr/lib/cni/host-local';

const trivialHandler: CniHandler = {
  add: async (req) => ({
    interfaces: [{ name: req.ifName, sandbox: req.netns }],
    ips: [{ address: '10.244.0.2/32', interface: 0 }],
    routes: [],
  }),
  del: async () => {},
  check: async () => {},
  status: async () => {},
  gc: async () => {},
};

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(run: () => Promise<PluginRun>, samples: number[]): Promise<void> {
  const start = process.hrtime.bigint();
  const r = await run();
  samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  if (r.code !== 0) throw new Error(`plugin failed (${r.code}): ${r.stdout}${r.stderr}`);
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 200);
  buildShim();
  const dir = await mkdtemp(path.join(tmpdir(), 'trellis-cni-bench-'));
  const socketPath = path.join(dir, 'cni.sock');
  const server = new CniServer({ socketPath, handler: trivialHandler });
  await server.start();
  const config = JSON.stringify({
    cniVersion: '1.1.0',
    name: 'bench',
    type: 'trellis-cni',
    agentSocket: socketPath,
  });
  const addEnv = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'bench',
    CNI_NETNS: '/run/netns/bench',
    CNI_IFNAME: 'eth0',
  };
  const versionEnv = { CNI_COMMAND: 'VERSION' };
  const samples = {
    'trellis-cni ADD': [] as number[],
    'trellis-cni VERSION': [] as number[],
    'host-local VERSION': [] as number[],
  };
  try {
    for (let i = 0; i < calls; i++) {
      await timed(() => runPlugin(SHIM, addEnv, config), samples['trellis-cni ADD']);
      await timed(() => runPlugin(SHIM, versionEnv, config), samples['trellis-cni VERSION']);
      await timed(
        () => runPlugin(HOST_LOCAL, versionEnv, '{"cniVersion":"1.1.0"}'),
        samples['host-local VERSION'],
      );
    }
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`${calls} calls each, spawned from Node (spawn overhead included in every row)`);
  for (const [name, values] of Object.entries(samples)) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(22)} p50 ${percentile(sorted, 50).toFixed(2)} ms  p95 ${percentile(sorted, 95).toFixed(2)} ms`,
    );
  }
}

await main();
