// Shared by the datastore tests: per-test store directories that are always removed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '../../src/datastore/types.js';

export class TempDirs {
  private readonly dirs: string[] = [];

  make(): string {
    const dir = mkdtempSync(join(tmpdir(), `trellis-ds-${process.pid}-`));
    this.dirs.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export function pod(name: string, namespace = 'default', spec: unknown = {}): Resource {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec };
}

export function pool(name: string, cidr: string): Resource {
  return { apiVersion: 'trellis.network/v1', kind: 'IPPool', metadata: { name }, spec: { cidr } };
}

/** Resolves once `predicate` holds, polling; rejects with `what` after `ms`. */
export async function until(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
