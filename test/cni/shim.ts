// Runs the real trellis-cni binary the way a container runtime does: CNI_* variables in the
// environment, the configuration on stdin, the result on stdout and the exit code. Shared by the
// server tests and the latency measurement.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHIM = path.join(REPO_ROOT, 'dist/bin/trellis-cni');

/** Builds dist/bin/trellis-cni (a no-op when it is up to date). */
export function buildShim(): void {
  execFileSync('bash', [path.join(REPO_ROOT, 'scripts/build-cni-shim.sh')], { stdio: 'inherit' });
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPlugin(
  binary: string,
  env: Record<string, string>,
  stdin: string | Buffer,
): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    // The shim may exit (e.g. oversized input) before reading everything.
    child.stdin.on('error', () => {});
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
    child.stdin.end(stdin);
  });
}

/** What a crashed agent leaves behind: a socket file nobody listens on (a listener killed with SIGKILL). */
export async function leaveStaleSocket(socketPath: string): Promise<void> {
  const script = `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.stdout.once('data', () => resolve());
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
